#!/usr/bin/env python3
"""Chaincode runtime throughput: per-call shim overhead (fake peer) and tx/s through a real peer.

Part 1 starts the chaincode server (TestContract) as a separate process and drives it with the fake
peer (real protocol, real gRPC, loopback):
  - round-trip cost of one get_state through the shim: (tx with N get_state - tx with 0) / N;
  - transactions/s on ONE stream with 1 / 16 / 64 in flight (trivial Get).
Part 2 (when the native network runs: `python -m network up`) submits Put and evaluates Get on the
`runtimetest` chaincode through the Python Gateway client with 1 / 10 / 50 concurrent clients.

Usage: .venv/bin/python scripts/bench/shim_throughput.py [--calls 1000] [--txs 1000] [--skip-network]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chaincode.runtime.fakepeer import FakePeer  # noqa: E402
from chaincode.runtime.inprocess import InProcessHost  # noqa: E402
from chaincode.runtime.testing import MemoryLedger, collections_from_config, make_identity  # noqa: E402
from chaincode.testcc.contract import TestContract  # noqa: E402

PACKAGE_ID = "bench:" + "0" * 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def fake_peer_part(calls: int, txs: int) -> None:
    port = free_port()
    env = {**os.environ, "CHAINCODE_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            f"127.0.0.1:{port}",
            "--contract",
            "chaincode.testcc.contract:TestContract",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        collections = collections_from_config(
            json.loads((ROOT / "chaincode/testcc/collections_config.json").read_text())
        )
        ledger = MemoryLedger(InProcessHost([TestContract], name="runtimetest"), collections=collections)
        me = make_identity("BankAMSP", "loan1", {"role": "loan_officer"})
        deadline = time.monotonic() + 30
        while True:
            try:
                peer = FakePeer(f"127.0.0.1:{port}", ledger, batch_size=100)
                peer.wait_ready(timeout=2)
                break
            except TimeoutError:
                peer.close()
                if time.monotonic() > deadline:
                    raise
        with peer:
            peer.invoke(me, "Put", "bench", "value")
            for _ in range(3):  # warm up
                peer.invoke(me, "GetMany", "bench", "100")
            zero, many = [], []
            for _ in range(7):
                t = time.perf_counter()
                peer.invoke(me, "GetMany", "bench", "0")
                zero.append(time.perf_counter() - t)
                t = time.perf_counter()
                r = peer.invoke(me, "GetMany", "bench", str(calls))
                many.append(time.perf_counter() - t)
                assert r.response.payload == str(calls).encode(), r.response
            per_call = (statistics.median(many) - statistics.median(zero)) / calls
            print(
                f"fake peer: one get_state round trip through the shim: {per_call * 1e6:.0f} µs "
                f"(median of 7 txs of {calls} calls; empty tx {statistics.median(zero) * 1e3:.2f} ms)"
            )
            for in_flight in (1, 16, 64):
                latencies: list[float] = []
                cpu0 = process_cpu(server.pid)
                started = time.perf_counter()
                sent = 0
                pending: dict = {}
                while sent < txs or pending:
                    while sent < txs and len(pending) < in_flight:
                        pending[peer.submit(me, "Get", "bench")] = time.perf_counter()
                        sent += 1
                    done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
                    for f in done:
                        assert f.result().response.status == 200
                        latencies.append(time.perf_counter() - pending.pop(f))
                wall = time.perf_counter() - started
                cpu_ms = (process_cpu(server.pid) - cpu0) / txs * 1e3
                p50, p95 = percentile(latencies, 50) * 1e3, percentile(latencies, 95) * 1e3
                print(
                    f"fake peer: {in_flight:>3} in flight on one stream: {txs / wall:7.0f} tx/s, "
                    f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, chaincode server CPU {cpu_ms:.2f} ms/tx"
                )
    finally:
        server.terminate()
        server.wait(10)


async def network_part(count: int) -> None:
    import grpc

    from app.fabric_gateway import connect, connect_async, create_async_channel, load_msp_folder
    from network import topology
    from network.ca import org_crypto
    from network.settings import Settings

    settings = Settings.from_env()
    org = topology.org("banka")
    crypto = org_crypto(settings, org)
    address = f"{topology.HOST}:{settings.ports.peer(org)}"
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        identity, signer = load_msp_folder(crypto.user("loan1") / "msp", org.msp_id)
    except OSError as exc:
        print(f"real peer: skipped, no network at {address} ({exc}); start it with `python -m network up`")
        return
    run = uuid.uuid4().hex[:8]
    try:
        with grpc.secure_channel(address, grpc.ssl_channel_credentials(crypto.tls_ca.read_bytes())) as ch:
            gw = connect(identity, signer, ch)
            gw.get_network("vehicles").get_contract("runtimetest").submit_transaction("Put", f"b-{run}", "v")
    except Exception as exc:
        print(f"real peer: skipped, seeding the benchmark key failed: {type(exc).__name__}: {exc}")
        return
    async with create_async_channel(address, tls_root_certificates=crypto.tls_ca) as channel:
        contract = (
            connect_async(identity, signer, channel).get_network("vehicles").get_contract("runtimetest")
        )
        for kind in ("submit Put", "evaluate Get"):
            for clients in (1, 10, 50):
                n = count if kind.startswith("evaluate") else max(count // 2, clients)
                latencies: list[float] = []
                errors: list[str] = []
                queue: asyncio.Queue[int] = asyncio.Queue()
                for i in range(n):
                    queue.put_nowait(i)

                async def client(
                    c: int,
                    kind: str = kind,
                    queue: asyncio.Queue[int] = queue,
                    latencies: list[float] = latencies,
                    errors: list[str] = errors,
                ) -> None:
                    while not queue.empty():
                        i = queue.get_nowait()
                        t = time.perf_counter()
                        try:
                            if kind.startswith("submit"):
                                await contract.submit("Put", f"b-{run}-{c}-{i}", "v")
                            else:
                                await contract.evaluate_transaction("Get", f"b-{run}")
                        except Exception as exc:  # a shared network: report, do not stop the run
                            errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                            continue
                        latencies.append(time.perf_counter() - t)

                started = time.perf_counter()
                await asyncio.gather(*(client(c) for c in range(clients)))
                wall = time.perf_counter() - started
                if not latencies:
                    print(f"real peer: {kind:<12} {clients:>2} clients: all {n} failed, e.g. {errors[:1]}")
                    continue
                p50, p95 = percentile(latencies, 50) * 1e3, percentile(latencies, 95) * 1e3
                failed = f", {len(errors)} failed (e.g. {errors[0]})" if errors else ""
                print(
                    f"real peer: {kind:<12} {clients:>2} clients: {len(latencies) / wall:7.1f} tx/s, "
                    f"p50 {p50:.1f} ms, p95 {p95:.1f} ms{failed}"
                )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1000, help="get_state calls in the per-call measurement")
    p.add_argument("--txs", type=int, default=1000, help="transactions per in-flight level (fake peer)")
    p.add_argument("--count", type=int, default=200, help="transactions per level (real peer)")
    p.add_argument("--skip-network", action="store_true")
    args = p.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    fake_peer_part(args.calls, args.txs)
    if not args.skip_network:
        asyncio.run(network_part(args.count))


if __name__ == "__main__":
    main()
