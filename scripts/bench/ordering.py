#!/usr/bin/env python3
"""Raft vs SmartBFT ordering on the same machine: committed tx/s and commit latency at 1/10/50 in flight.

Each profile is its own native Fabric 3.1.1 network (FABRIC_VERSION=3.1.1): Raft (three orderers of the
Orderer org) in MLEDGER_NETWORK_DIR at MLEDGER_NETWORK_BASE_PORT, BFT (four orderers, one per endorsing
org) in <MLEDGER_NETWORK_DIR>-bft at base+500, the same layout the BFT tests use. The script brings each
network up if needed, runs the phases against it, and (--down) stops it again before the next profile so
only one network loads the machine at a time.

A transaction is the test contract's one-key `put` submitted through our Gateway client (BankA's
loan officer, the peers' Gateway service endorses on two orgs, orders, and the client waits for the commit
status), so the figures include endorsement and validation, not ordering alone. Latency is submit to
commit status; tx/s is committed transactions over the phase's wall time. The machine's load (uptime)
is printed before and after: the machine is shared.

Usage: FABRIC_VERSION=3.1.1 MLEDGER_NETWORK_BASE_PORT=... MLEDGER_NETWORK_DIR=... \\
         .venv/bin/python scripts/bench/ordering.py [--profiles raft,bft] [--count 60] [--in-flight 1,10,50]
         [--down]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.ledger.fabric import FabricLedger  # noqa: E402
from app.ledger.port import Caller  # noqa: E402
from network import connection_profile, topology  # noqa: E402
from network.manager import Network  # noqa: E402
from network.settings import Settings  # noqa: E402

CC = "runtimetest"
BFT_PORT_OFFSET = 500  # as tests/integration/bft


def settings_for(profile: str) -> Settings:
    s = Settings.from_env()
    if profile == topology.BFT:
        data = Path(os.environ.get("MLEDGER_BFT_NETWORK_DIR") or f"{s.data_dir}-bft")
        return replace(s, data_dir=data, base_port=s.base_port + BFT_PORT_OFFSET, ordering=topology.BFT)
    return replace(s, ordering=topology.RAFT)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def phase(ledger: FabricLedger, count: int, in_flight: int, tag: str) -> tuple[float, list[float], int]:
    caller = Caller("loan1", "BankAMSP")
    latencies: list[float] = []
    failures = 0
    sem = asyncio.Semaphore(in_flight)

    async def one(n: int) -> None:
        nonlocal failures
        async with sem:
            t0 = time.perf_counter()
            try:
                await ledger.submit(caller, "put", [f"{tag}-{n}", "v"])
            except Exception as exc:  # a failed commit is counted, not timed
                failures += 1
                print(f"  submit failed: {exc}", file=sys.stderr)
                return
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return time.perf_counter() - t0, latencies, failures


async def run_profile(net: Network, count: int, levels: list[int]) -> list[str]:
    profile = connection_profile.profile_path(net.settings, "banka")
    ledger = FabricLedger.from_profile(profile, chaincode=CC)
    rows = []
    try:
        await phase(ledger, 5, 5, f"warm-{uuid.uuid4().hex[:6]}")  # connections, chaincode streams
        for level in levels:
            n = max(count, level * 2)
            wall, lat, failed = await phase(ledger, n, level, f"b{level}-{uuid.uuid4().hex[:6]}")
            ok = len(lat)
            rows.append(
                f"| {net.settings.ordering} | {level} | {ok}/{n} | {ok / wall:.1f} | "
                f"{statistics.median(lat) * 1000:.0f} | {pct(lat, 95) * 1000:.0f} |"
                + (f" {failed} failed" if failed else "")
            )
            print(rows[-1], flush=True)
    finally:
        await ledger.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profiles", default="raft,bft")
    ap.add_argument("--count", type=int, default=60, help="transactions per phase (at least 2x in flight)")
    ap.add_argument("--in-flight", default="1,10,50")
    ap.add_argument("--down", action="store_true", help="stop each network after its phases")
    args = ap.parse_args()
    levels = [int(x) for x in args.in_flight.split(",")]
    print(f"load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(
        f"cores: {os.cpu_count()}; Fabric {Settings.from_env().fabric_version}; BatchTimeout / "
        "RequestBatchMaxInterval " + Settings.from_env().batch_timeout
    )
    table = ["| ordering | in flight | committed | tx/s | p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
    for profile in args.profiles.split(","):
        net = Network(settings_for(profile))
        t0 = time.monotonic()
        net.up(chaincodes=True)
        print(
            f"{profile}: network ready in {time.monotonic() - t0:.1f} s ({net.settings.data_dir})", flush=True
        )
        try:
            table += asyncio.run(run_profile(net, args.count, levels))
        finally:
            if args.down:
                net.down()
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print("\n".join(table))


if __name__ == "__main__":
    main()
