#!/usr/bin/env python3
"""Benchmark floor-plan finance (issue 19) on the real Mortgage contract and print the figures.

    .venv/bin/python scripts/bench/floorplan.py [--cars 10000] [--lines 50] [--check-cars 500]
                                                [--queries 20] [--fabric-check-cars 0]

In-process (the runtime's host ``MemoryLedger``: the contract, its rw-sets and validation, no network):
- the floor check of ``--check-cars`` financed cars on one line: open, each scan (QR code id → resolved,
  recorded: one transaction each, p50/p95), close (the cars not seen → alerts);
- the exposure query over ``--cars`` financed cars spread on ``--lines`` lines (GetFloorPlanExposure as
  the regulator: every line; as one bank: its own), the regulator's totals, one line's stock with the
  curtailment position of each car.
``--fabric-check-cars N`` also runs a floor check of N cars on the running native network (BankA's
field auditor through its own peer; cars financed first), scan → committed on every peer.
Print the machine and ``uptime``: the CPU is shared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from chaincode.mortgage.contract import MortgageContract  # noqa: E402
from chaincode.mortgage.vin import with_check_digit  # noqa: E402
from chaincode.runtime.testing import (  # noqa: E402
    MemoryLedger,
    TestIdentity,
    collections_from_config,
    make_identity,
)

COLLECTIONS = ROOT / "chaincode" / "mortgage" / "collections_config.json"
USERS = {
    "ta": ("TrafficAuthorityMSP", "registrar"),
    "oem": ("ManufacturerMSP", "core_enterprise"),
    "bank_a": ("BankAMSP", "loan_officer"),
    "bank_b": ("BankBMSP", "loan_officer"),
    "checker": ("BankAMSP", "field_auditor"),
    "regulator": ("RegulatorMSP", "regulator"),
}


def vin(n: int) -> str:
    return with_check_digit(f"LFV{n:06d}0000000"[:8] + "0" + f"{n:08d}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def row(name: str, samples: list[float]) -> None:
    print(
        f"{name:<52} n={len(samples):<6} p50={pct(samples, 0.5):8.2f} ms  p95={pct(samples, 0.95):8.2f} ms"
        f"  total={sum(samples):7.2f} s"
    )


class Bench:
    def __init__(self) -> None:
        collections = collections_from_config(json.loads(COLLECTIONS.read_text()))
        self.ledger = MemoryLedger.for_contracts(MortgageContract, name="mortgage", collections=collections)
        self.ids: dict[str, TestIdentity] = {
            k: make_identity(msp, f"{k}@{msp}", {"role": role}) for k, (msp, role) in USERS.items()
        }

    def call(self, who: str, fn: str, *args: Any, transient: dict[str, bytes] | None = None) -> Any:
        raw = [a if isinstance(a, str) else json.dumps(a) for a in args]
        result = self.ledger.invoke(self.ids[who], fn, *raw, transient=transient)
        if not result.ok:
            raise RuntimeError(f"{fn}: {result.response.status} {result.response.message}")
        return json.loads(result.response.payload) if result.response.payload else None

    def timed(self, who: str, fn: str, *args: Any, **kw: Any) -> tuple[float, Any]:
        start = time.perf_counter()
        out = self.call(who, fn, *args, **kw)
        return time.perf_counter() - start, out

    def call_many(self, calls: list[tuple[str, str, list[Any], dict[str, bytes] | None]]) -> list[float]:
        """Independent transactions (distinct keys); the embedded ledger runs them concurrently."""
        return [self.timed(who, fn, *args, transient=tr)[0] for who, fn, args, tr in calls]

    def register_call(self, n: int) -> tuple[str, str, list[Any], dict[str, bytes] | None]:
        v = vin(n)
        salt = hashlib.sha256(f"s{n}".encode()).digest()[:16]
        owner = {
            "owner": json.dumps({"name": "Dealer stock", "id_number": f"DLR{n:07d}"}).encode(),
            "owner_salt": salt,
        }
        vehicle = {
            "vin": v,
            "plate": f"F{n:07d}",
            "make": "BYD",
            "model": "Seal",
            "year": 2026,
            "registration_date": "2025-12-01",
        }
        return ("ta", "RegisterVehicle", [vehicle], owner)

    def register(self, n: int) -> str:
        v = vin(n)
        salt = hashlib.sha256(f"s{n}".encode()).digest()[:16]
        owner = {
            "owner": json.dumps({"name": "Dealer stock", "id_number": f"DLR{n:07d}"}).encode(),
            "owner_salt": salt,
        }
        vehicle = {
            "vin": v,
            "plate": f"F{n:07d}",
            "make": "BYD",
            "model": "Seal",
            "year": 2026,
            "registration_date": "2025-12-01",
        }
        self.call("ta", "RegisterVehicle", vehicle, transient=owner)
        return v

    def line(self, line_id: str, dealer_id: str, limit: str) -> None:
        body = {
            "line_id": line_id,
            "dealer_id": dealer_id,
            "approver_msp_id": "ManufacturerMSP",
            "limit": limit,
            "currency": "CNY",
            "rate": "0.058",
        }
        self.call("bank_a", "OpenCreditLine", body)

    def finance(self, advance_id: str, line_id: str, v: str) -> float:
        body = {"advance_id": advance_id, "line_id": line_id, "vin": v, "amount": "100000", "odometer_km": 5}
        return self.timed("bank_a", "FinanceVehicle", body)[0]


class EmbeddedBench(Bench):
    """The same calls through the gateway's embedded ledger (SQLite state, blocks, endorsement policy)."""

    def __init__(self) -> None:
        import asyncio
        import tempfile

        from app.ledger.embedded.ledger import EmbeddedLedger
        from app.ledger.port import Caller

        self.loop = asyncio.new_event_loop()
        self.asyncio = asyncio
        self.port = EmbeddedLedger(Path(tempfile.mkdtemp(prefix="mledger-fpbench-")) / "ledger")
        self.callers = {k: Caller(f"{k}1", msp, {"role": role}) for k, (msp, role) in USERS.items()}

    async def _one(self, who: str, fn: str, args: list[Any], transient: dict[str, bytes] | None) -> Any:
        raw = [a if isinstance(a, str) else json.dumps(a) for a in args]
        if fn.startswith("Get"):
            payload = await self.port.evaluate(self.callers[who], fn, raw)
        else:
            payload = (await self.port.submit(self.callers[who], fn, raw, transient=transient)).payload
        return json.loads(payload) if payload else None

    def call(self, who: str, fn: str, *args: Any, transient: dict[str, bytes] | None = None) -> Any:
        return self.loop.run_until_complete(self._one(who, fn, list(args), transient))

    def call_many(self, calls: list[tuple[str, str, list[Any], dict[str, bytes] | None]]) -> list[float]:
        async def timed(call: tuple[str, str, list[Any], dict[str, bytes] | None]) -> float:
            start = time.perf_counter()
            await self._one(*call)
            return time.perf_counter() - start

        async def run() -> list[float]:
            return list(await self.asyncio.gather(*(timed(c) for c in calls)))

        return self.loop.run_until_complete(run())


