#!/usr/bin/env python3
"""Benchmark the embedded ledger: committed writes/s and read latency (p50/p95), printed.

    .venv/bin/python scripts/bench/ledger_embedded.py [--writes 2000] [--reads 2000]

Writes go through the whole path (proposal signed by the caller's key, simulation on the in-process
host, 2 real ECDSA endorsements, block cut, MVCC and policy validation, one durable SQLite commit per
block). Measured for the runtime's TestContract (Put of distinct keys) at several concurrencies, and
for the Mortgage contract (RegisterVehicle, with private owner data). Reads are evaluate calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.ledger.embedded.ledger import MORTGAGE_POLICY, ChaincodeSpec, EmbeddedLedger, mortgage_chaincode  # noqa: E402
from app.ledger.port import Caller  # noqa: E402
from chaincode.mortgage.vin import with_check_digit  # noqa: E402

OFFICER = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def writes(
    ledger: EmbeddedLedger, fn: str, args_for, total: int, concurrency: int, transient=None
) -> None:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await ledger.submit(OFFICER, fn, args_for(i), transient)
            latencies.append(time.perf_counter() - started)

    height = ledger.height()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    blocks = ledger.height() - height
    print(
        f"  {fn:<16} concurrency {concurrency:>3}: {total / elapsed:8.1f} committed tx/s   "
        f"latency p50 {pct(latencies, 0.5):6.1f} ms  p95 {pct(latencies, 0.95):6.1f} ms   "
        f"({total} tx in {blocks} blocks)"
    )


async def reads(ledger: EmbeddedLedger, fn: str, args_for, total: int) -> None:
    latencies: list[float] = []
    for i in range(total):
        started = time.perf_counter()
        await ledger.evaluate(OFFICER, fn, args_for(i))
        latencies.append(time.perf_counter() - started)
    print(
        f"  {fn:<16} sequential     : p50 {pct(latencies, 0.5):6.2f} ms  p95 {pct(latencies, 0.95):6.2f} ms  "
        f"mean {statistics.mean(latencies) * 1000:6.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=2000)
    opts = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        testcc = ChaincodeSpec(
            "runtimetest",
            ["chaincode.testcc.contract:TestContract"],
            MORTGAGE_POLICY,
            ROOT / "chaincode" / "testcc" / "collections_config.json",
        )
        ledger = EmbeddedLedger(Path(tmp) / "testcc", chaincodes=[testcc])
        print("TestContract (Put/Get, 1 key per tx):")
        for concurrency in (1, 16, 64):
            await writes(
                ledger, "Put", lambda i, c=concurrency: [f"k{c}-{i}", "v" * 64], opts.writes, concurrency
            )
        await reads(ledger, "Get", lambda i: [f"k16-{i % opts.writes}"], opts.reads)
        await ledger.close()

        ledger = EmbeddedLedger(Path(tmp) / "mortgage", chaincodes=[mortgage_chaincode()])
        owner = {
            "owner": json.dumps({"name": "Bench Owner", "id_number": "ID-BENCH"}).encode(),
            "owner_salt": b"0123456789abcdef",
        }

        def vehicle(i: int) -> list[str]:
            vin = with_check_digit(f"LSVBENCH0{i:08d}")
            return [
                json.dumps(
                    {
                        "vin": vin,
                        "plate": f"B{i:07d}",
                        "make": "BYD",
                        "model": "Han",
                        "trim": "EV",
                        "year": 2024,
                        "configuration": {},
                        "registration_date": "2025-01-01",
                    }
                )
            ]

        print("Mortgage contract (RegisterVehicle with private owner data; GetVehicle):")
        count = max(1, opts.writes // 2)
        await writes(ledger, "RegisterVehicle", vehicle, count, 16, owner)
        await reads(
            ledger,
            "GetVehicle",
            lambda i: [json.loads(vehicle(i % count)[0])["vin"]],
            opts.reads,
        )
        await ledger.close()


if __name__ == "__main__":
    asyncio.run(main())
