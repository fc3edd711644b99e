"""The read model fed by the embedded ledger's committed blocks of the real Mortgage contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.ledger.embedded.ledger import EmbeddedLedger, mortgage_chaincode
from app.ledger.port import TransactionInvalidated
from app.readmodel.projector import Projector
from app.readmodel.queries import SearchFilter, dashboard, portfolio, search
from app.readmodel.sources import source_for
from app.readmodel.sqlite import SqliteStore
from app.readmodel.verify import EmbeddedWorldState, verify
from tests.unit.readmodel.helpers import (
    OFFICER,
    REGULATOR,
    chaincode_counts,
    lien_flow,
    owner,
    register_many,
    vehicle,
    vin_of,
)

COUNT = 230  # more than one chaincode query page (200)


@pytest.fixture
async def ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    led = EmbeddedLedger(tmp_path / "ledger", chaincodes=[mortgage_chaincode()])
    yield led
    await led.close()


async def _invalid_registration(ledger: EmbeddedLedger) -> str:
    """Two registrations of one new VIN endorsed on the same state: the second is MVCC-invalid."""
    vin = vin_of("DUP", 1)
    args = [json.dumps(vehicle(vin, "DUP0001"))]
    first = await ledger.endorse(OFFICER, "RegisterVehicle", args, owner("dup"))
    second = await ledger.endorse(OFFICER, "RegisterVehicle", args, owner("dup"))
    await ledger.submit_prepared(first)
    with pytest.raises(TransactionInvalidated) as caught:
        await ledger.submit_prepared(second)
    assert caught.value.validation_code == "MVCC_READ_CONFLICT"
    return second.tx_id


async def test_projection_matches_the_chaincode_and_verify_finds_corruption(ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vins = await register_many(ledger, COUNT, "EMB")
    invalid_tx = await _invalid_registration(ledger)
    lien_id = await lien_flow(ledger, vins[0], "EMB")
    store = SqliteStore(tmp_path / "rm.sqlite")
    projector = Projector(store, source_for(ledger))
    progress = await projector.catch_up()
    assert progress.skipped_invalid == 1 and progress.skipped_other >= 1  # the MVCC loser; genesis (config)
    board = dashboard(store)
    assert board["block_height"] == ledger.height()
    truth = await chaincode_counts(ledger, REGULATOR)
    assert truth["REGISTERED"] == COUNT  # 229 + the duplicate's winner; one mortgaged
    assert dict(board["counts"]) == truth
    assert board["total_liens"] == 1 and board["months"][0][1] == 1
    assert dict(board["ltv"])["40–60%"] == 1  # 100,000 secured on a 200,000 valuation
    assert search(store, SearchFilter(tx_id=invalid_tx)).rows == []
    rows = search(store, SearchFilter(vin=vins[0])).rows
    assert [r["function"] for r in rows][:2] == ["RecordLien", "RecordLien"]  # vehicle + lien, newest first
    page = portfolio(store, "BankAMSP")
    assert [r["lien"]["lien_id"] for r in page.rows] == [lien_id] and page.rows[0]["ltv"] == 50

    world = EmbeddedWorldState(ledger.data_dir)
    clean = await verify(store, world)
    assert clean.ok, clean.drift[:3]
    assert clean.checked >= COUNT + 1 + 1  # vehicles, the lien, and more

    store.execute_raw("UPDATE vehicles SET status = 'SCRAPPED' WHERE vin = ?", (vins[5],))
    report = await verify(store, world)
    assert not report.ok
    problems = {(d.kind, d.record, d.problem) for d in report.drift}
    assert ("vehicles", vins[5], "different") in problems
    assert any(d.kind == "counters" for d in report.drift)  # the recount disagrees with the counters too
    sampled = await verify(store, world, sample=COUNT + 1, seed=1)  # every row: the sample must hit it
    assert [d.record for d in sampled.drift] == [vins[5]] and "status" in sampled.drift[0].detail
    assert "drifted" in sampled.confidence
    assert json.loads(store.meta("last_verify") or "{}")["ok"] is False


async def test_a_follower_picks_up_new_blocks(ledger, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    store = SqliteStore(tmp_path / "rm.sqlite")
    projector = Projector(store, source_for(ledger))
    task = asyncio.create_task(projector.follow())
    try:
        await register_many(ledger, 5, "FLW")
        for _ in range(100):
            if dict(dashboard(store)["counts"])["REGISTERED"] == 5:
                break
            await asyncio.sleep(0.05)
        assert dict(dashboard(store)["counts"])["REGISTERED"] == 5
        assert await projector.lag() == 0
    finally:
        task.cancel()
