"""The read model's scenario on both backends: blocks committed by the embedded ledger or by a real
Fabric network (its peers' Deliver stream), projected the same way, give the chaincode's exact counts
past one query page, skip an invalidated transaction, and verify finds a corrupted row."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from app.ledger.port import ChaincodeRefused, LedgerPort, TransactionInvalidated
from app.readmodel.projector import Projector
from app.readmodel.queries import SearchFilter, dashboard, portfolio, search
from app.readmodel.sources import source_for
from app.readmodel.sqlite import SqliteStore
from app.readmodel.verify import EmbeddedWorldState, WorldState, verify
from app.readmodel.world_state import ChaincodeWorldState
from tests.unit.readmodel.helpers import (
    AUDITOR,
    OFFICER,
    REGULATOR,
    chaincode_counts,
    lien_flow,
    owner,
    register_many,
    vehicle,
    vin_of,
)

COUNT = 205  # one chaincode query page holds 200


async def _duplicate_registration(ledger: LedgerPort, vin: str, plate: str) -> str | None:
    """Two registrations of one VIN at once: one commits; the other is MVCC-invalid (its tx id is
    returned) or, if it simulated after the first committed, refused by the contract."""
    args = [json.dumps(vehicle(vin, plate))]
    results = await asyncio.gather(
        ledger.submit(OFFICER, "RegisterVehicle", args, owner(vin)),
        ledger.submit(OFFICER, "RegisterVehicle", args, owner(vin)),
        return_exceptions=True,
    )
    invalid = [r for r in results if isinstance(r, TransactionInvalidated)]
    assert len([r for r in results if not isinstance(r, BaseException)]) == 1, results
    assert all(
        isinstance(r, TransactionInvalidated | ChaincodeRefused)
        for r in results
        if isinstance(r, BaseException)
    )
    return invalid[0].tx_id if invalid else None


async def test_read_model_scenario(ledger: LedgerPort, backend: str, run_id: str, tmp_path: Path) -> None:
    prefix, start = f"R{run_id[:3]}", int(run_id[3:], 16) * 1000  # the network keeps earlier runs' vehicles
    vins = await register_many(ledger, COUNT, prefix, in_flight=24, start=start)
    invalid_tx = await _duplicate_registration(ledger, vin_of(f"D{run_id[:3]}", start), f"D{run_id}")
    lien_id = await lien_flow(ledger, vins[0], f"RM{run_id}")

    store = SqliteStore(tmp_path / "rm.sqlite")
    projector = Projector(store, source_for(ledger))
    progress = await projector.catch_up()
    assert progress.skipped_other >= 1  # the channel's genesis (config) block at least
    if invalid_tx is not None:
        assert progress.skipped_invalid >= 1
        assert search(store, SearchFilter(tx_id=invalid_tx)).rows == []

    board = dashboard(store)
    truth = await chaincode_counts(ledger, REGULATOR)
    assert dict(board["counts"]) == truth  # exact, every page of the chaincode's own answer counted
    assert truth["REGISTERED"] >= COUNT
    assert board["block_height"] == store.next_block() > 0
    mine = search(store, SearchFilter(vin=vins[0])).rows
    assert {r["function"] for r in mine} >= {"RegisterVehicle", "RecordLien"}
    assert lien_id in {r["lien"]["lien_id"] for r in portfolio(store, "BankAMSP", limit=1000).rows} or (
        portfolio(store, "BankAMSP").total > 1000
    )

    world: WorldState = (
        EmbeddedWorldState(ledger.data_dir)  # type: ignore[attr-defined]
        if backend == "embedded"
        else ChaincodeWorldState(ledger, AUDITOR)
    )
    clean = await verify(store, world)
    assert clean.ok, clean.drift[:3]
    assert clean.checked >= COUNT

    store.execute_raw("UPDATE liens SET secured_amount = '1' WHERE lien_id = ?", (f"L-RM{run_id}",))
    report = await verify(store, world)
    assert [(d.kind, d.record, d.problem) for d in report.drift if d.kind == "liens"] == [
        ("liens", f"L-RM{run_id}", "different")
    ]
