#!/usr/bin/env python3
"""Gateway client throughput: submit and evaluate with 1, 10 and 50 in flight against the local network.

Prints, for each level: transactions/s, p50/p95/p99 latency and client CPU time per transaction
(process CPU: Python + grpc threads). Also measures the pure client-side cost of one submit
(build, sign proposal, parse + sign envelope, sign commit request) with no network, which is the
figure behind the "< 1 ms CPU per submitted tx" target.

Usage: .venv/bin/python scripts/bench/gateway_client_throughput.py [--org banka --user loan1
       --chaincode runtimetest --count 200 --levels 1,10,50]   (network up: `python -m network up`)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import grpc

from app.fabric_gateway import (
    AsyncContract,
    connect,
    connect_async,
    create_async_channel,
    load_msp_folder,
)
from app.fabric_gateway.proposal_builder import build_proposed_transaction


def network_endpoint(org_key: str, user: str) -> tuple[str, Path, Path, str]:
    """Peer address, TLS CA, user MSP folder and MSP id of the native network (network package)."""
    from network import topology
    from network.ca import org_crypto
    from network.settings import Settings

    settings = Settings.from_env()
    org = topology.org(org_key)
    crypto = org_crypto(settings, org)
    address = f"{topology.HOST}:{settings.ports.peer(org)}"
    return address, crypto.tls_ca, crypto.user(user) / "msp", org.msp_id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_level(contract: AsyncContract, kind: str, count: int, in_flight: int, run_id: str) -> dict:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            if kind == "submit":
                await contract.submit("put", f"bench-{run_id}-{in_flight}-{i}", "v")
            else:
                await contract.evaluate_transaction("get", f"bench-{run_id}-seed")
            latencies.append(time.perf_counter() - started)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "kind": kind,
        "in_flight": in_flight,
        "count": count,
        "tps": count / wall,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "cpu_ms": cpu / count * 1000,
    }


def offline_cpu(msp: Path, msp_id: str, rounds: int) -> float:
    """Client CPU per submit with no I/O: what our code and crypto cost per transaction."""
    identity, signer = load_msp_folder(msp, msp_id)
    from app.fabric_gateway.hashing import sha256
    from app.fabric_gateway.signing_identity import SigningIdentity

    sid = SigningIdentity(identity, signer, sha256)
    started = time.process_time()
    for i in range(rounds):
        proposed = build_proposed_transaction(
            creator=sid.creator,
            channel_name="vehicles",
            chaincode_name="runtimetest",
            transaction_name="put",
            args=[f"k{i}", "v"],
        )
        proposed.proposal.signature = sid.sign(proposed.proposal.proposal_bytes)
        proposed.SerializeToString()
        sid.sign(proposed.proposal.proposal_bytes)  # stands in for the envelope signature
        sid.sign(proposed.transaction_id.encode())  # and the commit status request signature
    return (time.process_time() - started) / rounds * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--org", default="banka")
    parser.add_argument("--user", default="loan1")
    parser.add_argument("--chaincode", default="runtimetest")
    parser.add_argument("--count", type=int, default=200, help="transactions per level")
    parser.add_argument("--levels", default="1,10,50")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    address, tls_ca, msp, msp_id = network_endpoint(args.org, args.user)
    identity, signer = load_msp_folder(msp, msp_id)
    print(
        f"machine: {os.cpu_count()} CPUs; peer {address} as {args.user}@{msp_id}; chaincode {args.chaincode}"
    )
    print(f"offline client CPU per submit (build + 3 signatures): {offline_cpu(msp, msp_id, 500):.3f} ms")

    run_id = uuid.uuid4().hex[:8]
    with grpc.secure_channel(address, grpc.ssl_channel_credentials(tls_ca.read_bytes())) as channel:
        seed = connect(identity, signer, channel).get_network("vehicles").get_contract(args.chaincode)
        seed.submit_transaction("put", f"bench-{run_id}-seed", "v")

    results = []
    async with create_async_channel(address, tls_root_certificates=tls_ca) as channel:
        contract = (
            connect_async(identity, signer, channel).get_network("vehicles").get_contract(args.chaincode)
        )
        for kind in ("evaluate", "submit"):
            await run_level(contract, kind, min(20, args.count), 5, run_id)  # warm up
            for level in levels:
                results.append(await run_level(contract, kind, max(args.count, level), level, run_id))
                r = results[-1]
                print(
                    f"{r['kind']:8} in-flight {r['in_flight']:3}  n={r['count']:4}  {r['tps']:8.1f} tx/s  "
                    f"p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
                    f"client CPU {r['cpu_ms']:.3f} ms/tx",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
