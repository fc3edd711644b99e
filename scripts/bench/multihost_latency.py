"""Benchmark commit latency across hosts with added link delay (Toxiproxy), e.g. 0 / 50 / 200 ms.

Brings up the network with each org host in its own network namespace (network.multihost; needs root
and scripts/install-binaries toxiproxy), then for each delay adds it to both directions of every
node-to-node link and sends sequential transactions from BankA's host with Fabric's `peer chaincode
invoke --waitForEvent` (endorsed by BankA, on the same host, and Insurer, across a link), timing each
from start to the commit event. Each invoke is a fresh CLI process, so every figure includes new TLS
handshakes to Insurer's peer and the orderer over the delayed links, as a short-lived client would pay.
The network is removed at the end (also on failure) unless --keep.

Usage: sudo .venv/bin/python scripts/bench/multihost_latency.py [--delays 0,50,200] [--txs 5] [--keep]
Env: MLEDGER_NETWORK_BASE_PORT, MLEDGER_NETWORK_DIR (the bench uses <dir>-multihost-bench),
MLEDGER_BIN_DIR, FABRIC_VERSION. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from network.hosts import LOOPBACK_PLAN
from network.multihost import MultiHostNetwork
from network.settings import Settings

CC = "runtimetest"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--delays", default="0,50,200", help="added delay per link direction, ms")
    ap.add_argument("--txs", type=int, default=5, help="sequential transactions per delay")
    ap.add_argument("--keep", action="store_true", help="leave the network up afterwards")
    args = ap.parse_args()
    base = Settings.from_env()
    data = base.data_dir.with_name(base.data_dir.name + "-multihost-bench")
    net = MultiHostNetwork(replace(base, data_dir=data, hosts=LOOPBACK_PLAN))
    print(f"machine: {os.cpu_count()} cpus; load {os.getloadavg()}; Fabric {base.fabric_version}")
    net.down()  # leftovers of a killed run (recorded in its data dir)
    try:
        t0 = time.monotonic()
        net.up()
        print(f"multi-host up: {time.monotonic() - t0:.1f} s ({len(net.layout.host_list)} hosts)")
        net.invoke(CC, ["put", "warmup", "x"], org="BankA", user="loan1", endorsers=["BankA", "Insurer"])
        print(f"{'delay/link':>10} {'txs':>4} {'median s':>9} {'p90 s':>7} {'min s':>7} {'max s':>7}")
        for delay in (int(d) for d in args.delays.split(",")):
            net.add_latency(delay)
            times: list[float] = []
            for _ in range(args.txs):
                t = time.monotonic()
                res = net.invoke(
                    CC,
                    ["put", f"bench-{uuid.uuid4().hex[:8]}", "x"],
                    org="BankA",
                    user="loan1",
                    endorsers=["BankA", "Insurer"],
                )
                if not res.ok:
                    print(f"  delay {delay} ms: transaction failed: {res.status} {res.output[-300:]}")
                    continue
                times.append(time.monotonic() - t)
            if times:
                med, p90 = statistics.median(times), _pct(times, 0.9)
                lo, hi = min(times), max(times)
                print(f"{delay:>7} ms {len(times):>4} {med:>9.3f} {p90:>7.3f} {lo:>7.3f} {hi:>7.3f}")
        net.add_latency(0)
        print(f"load after: {os.getloadavg()}")
    finally:
        if not args.keep:
            net.down()


if __name__ == "__main__":
    main()
