"""Peers from ledger snapshots on the real network: `snapshot take` on peer0.bankb, then
`peer rebuild peer0.banka --from-snapshot` while the other orgs keep transacting.

The rebuilt peer holds no block before the snapshot (Fabric cannot serve those from it), so this module
runs after every other network test (marker `rebuilds_peer`, see conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from app.fabric_gateway import Contract, EvaluateError, GatewayError
from chaincode.mortgage.vin import with_check_digit
from network import peercli
from network.fixture import FabricNetworkInfo
from tests.integration.network_cli import network_cli
from tests.integration.test_mortgage_lifecycle import (
    CC,
    PEER_ORGS,
    Actors,
    Committer,
    contract,
    ensure_models,
    owner,
)

pytestmark = pytest.mark.rebuilds_peer

REBUILT, SOURCE = "peer0.banka", "peer0.bankb"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return network_cli(*args)


def _cli(*args: str) -> str:
    res = _run(*args)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_rebuild_refuses_bad_input_and_leaves_the_peer_running(
    fabric_network: FabricNetworkInfo, tmp_path: Path
) -> None:
    procs = fabric_network.network.procs
    before = procs.get(REBUILT)
    assert before is not None
    res = _run("peer", "rebuild", REBUILT, "--from-snapshot", str(tmp_path))
    out = " ".join(res.stdout.split())
    assert res.returncode == 1 and f"snapshot: {tmp_path} is not a completed snapshot folder" in out, out
    res = _run("peer", "rebuild", "peer0.nobody", "--from-snapshot")
    assert res.returncode == 1 and "peer: unknown peer 'peer0.nobody'" in " ".join(res.stdout.split())
    res = _run("peer", "rebuild", REBUILT)
    assert res.returncode == 2 and "--from-snapshot is required" in " ".join(res.stdout.split())
    after = procs.get(REBUILT)
    assert after is not None and after.pid == before.pid and procs.alive(REBUILT)


def _register(officer: Contract, actors: Actors, vin: str, plate: str) -> int:
    """Register a vehicle as the vehicle office; the block it committed in (on the office's own peer)."""
    transient, _ = owner(f"{vin}-{actors.run}")
    vehicle = {
        "vin": vin,
        "plate": plate,
        "make": "BYD",
        "model": "Seal",
        "year": 2025,
        "registration_date": "2025-05-01",
    }
    submitted = officer.submit("RegisterVehicle", json.dumps(vehicle), transient=transient)
    return submitted.status.block_number


def _keep_transacting(net: FabricNetworkInfo, actors: Actors, stop: threading.Event, done: list[str]) -> None:
    """The vehicle office keeps registering vehicles through its own peer until told to stop."""
    with contract(net, "TrafficAuthority", "officer1") as officer:
        i = 0
        while not stop.is_set():
            i += 1
            vin = with_check_digit(f"LSK{actors.run.upper()}{i:06d}")
            try:
                _register(officer, actors, vin, f"粤S{actors.run[:4].upper()}{i:04d}")
                done.append(vin)
            except GatewayError as exc:  # the next one goes on
                done.append(f"error: {type(exc).__name__}")


def _owner_via(net: FabricNetworkInfo, org: str, vin: str, timeout: float) -> dict[str, str]:
    """The vehicle office reads a vehicle's owner (private data) through `org`'s gateway peer, which
    evaluates on its own peer; retried until that peer holds the private data."""
    deadline = time.monotonic() + timeout
    with contract(net, "TrafficAuthority", "officer1", via=org) as officer:
        while True:
            try:
                got: dict[str, str] = json.loads(officer.evaluate_transaction("GetOwner", vin))
                return got
            except EvaluateError as exc:
                assert "private data matching public hash version is not available" in str(exc), exc
                assert time.monotonic() < deadline, f"{org}'s peer did not get the private data of {vin}"
                time.sleep(2)


def _heights(net: FabricNetworkInfo) -> dict[str, int]:
    return {org: net.height(org) for org in PEER_ORGS}


def test_peer_rebuilt_from_a_snapshot_serves_queries_and_endorses(fabric_network: FabricNetworkInfo) -> None:
    net = fabric_network
    ensure_models(net)
    actors = Actors(net)
    before = with_check_digit(f"LSB{actors.run.upper()}000001")
    after = with_check_digit(f"LSA{actors.run.upper()}000002")
    with contract(net, "TrafficAuthority", "officer1") as officer:
        Committer(net).wait(_register(officer, actors, before, f"粤B{actors.run[:4].upper()}01"))

    t0 = time.monotonic()
    taken = _cli("snapshot", "take", SOURCE)
    m = re.search(r"snapshot (\S+) height (\d+)", taken)
    assert m, taken
    snapshot, snap_height = Path(m.group(1)), int(m.group(2))
    assert snapshot.is_dir() and snap_height > net.height("BankA") - 5
    snapshot_s = time.monotonic() - t0

    stop, done = threading.Event(), list[str]()  # VINs registered meanwhile, or 'error: <kind>'
    others = threading.Thread(target=_keep_transacting, args=(net, actors, stop, done), daemon=True)
    others.start()
    t1 = time.monotonic()
    try:
        rebuilt = _cli("peer", "rebuild", REBUILT, "--from-snapshot", str(snapshot))
        rebuild_s = time.monotonic() - t1
        while not [v for v in done if not v.startswith("error")]:  # at least one commit since the start
            assert others.is_alive()
            time.sleep(0.2)
    finally:
        stop.set()
        others.join(timeout=120)
    assert f"rebuilt {REBUILT} from {snapshot} (height {snap_height})" in rebuilt, rebuilt
    assert (REBUILT in rebuilt) and "former ledger moved to" in rebuilt

    # it reaches the others' height (it commits the blocks after the snapshot, including the ones made
    # while it was rebuilt)
    deadline = time.monotonic() + 120
    heights = _heights(net)
    while heights["BankA"] < max(heights.values()):
        assert time.monotonic() < deadline, f"{REBUILT} stayed behind: {heights}"
        time.sleep(0.3)
        heights = _heights(net)

    # a vehicle registered before the snapshot and one registered after the rebuild, read on its peer
    with contract(net, "TrafficAuthority", "officer1") as officer:
        Committer(net).wait(_register(officer, actors, after, f"粤A{actors.run[:4].upper()}02"))
    for vin in (before, after):
        got = json.loads(peercli.query(net, CC, ["GetVehicle", vin], org="BankA", user="loan1"))
        assert got["vin"] == vin, got

    # a transaction endorsed by the rebuilt peer (and BankB's) commits
    valuation = {
        "valuation_id": f"V-snap-{actors.run}",
        "vin": after,
        "value": "149000",
        "currency": "CNY",
        "interval_low": "134000",
        "interval_high": "164000",
        "coverage": "0.9",
        "model_id": "residual-lgbm",
        "model_version": "1.0.0",
        "inputs_hash": "5d" * 32,
        "valuer": "valuation-service",
    }
    result = peercli.invoke(
        net,
        CC,
        ["RecordValuation", json.dumps(valuation)],
        org="TrafficAuthority",
        user="officer1",
        endorsers=["BankA", "BankB"],
    )
    assert result.ok and result.status == "VALID", result.output

    # the owner's private data of the vehicle registered before the snapshot is not in the snapshot (only
    # its hash): the rebuilt peer fetches it from the collection's other members by reconciliation
    # (core.yaml peer.gossip.pvtData.reconcileSleepInterval, 1 min)
    t2 = time.monotonic()
    private = _owner_via(net, "BankA", before, timeout=180)
    reconciled_s = time.monotonic() - t2
    assert private["vin"] == before and private["name"].startswith("Owner "), private

    committed = [v for v in done if not v.startswith("error")]
    total = snapshot_s + rebuild_s
    print(
        f"\n{REBUILT} rebuilt from a snapshot of {SOURCE} at height {snap_height}: "
        f"snapshot {snapshot_s:.1f} s, "
        f"rebuild (stop, join, catch-up) {rebuild_s:.1f} s, total {total:.1f} s; "
        f"{rebuilt.strip().splitlines()[-1]}; the others committed {len(committed)} registrations meanwhile "
        f"({len(done) - len(committed)} refused); pre-snapshot private data back after {reconciled_s:.0f} s; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