def floor_check(b: Bench, cars: int) -> None:
    print(f"\n# floor check of {cars} cars")
    b.call("oem", "WhitelistDealer", {"dealer_id": "DCHK", "dealer_msp_id": "DealerMSP", "name": "Check lot"})
    b.line("FL-CHK", "DCHK", str(100000 * (cars + 1)))
    vins = []
    for i in range(cars):
        v = b.register(900_000 + i)
        b.finance(f"C{i}", "FL-CHK", v)
        b.call(
            "ta",
            "IssueQrIdentity",
            v,
            {"code_id": f"QR{i}", "payload_sha256": hashlib.sha256(v.encode()).hexdigest()},
        )
        vins.append(v)
    t_open, _ = b.timed(
        "checker", "OpenFloorCheck", {"check_id": "FC1", "line_id": "FL-CHK", "location": "lot"}
    )
    missing = max(1, cars // 50)
    scans = []
    for i in range(cars - missing):
        elapsed, _ = b.timed(
            "checker", "ScanFloorCheck", "FC1", {"code_id": f"QR{i}", "place": f"row {i // 25}"}
        )
        scans.append(elapsed)
    t_close, closed = b.timed("checker", "CloseFloorCheck", "FC1")
    assert len(closed["not_seen"]) == missing, closed["not_seen"][:3]
    print(f"{'OpenFloorCheck':<52} {t_open * 1000:8.2f} ms")
    row("ScanFloorCheck (QR code id -> seen at time/place)", scans)
    print(f"{f'CloseFloorCheck ({cars} financed, {missing} not seen)':<52} {t_close * 1000:8.2f} ms")
    print(f"{'whole walk (scans + close)':<52} {sum(scans) + t_close:8.2f} s")


def exposure(b: Bench, cars: int, lines: int, queries: int) -> None:
    print(f"\n# exposure over {cars} financed cars on {lines} lines")
    per_line = cars // lines
    setup = time.perf_counter()
    for d in range(lines):
        b.call(
            "oem",
            "WhitelistDealer",
            {"dealer_id": f"D{d}", "dealer_msp_id": "DealerMSP", "name": f"Dealer {d}"},
        )
        b.line(f"FL{d}", f"D{d}", str(100000 * per_line))
    n = per_line * lines
    for start in range(0, n, 200):
        b.call_many([b.register_call(i) for i in range(start, min(n, start + 200))])
    finance: list[float] = []
    for r in range(per_line):  # one car of every line at a time: distinct line records, no MVCC conflict
        batch: list[tuple[str, str, list[Any], dict[str, bytes] | None]] = []
        for d in range(lines):
            i = d * per_line + r
            body = {
                "advance_id": f"A{i}",
                "line_id": f"FL{d}",
                "vin": vin(i),
                "amount": "100000",
                "odometer_km": 5,
            }
            batch.append(("bank_a", "FinanceVehicle", [body], None))
        finance += b.call_many(batch)
    print(f"{'setup (register + finance ' + str(n) + ' cars)':<52} {time.perf_counter() - setup:8.2f} s")
    row("FinanceVehicle (limit check on the line record)", finance)

    def repeat(label: str, who: str, fn: str, *args: Any, check: Callable[[Any], bool]) -> None:
        samples = []
        for _ in range(queries):
            elapsed, out = b.timed(who, fn, *args)
            assert check(out), (fn, str(out)[:200])
            samples.append(elapsed)
        row(label, samples)

    repeat(
        "GetFloorPlanExposure (regulator: all lines)",
        "regulator",
        "GetFloorPlanExposure",
        {},
        check=lambda o: sum(int(d["open_advances"]) for d in o["dealers"]) >= n,
    )
    repeat(
        "GetFloorPlanExposure (BankA: its lines)",
        "bank_a",
        "GetFloorPlanExposure",
        {},
        check=lambda o: len(o["dealers"]) >= lines,
    )
    repeat(
        "GetFloorPlanTotals (regulator)",
        "regulator",
        "GetFloorPlanTotals",
        check=lambda o: sum(int(t["open_advances"]) for t in o["lenders"]) >= n,
    )
    repeat(
        f"GetFloorPlanStock (one line, {per_line} cars, curtailments)",
        "bank_a",
        "GetFloorPlanStock",
        "FL0",
        check=lambda o: len(o["advances"]) == per_line,
    )


def fabric_check(cars: int) -> None:
    """The floor check on the running native network: BankA's field auditor, one scan per car."""
    import uuid

    from app.fabric_gateway import connect, create_channel, load_pem_files
    from network.fixture import open_for_tests

    info, _ = open_for_tests()
    run = uuid.uuid4().hex[:6].upper()

    def contract(org: str, user: str, via: str | None = None) -> Any:
        peer = info.org(via or org)
        ident = info.identity(org, user)
        identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
        assert peer.peer_endpoint is not None, f"{via or org} has no peer"
        channel = create_channel(peer.peer_endpoint, tls_root_certificates=peer.peer_tls_ca.read_bytes())
        return connect(identity, signer, channel).get_network(info.channel).get_contract("mortgage")

    peer_orgs = [o.msp_id for o in info.peers]

    def settle(submitted: Any) -> None:
        """Wait until every peer committed the block (each org's client endorses on its own peer first;
        a peer a block behind would simulate on older state and the endorsements would differ)."""
        if submitted is None:
            return
        deadline = time.monotonic() + 60
        while min(info.height(o) for o in peer_orgs) <= submitted.status.block_number:
            assert time.monotonic() < deadline, "peers did not catch up"
            time.sleep(0.05)

    officer = contract("TrafficAuthority", "officer1")
    oem = contract("Manufacturer", "oem1", via="TrafficAuthority")
    bank = contract("BankA", "loan1")
    checker = contract("BankA", "checker1")
    print(f"\n# floor check of {cars} cars on the native network (run {run})")
    settle(
        oem.submit(
            "WhitelistDealer",
            json.dumps({"dealer_id": f"DB{run}", "dealer_msp_id": "DealerMSP", "name": "Bench"}),
        )
    )
    line_id = f"FLB{run}"
    opened = bank.submit(
        "OpenCreditLine",
        json.dumps(
            {
                "line_id": line_id,
                "dealer_id": f"DB{run}",
                "approver_msp_id": "ManufacturerMSP",
                "limit": str(100000 * (cars + 1)),
                "currency": "CNY",
                "rate": "0.058",
            }
        ),
    )
    settle(opened)
    setup = time.perf_counter()
    for i in range(cars):
        v = with_check_digit(f"LFB{run}0{i:07d}"[:8] + "0" + f"{run[:2]}{i:06d}")
        salt = hashlib.sha256(f"{run}{i}".encode()).digest()[:16]
        owner = {
            "owner": json.dumps({"name": "Bench stock", "id_number": f"B{run}{i}"}).encode(),
            "owner_salt": salt,
        }
        vehicle = {
            "vin": v,
            "plate": f"B{run[:3]}{i:05d}",
            "make": "BYD",
            "model": "Seal",
            "year": 2026,
            "registration_date": "2025-12-01",
        }
        settle(officer.submit("RegisterVehicle", json.dumps(vehicle), transient=owner))
        settle(
            bank.submit(
                "FinanceVehicle",
                json.dumps(
                    {
                        "advance_id": f"AB{run}{i}",
                        "line_id": line_id,
                        "vin": v,
                        "amount": "100000",
                        "odometer_km": 5,
                    }
                ),
            )
        )
        settle(
            officer.submit(
                "IssueQrIdentity", v, json.dumps({"code_id": f"QB{run}{i}", "payload_sha256": "7a" * 32})
            )
        )
    print(f"{'setup (register, finance, QR: 3 tx per car)':<52} {time.perf_counter() - setup:8.2f} s")
    check_id = f"FCB{run}"
    settle(
        checker.submit(
            "OpenFloorCheck", json.dumps({"check_id": check_id, "line_id": line_id, "location": "bench lot"})
        )
    )
    scans = []
    last = None
    for i in range(cars - 1):
        start = time.perf_counter()
        last = checker.submit(
            "ScanFloorCheck", check_id, json.dumps({"code_id": f"QB{run}{i}", "place": "row"})
        )
        scans.append(time.perf_counter() - start)
    settle(last)  # the close reads every scan: on every peer
    start = time.perf_counter()
    closed = json.loads(checker.submit("CloseFloorCheck", check_id).result)
    t_close = time.perf_counter() - start
    assert len(closed["not_seen"]) == 1
    row("ScanFloorCheck on Fabric (submit -> committed)", scans)
    print(f"{'CloseFloorCheck on Fabric (1 not seen)':<52} {t_close * 1000:8.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cars", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--check-cars", type=int, default=500)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--fabric-check-cars", type=int, default=0)
    parser.add_argument("--only-fabric", action="store_true", help="skip the in-process figures")
    parser.add_argument(
        "--backend",
        choices=("memory", "embedded"),
        default="memory",
        help="memory: the runtime's test host (its range reads scan the whole state); embedded: the "
        "gateway's SQLite ledger (indexed range reads, blocks, policies)",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if not args.only_fabric:
        b = EmbeddedBench() if args.backend == "embedded" else Bench()
        print(f"backend: {args.backend}")
        floor_check(b, args.check_cars)
        exposure(b, args.cars, args.lines, args.queries)
    if args.fabric_check_cars:
        fabric_check(args.fabric_check_cars)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
