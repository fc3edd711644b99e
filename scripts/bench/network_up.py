"""Benchmark the native network: `up` time from built binaries to chaincode ready, the cold build time
(read from .cache/bin/install.log), and the resident memory of the whole network at rest.

Usage: .venv/bin/python scripts/bench/network_up.py [--fresh]
  --fresh  stop the network and delete .data/network first (measures a first `up`, including identities)
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from network.manager import Network
from network.process import pid_alive


def cold_build_seconds(log: Path) -> dict[str, int]:
    """Sum the build/resolve step durations per component from install.log (last run of each step)."""
    steps: dict[str, int] = {}
    if not log.exists():
        return {}
    for line in log.read_text().splitlines():
        m = re.search(r"step=(.+?) seconds=(\d+)", line)
        if m:
            steps[m.group(1)] = int(m.group(2))
    out: dict[str, int] = {}
    for step, secs in steps.items():
        comp = step.split(":")[0]
        out[comp] = out.get(comp, 0) + secs
    return out


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    net = Network()
    if args.fresh:
        net.down()
        shutil.rmtree(net.settings.data_dir, ignore_errors=True)
    else:
        net.down()  # keep data (crypto, ledgers): measures a restart to chaincode-ready
    t0 = time.monotonic()
    report = net.up(chaincodes=True, restart_servers=True)
    up_s = time.monotonic() - t0
    time.sleep(5)
    procs = [p for p in net.procs.load().values() if pid_alive(p.pid, p.argv[0])]
    by_kind: dict[str, float] = {}
    for p in procs:
        kind = p.name.split(".")[0].rstrip("0123456789")
        by_kind[kind] = by_kind.get(kind, 0.0) + rss_mib([p.pid])
    print(f"machine: {os.cpu_count()} cores")
    print(f"network up ({'fresh' if args.fresh else 'restart'}) to chaincode ready: {up_s:.1f} s")
    print(f"chaincodes: {report.chaincodes}")
    builds = cold_build_seconds(net.settings.bin_dir / "install.log")
    for comp, secs in builds.items():
        print(f"cold build {comp}: {secs} s")
    print(f"resident memory at rest: {rss_mib([p.pid for p in procs]):.0f} MiB over {len(procs)} processes")
    for kind, mib in sorted(by_kind.items()):
        print(f"  {kind}: {mib:.0f} MiB")


if __name__ == "__main__":
    main()
