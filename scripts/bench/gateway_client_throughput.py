#!/usr/bin/env python3
"""Gateway client throughput: submit and evaluate with 1, 10 and 50 in flight against the local network.

Prints, for each level: transactions/s, p50/p95/p99 latency and client CPU time per transaction
(whole process: Python + grpc threads), split into the asyncio thread and grpc's own threads.
Submit runs twice: with the shared commit listener (default: commit status from one filtered-block
stream, two calls per submit) and with a CommitStatus call per transaction (the official clients'
flow, three calls). Also printed, to read the figures against:
- the library's own CPU per submit with no I/O (build and sign the proposal, parse and sign the
  prepared transaction);
- grpcio's own CPU per call on this machine: a call the peer refuses at once (empty
  EvaluateRequest), no Fabric work, no signing — the floor under every Gateway call.

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
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc

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


def thread_cpu() -> tuple[float, float]:
    """CPU seconds so far of this process's asyncio (main) thread and of all its other threads."""
    main, other = 0.0, 0.0
    main_tid = str(os.getpid())
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                seconds = int(f.read().split()[0]) / 1e9
        except FileNotFoundError:  # the thread ended
            continue
        if tid == main_tid:
            main += seconds
        else:
            other += seconds
    return main, other


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

    cpu0, wall0, (main0, other0) = time.process_time(), time.perf_counter(), thread_cpu()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    main1, other1 = thread_cpu()
    return {
        "kind": kind,
        "in_flight": in_flight,
        "count": count,
        "tps": len(latencies) / wall,
        "p50": percentile(latencies, 50) * 1000 if latencies else float("nan"),
        "p95": percentile(latencies, 95) * 1000 if latencies else float("nan"),
        "p99": percentile(latencies, 99) * 1000 if latencies else float("nan"),
        "cpu_ms": cpu / count * 1000,
        "main_ms": (main1 - main0) / count * 1000,
        "grpc_ms": (other1 - other0) / count * 1000,
        "failures": failures,
    }


async def grpc_floor(channel: grpc.aio.Channel, in_flight: int, count: int) -> float:
    """grpcio's CPU per call: Evaluate with an empty request, which the peer refuses at once."""
    stub = gateway_pb2_grpc.GatewayStub(channel)
    request = gateway_pb2.EvaluateRequest()
    remaining = [100]  # warm up

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                await stub.Evaluate(request, timeout=5)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    cpu0 = time.process_time()
    remaining[0] = count
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return (time.process_time() - cpu0) / count * 1000


def library_cpu(gateway: Gateway, chaincode: str, rounds: int, sign_commit_request: bool) -> float:
    """Client CPU per submit spent in this library, no I/O: build and sign the proposal, serialize the
    endorse request, parse a real prepared transaction from the network, sign it, and (CommitStatus
    call flow only) sign the commit status request. grpc's own work is what the process figures add."""
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
        request = transaction._commit_request()
        if sign_commit_request:
            gateway._session.signing_identity.sign(request.request)
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
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (the network shares them); "
        f"peer {address} as {args.user}@{msp_id}; chaincode {args.chaincode}"
    )

    run_id = uuid.uuid4().hex[:8]
    with grpc.secure_channel(address, grpc.ssl_channel_credentials(tls_ca.read_bytes())) as channel:
        gateway = connect(identity, signer, channel, deadlines=Deadlines(submit=30))
        seed = gateway.get_network("vehicles").get_contract(args.chaincode)
        seed.submit_transaction("put", f"bench-{run_id}-seed", "v")
        listener_cpu = library_cpu(gateway, args.chaincode, 500, sign_commit_request=False)
        call_cpu = library_cpu(gateway, args.chaincode, 500, sign_commit_request=True)
        gateway.close()
        print(
            f"library CPU per submit, no I/O: {listener_cpu:.3f} ms with the commit listener "
            f"(2 signatures), {call_cpu:.3f} ms with CommitStatus calls (3 signatures)"
        )

    async with create_async_channel(address, tls_root_certificates=tls_ca) as channel:
        floors = [f"{level} in flight {await grpc_floor(channel, level, 2000):.3f}" for level in levels]
        print("grpcio CPU per call (refused at once, no Fabric work): " + ", ".join(floors) + " ms")
        modes = (
            ("evaluate", "evaluate", True),
            ("submit", "submit", True),
            ("submit", "submit/call", False),
        )
        for kind, label, listener in modes:
            agateway = connect_async(identity, signer, channel, commit_listener=listener)
            contract = agateway.get_network("vehicles").get_contract(args.chaincode)
            await run_level(contract, kind, min(20, args.count), 5, run_id)  # warm up
            for level in levels:
                r = await run_level(contract, kind, max(args.count, level), level, run_id)
                print(
                    f"{label:11} in-flight {r['in_flight']:3}  n={r['count']:4}  {r['tps']:7.1f} tx/s  "
                    f"p50 {r['p50']:6.1f}  p95 {r['p95']:6.1f}  p99 {r['p99']:6.1f} ms  "
                    f"client CPU {r['cpu_ms']:.3f} ms/tx (asyncio thread {r['main_ms']:.3f}, "
                    f"grpc threads {r['grpc_ms']:.3f})" + failed(r["failures"]),
                    flush=True,
                )
            await agateway.close()
    print("submit = shared commit listener (default); submit/call = a CommitStatus call per transaction")


if __name__ == "__main__":
    asyncio.run(main())
