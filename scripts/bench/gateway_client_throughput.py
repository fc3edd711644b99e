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
    CommitError,
    Deadlines,
    Gateway,
    GatewayError,
    connect,
    connect_async,
    create_async_channel,
    load_msp_folder,
)


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


def failed(failures: list[str]) -> str:
    return f"  FAILED {len(failures)}: {sorted(set(failures))}" if failures else ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_level(contract: AsyncContract, kind: str, count: int, in_flight: int, run_id: str) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
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
            try:
                if kind == "submit":
                    await contract.submit("put", f"bench-{run_id}-{in_flight}-{i}", "v")
                else:
                    await contract.evaluate_transaction("get", f"bench-{run_id}-seed")
            except (GatewayError, CommitError) as exc:
                failures.append(type(exc).__name__ + ":" + getattr(exc, "code_name", "") + str(exc.code))
                continue
            latencies.append(time.perf_counter() - started)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "kind": kind,
        "in_flight": in_flight,
        "count": count,
        "tps": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000 if latencies else float("nan"),
        "p95": percentile(latencies, 95) * 1000 if latencies else float("nan"),
        "p99": percentile(latencies, 99) * 1000 if latencies else float("nan"),
        "cpu_ms": cpu / count * 1000,
        "failures": failures,
    }


def library_cpu(gateway: Gateway, chaincode: str, rounds: int) -> float:
    """Client CPU per submit spent in this library, no I/O: build and sign the proposal, serialize the
    endorse request, parse a real prepared transaction from the network, sign it, build and sign the
    commit status request (grpc's own framing/TLS work is what the process figures add on top)."""
    contract = gateway.get_network("vehicles").get_contract(chaincode)
    real = contract.new_proposal("put", ["bench-library-cpu", "v"]).endorse()
    prepared_bytes = real.bytes()
    started = time.process_time()
    for i in range(rounds):
        proposal = contract.new_proposal("put", [f"k{i}", "v"])
        proposal._endorse_request().SerializeToString()
        transaction = gateway.new_signed_transaction(prepared_bytes, b"placeholder")
        transaction._prepared.envelope.signature = b""
        transaction._submit_request().SerializeToString()
        transaction._commit_request()
        gateway._signing_identity.sign(transaction._commit_request().request)
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

    run_id = uuid.uuid4().hex[:8]
    with grpc.secure_channel(address, grpc.ssl_channel_credentials(tls_ca.read_bytes())) as channel:
        gateway = connect(identity, signer, channel, deadlines=Deadlines(submit=30))
        seed = gateway.get_network("vehicles").get_contract(args.chaincode)
        seed.submit_transaction("put", f"bench-{run_id}-seed", "v")
        cpu = library_cpu(gateway, args.chaincode, 500)
        print(f"library CPU per submit (build, 3 signatures, parse; no I/O): {cpu:.3f} ms")

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
                    f"client CPU {r['cpu_ms']:.3f} ms/tx" + failed(r["failures"]),
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
