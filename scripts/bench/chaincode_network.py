#!/usr/bin/env python3
"""What a transaction costs on the real network, per process, next to a one-key put — and Go beside Python.

Part 1 (messages, no network): the mortgage contract's main transactions — register, value, anchor a
document, request a lien, record it, transfer title, read a vehicle, the public passport — and a one-key
put of the test contract run through the fake peer, once as a Fabric 2.5 peer (plain messages) and once as
a 3.1 peer offering write batches and multi-key reads; it prints the messages each exchanges with the peer.

Part 2 (the running native network, ``python -m network up``): the same transactions through the Gateway
client, N of each at C in flight; for each it prints tx/s, p50/p99 and the CPU per transaction of every
process of the network (/proc utime+stime over the phase: the five peers, the orderers, the mortgage and
test chaincode servers, this client), next to a one-key put in the same run.

Part 3 (``--go``): the test contract's Put/Get on the Go chaincode (fabric-chaincode-go/v2 v2.3.0, CCaaS),
deployed beside the Python one as chaincode ``benchgo`` with the same policy, and on a Python server
``benchpy`` started by this script with 1 then ``--workers`` processes (every peer holds one stream to it):
evaluate Get and submit Put at 50 in flight, interleaved, with the CPU of each chaincode process.

Usage: MLEDGER_NETWORK_BASE_PORT=... MLEDGER_NETWORK_DIR=... \
         .venv/bin/python scripts/bench/chaincode_network.py [--count 100] [--in-flight 50]
         [--skip-network] [--go] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from fabric_protos.peer import chaincode_pb2  # noqa: E402

from chaincode.mortgage.contract import MortgageContract  # noqa: E402
from chaincode.mortgage.vin import with_check_digit  # noqa: E402
from chaincode.runtime.fakepeer import FakePeer  # noqa: E402
from chaincode.runtime.inprocess import InProcessHost  # noqa: E402
from chaincode.runtime.server import ChaincodeServer  # noqa: E402
from chaincode.runtime.testing import MemoryLedger, collections_from_config, make_identity  # noqa: E402
from chaincode.testcc.contract import TestContract  # noqa: E402

CHANNEL = "vehicles"
BATCHING = chaincode_pb2.ChaincodeAdditionalParams(
    use_write_batch=True,
    max_size_write_batch=1000,
    use_get_multiple_keys=True,
    max_size_get_multiple_keys=1000,
)
MAIN = ("register", "value", "anchor", "request_lien", "record_lien", "transfer", "read", "passport")


# --- the mortgage transactions, as (caller, function, args, transient) ---------------------------------
def owner(label: str) -> tuple[dict[str, bytes], str]:
    id_number = f"ID-{label}".upper()
    salt = hashlib.sha256(label.encode()).digest()[:16]
    transient = {
        "owner": json.dumps({"name": f"Owner {label}", "id_number": id_number}).encode(),
        "owner_salt": salt,
    }
    return transient, hashlib.sha256(salt + id_number.encode()).hexdigest()


class Script:
    """Arguments of each main transaction for vehicle ``i`` of run ``run`` (callers: ta, bank)."""

    def __init__(self, run: str) -> None:
        self.run = run.upper()

    def vin(self, i: int) -> str:
        return with_check_digit(f"LSV{self.run[:6]}{i:08d}"[:17])

    def step(self, kind: str, i: int) -> tuple[str, str, list[str], dict[str, bytes] | None]:
        v = self.vin(i)
        if kind == "register":
            vehicle = {
                "vin": v,
                "plate": f"B{self.run[:4]}{i:05d}",
                "make": "BYD",
                "model": "Han",
                "trim": "EV",
                "year": 2025,
                "configuration": {"battery_kwh": 85},
                "registration_date": "2025-06-01",
            }
            return "ta", "RegisterVehicle", [json.dumps(vehicle)], owner(f"{self.run}-{i}")[0]
        if kind == "value":
            val = {
                "valuation_id": f"V-{self.run}-{i}",
                "vin": v,
                "value": "200000",
                "currency": "CNY",
                "interval_low": "180000",
                "interval_high": "220000",
                "coverage": "0.9",
                "model_id": "bench",
                "model_version": "1",
                "inputs_hash": "ab" * 32,
                "valuer": "bench",
            }
            return "bank", "RecordValuation", [json.dumps(val)], None
        if kind == "anchor":
            body = f"consent-{self.run}-{i}".encode()
            doc = {
                "document_id": f"D-{self.run}-{i}",
                "doc_type": "owner_consent",
                "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "encryption_key_ref": f"kms://bench/{i}",
                "vin": v,
            }
            return "bank", "AnchorDocument", [json.dumps(doc)], None
        if kind == "request_lien":
            req = {
                "lien_id": f"L-{self.run}-{i}",
                "vin": v,
                "loan_number": f"LN-{i}",
                "mortgage_contract_number": f"MC-{i}",
                "secured_amount": "50000",
                "currency": "CNY",
                "maturity_date": "2030-01-01",
                "consent_document_id": f"D-{self.run}-{i}",
            }
            return "bank", "RequestLien", [json.dumps(req)], None
        if kind == "record_lien":
            return "ta", "RecordLien", [f"L-{self.run}-{i}"], None
        if kind == "transfer":  # a second vehicle set (offset) with no lien: no consent needed
            transient, digest = owner(f"{self.run}-{i}-new")
            return (
                "ta",
                "TransferTitle",
                [v, json.dumps({"new_owner_hash": digest, "reason": "sale"})],
                transient,
            )
        if kind == "read":
            return "ta", "GetVehicle", [v], None
        if kind == "passport":
            return "bank", "GetVehicleStatus", [v], None
        raise ValueError(kind)


def plan(n: int) -> list[tuple[str, range]]:
    """Phases in order; transfers use vehicles n..2n-1 (registered with the others, never liened)."""
    return [
        ("register", range(2 * n)),
        ("value", range(n)),
        ("anchor", range(n)),
        ("request_lien", range(n)),
        ("record_lien", range(n)),
        ("transfer", range(n, 2 * n)),
        ("read", range(n)),
        ("passport", range(n)),
    ]


# --- part 1: messages per transaction ------------------------------------------------------------------
def messages_part() -> None:
    mcoll = collections_from_config(
        json.loads((ROOT / "chaincode/mortgage/collections_config.json").read_text())
    )
    tcoll = collections_from_config(
        json.loads((ROOT / "chaincode/testcc/collections_config.json").read_text())
    )
    who = {
        "ta": make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"}),
        "bank": make_identity("BankAMSP", "loan1", {"role": "loan_officer"}),
    }
    mortgage = ChaincodeServer("mortgage_ccaas:" + "0" * 64, "127.0.0.1:0", [MortgageContract])
    testcc = ChaincodeServer("runtimetest_ccaas:" + "0" * 64, "127.0.0.1:0", [TestContract])
    mortgage.start()
    testcc.start()
    counts: dict[str, dict[str, list[str]]] = {}
    try:
        for label, features in (("2.5 (plain)", None), ("3.1 (batching)", BATCHING)):
            script = Script(uuid.uuid4().hex[:6])
            ledger = MemoryLedger(InProcessHost([MortgageContract], name="mortgage"), collections=mcoll)
            with FakePeer(f"127.0.0.1:{mortgage.port}", ledger, channel_id=CHANNEL, features=features) as fp:
                for kind, ids in plan(1):
                    for i in ids:
                        caller, fn, args, transient = script.step(kind, i)
                        r = fp.invoke(who[caller], fn, *args, transient=transient)
                        if r.response.status >= 400:
                            raise RuntimeError(f"{fn}: {r.response.status} {r.response.message}")
                        counts.setdefault(kind, {})[label] = r.requests
            tledger = MemoryLedger(InProcessHost([TestContract], name="runtimetest"), collections=tcoll)
            with FakePeer(f"127.0.0.1:{testcc.port}", tledger, channel_id=CHANNEL, features=features) as fp:
                counts.setdefault("one-key put", {})[label] = fp.invoke(who["ta"], "Put", "k", "v").requests
    finally:
        mortgage.stop(1)
        testcc.stop(1)
    print("messages from the chaincode to the peer per transaction (plus TRANSACTION in, COMPLETED out):")
    for kind, by in counts.items():
        cells = []
        for label, reqs in by.items():
            summary = ", ".join(f"{reqs.count(t)} {t}" for t in dict.fromkeys(reqs)) or "none"
            cells.append(f"{label}: {len(reqs)} ({summary})")
        print(f"  {kind:<13} " + " | ".join(cells))


# --- part 2: CPU per transaction of every network process --------------------------------------------
def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def network_groups(data_dir: Path, extra: dict[str, list[int]]) -> dict[str, list[int]]:
    procs = json.loads((data_dir / "pids.json").read_text())
    groups: dict[str, list[int]] = {"peers": [], "orderers": []}
    for name, p in procs.items():
        pid = int(p["pid"])
        if name.startswith("peer"):
            groups["peers"].append(pid)
        elif name.startswith("orderer"):
            groups["orderers"].append(pid)
        elif name.startswith("cc."):
            groups[name] = [pid, *children(pid)]
    groups.update(extra)
    groups["client"] = [os.getpid()]
    return groups


def sample(groups: dict[str, list[int]]) -> dict[str, float]:
    return {g: sum(cpu_seconds(p) for p in pids) for g, pids in groups.items()}


async def phase(
    count_ids: list[int], in_flight: int, call: Callable[[int], Awaitable[Any]], groups: dict[str, list[int]]
) -> dict[str, Any]:
    queue = list(reversed(count_ids))
    latencies: list[float] = []
    failures: list[str] = []

    async def worker() -> None:
        while queue:
            i = queue.pop()
            t = time.perf_counter()
            try:
                await call(i)
            except Exception as exc:  # a shared network: count and report, never stop the run
                failures.append(f"{type(exc).__name__}: {str(exc)[:160]}")
                continue
            latencies.append(time.perf_counter() - t)

    before, t0 = sample(groups), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    wall, after = time.perf_counter() - t0, sample(groups)
    done = max(len(latencies), 1)
    ordered = sorted(latencies) or [float("nan")]
    return {
        "ok": len(latencies),
        "tps": len(latencies) / wall,
        "p50": ordered[len(ordered) // 2] * 1e3,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
        "cpu": {g: (after[g] - before[g]) / done * 1e3 for g in groups},
        "failures": failures,
    }


def report(label: str, r: dict[str, Any]) -> float:
    total = sum(r["cpu"].values())
    parts = ", ".join(f"{g} {v:.1f}" for g, v in r["cpu"].items() if v >= 0.05)
    fail = f"  FAILED {len(r['failures'])}: {sorted(set(r['failures']))[:2]}" if r["failures"] else ""
    print(
        f"  {label:<13} {r['ok']:4} ok {r['tps']:7.1f} tx/s  p50 {r['p50']:7.1f} p99 {r['p99']:7.1f} ms  "
        f"network CPU {total:6.1f} ms/tx ({parts}){fail}",
        flush=True,
    )
    return total


class Clients:
    """Async Gateway contracts per caller (ta: TrafficAuthority officer1, bank: BankA loan1)."""

    def __init__(self) -> None:
        from network import topology
        from network.ca import org_crypto
        from network.settings import Settings

        self.settings = Settings.from_env()
        self._topology, self._crypto = topology, org_crypto
        self._channels: list[Any] = []
        self.contracts: dict[tuple[str, str], Any] = {}

    async def open(self) -> None:
        from app.fabric_gateway import connect_async, create_async_channel, load_msp_folder

        for caller, org_key, user in (("ta", "trafficauthority", "officer1"), ("bank", "banka", "loan1")):
            org = self._topology.org(org_key)
            crypto = self._crypto(self.settings, org)
            address = f"{self._topology.HOST}:{self.settings.ports.peer(org)}"
            identity, signer = load_msp_folder(crypto.user(user) / "msp", org.msp_id)
            channel = create_async_channel(address, tls_root_certificates=crypto.tls_ca)
            ch = await channel.__aenter__()
            self._channels.append(channel)
            network = connect_async(identity, signer, ch).get_network(CHANNEL)
            for cc in ("mortgage", "runtimetest", "benchgo", "benchpy"):
                self.contracts[(caller, cc)] = network.get_contract(cc)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.__aexit__(None, None, None)


async def network_part(args: argparse.Namespace) -> None:
    clients = Clients()
    data_dir = clients.settings.data_dir
    if not (data_dir / "pids.json").exists():
        print(f"network: skipped, no network under {data_dir} (start it with `python -m network up`)")
        return
    await clients.open()
    try:
        groups = network_groups(data_dir, {})
        if args.skip_mortgage:
            if args.go:
                await go_part(args, clients, groups)
            return
        script = Script(uuid.uuid4().hex[:6])
        n, c = args.count, args.in_flight
        print(
            f"network (Fabric {os.environ.get('FABRIC_VERSION', '?')}): "
            f"{n} transactions of each kind at {c} in flight; CPU in ms per transaction:"
        )
        put = clients.contracts[("ta", "runtimetest")]
        totals: dict[str, float] = {}
        r = await phase(
            list(range(n)), c, lambda i: put.submit("Put", f"bench-{script.run}-{i}", "v"), groups
        )
        totals["one-key put"] = report("one-key put", r)
        for kind, ids in plan(n):

            async def call(i: int, kind: str = kind) -> Any:
                caller, fn, a, transient = script.step(kind, i)
                contract = clients.contracts[(caller, "mortgage")]
                if kind in ("read", "passport"):
                    return await contract.evaluate_transaction(fn, *a)
                return await contract.submit(fn, *a, transient=transient)

            r = await phase(list(ids), c, call, groups)
            totals[kind] = report(kind, r)
            await asyncio.sleep(2.5)  # every peer commits the block before the next phase reads it
        r = await phase(
            list(range(n, 2 * n)), c, lambda i: put.submit("Put", f"bench-{script.run}-{i}", "v"), groups
        )
        totals["one-key put 2"] = report("one-key put", r)
        base = (totals["one-key put"] + totals["one-key put 2"]) / 2
        print(
            f"  => registration / one-key put network CPU: {totals['register'] / base:.2f}x "
            f"(put measured before and after, mean {base:.1f} ms)"
        )
        if args.go:
            await go_part(args, clients, groups)
    finally:
        await clients.close()


# --- part 3: Go beside Python on the network -------------------------------------------------------------
def deploy_bench_chaincodes(settings: Any, workers: int) -> dict[str, Any]:
    from chaincode_cost import build_go  # the same Go build as the protocol benchmark

    from network.chaincode import ChaincodeSpec, deploy, prepare

    policy = "OutOf(2,'TrafficAuthorityMSP.peer','BankAMSP.peer','BankBMSP.peer','InsurerMSP.peer')"
    collections = ROOT / "chaincode/testcc/collections_config.json"
    bins = build_go()
    out: dict[str, Any] = {}
    for name, slot in (("benchgo", 6), ("benchpy", 7)):
        dep = prepare(
            settings,
            ChaincodeSpec(name, ("chaincode.testcc.contract:TestContract",), policy, collections, slot),
        )
        deploy(settings, dep)
        out[name] = dep
    out["bins"] = bins
    return out


def start_cc(name: str, dep: Any, bins: Path, workers: int, log_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHAINCODE_LOG_LEVEL": "WARNING"}
    if name == "benchgo":
        argv = [str(bins / "gocc")]
        env.update(CHAINCODE_ID=dep.package_id, CHAINCODE_SERVER_ADDRESS=dep.address)
    else:
        argv = [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            dep.package_id,
            "--address",
            dep.address,
            "--contract",
            "chaincode.testcc.contract:TestContract",
            "--workers",
            str(workers),
        ]
    log = (log_dir / f"{name}-{workers}.log").open("ab")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def go_part(args: argparse.Namespace, clients: Clients, groups: dict[str, list[int]]) -> None:
    settings = clients.settings
    deps = deploy_bench_chaincodes(settings, args.workers)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    n, c = args.go_count, args.in_flight
    run = uuid.uuid4().hex[:6]
    variants = [("benchgo", 1), ("benchpy", 1)] + ([("benchpy", args.workers)] if args.workers > 1 else [])
    print(f"Go beside Python on the network, {n} of each at {c} in flight (same policy, same peers):")
    results: dict[str, dict[str, float]] = {}
    for name, workers in variants:
        proc = start_cc(name, deps[name], deps["bins"], workers, log_dir)
        try:
            contract = clients.contracts[("bank", name)]
            await asyncio.sleep(2.0 if workers == 1 else 3.0)
            for _ in range(60):  # peers reconnect to a restarted server on their next call
                try:
                    await clients.contracts[("ta", name)].submit("Put", f"seed-{run}", "v")
                    break
                except Exception:
                    await asyncio.sleep(1.0)
            cc_pids = [proc.pid, *children(proc.pid)]
            g = {**groups, f"{name}x{workers}": cc_pids}
            label = f"{name} x{workers}"
            # reads alternate between two peers (TrafficAuthority's, BankA's): two streams to the chaincode
            readers = (clients.contracts[("ta", name)], contract)

            def read(i: int, r: tuple[Any, Any] = readers) -> Awaitable[Any]:
                return r[i % 2].evaluate_transaction("Get", f"seed-{run}")

            def write(i: int, k: Any = contract, w: int = workers) -> Awaitable[Any]:
                return k.submit("Put", f"{run}-{w}-{i}", "v")

            ev = await phase(list(range(n)), c, read, g)
            print(f"  {label:<11} evaluate Get ", end="")
            report("", ev)
            sb = await phase(list(range(n // 2)), c, write, g)
            print(f"  {label:<11} submit Put   ", end="")
            report("", sb)
            results[label] = {
                "get": ev["tps"],
                "put": sb["tps"],
                "get_cpu": sum(ev["cpu"].values()),
                "put_cpu": sum(sb["cpu"].values()),
            }
        finally:
            stop(proc)
    go, py = results["benchgo x1"], results["benchpy x1"]
    print(
        f"  => Python/Go throughput: reads {py['get'] / go['get']:.2f}x, "
        f"writes {py['put'] / go['put']:.2f}x; network CPU per read {py['get_cpu'] / go['get_cpu']:.2f}x, "
        f"per write {py['put_cpu'] / go['put_cpu']:.2f}x"
    )
    if args.workers > 1:
        many = results[f"benchpy x{args.workers}"]
        print(
            f"  => {args.workers} workers / 1 process: reads {many['get'] / py['get']:.2f}x, "
            f"writes {many['put'] / py['put']:.2f}x"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=100, help="transactions of each kind")
    p.add_argument("--in-flight", type=int, default=50)
    p.add_argument("--skip-network", action="store_true")
    p.add_argument("--skip-messages", action="store_true")
    p.add_argument("--go", action="store_true", help="part 3: Go and Python test chaincodes side by side")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--go-count", type=int, default=400, help="reads per variant in part 3 (writes: half)")
    p.add_argument("--skip-mortgage", action="store_true", help="part 2 without the mortgage transactions")
    args = p.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not args.skip_messages:
        messages_part()
    if not args.skip_network:
        asyncio.run(network_part(args))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
