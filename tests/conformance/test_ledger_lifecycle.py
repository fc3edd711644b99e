"""One mortgage lifecycle through LedgerPort on both backends: same payloads, errors and codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from app.ledger.port import Caller, LedgerPort

from .conftest import settle_for
from .rwsets import envelope_of, rwset_summary
from .scenario import events_of, mortgage_lifecycle


async def test_lifecycle_outcomes(
    ledger: LedgerPort, backend: str, callers: dict[str, Caller], new_vin: Callable[[], str], run_id: str
) -> None:
    vin = new_vin()
    t = await mortgage_lifecycle(ledger, callers, vin, f"{run_id}{backend[:1].upper()}", settle_for(ledger))
    out = t.outcome
    print("\n".join(f"{name}: {str(outcome)[:300]}" for name, outcome in t.steps))  # shown on failure
    assert out("register")["valid"] == "VALID"
    assert out("register")["payload"]["status"] == "REGISTERED"
    assert out("register again")["status"] == 409 and "already registered" in out("register again")["message"]
    assert out("register again")["error"] == "ChaincodeRefused"
    assert out("register bad vin")["status"] == 400
    assert out("dealer registers")["status"] == 403
    assert out("unknown vehicle")["status"] == 404
    assert out("owner by insurer")["status"] == 403
    assert out("owner by requesting bank")["status"] == 403  # a lien not yet recorded opens nothing
    assert out("owner by lienholder")["payload"]["vin"] == vin
    assert out("bank b records lien")["status"] == 403
    assert out("record lien")["payload"]["status"] == "RECORDED"
    assert out("vehicle mortgaged")["payload"]["status"] == "MORTGAGED"
    assert out("transfer without consent")["status"] == 409
    # the vehicle key carries TrafficAuthority AND the lienholder: two other orgs are not enough
    assert out("transfer without lienholder endorsement") == {
        "invalidated": "ENDORSEMENT_POLICY_FAILURE",
        "status": 409,
    }
    assert out("owner unchanged")["payload"]["name"].startswith("Owner first-")
    assert out("transfer endorsed by lienholder")["valid"] == "VALID"
    assert out("balance")["payload"]["outstanding"] == "80000"
    assert out("amend by other bank")["status"] == 403
    assert out("amend")["payload"]["version"] == 2
    assert out("stolen hold")["payload"]["holds"][0]["kind"] == "stolen"
    assert out("transfer under hold")["status"] == 409
    assert "rule 'holds'" in out("transfer under hold")["message"]
    assert out("release by other bank")["status"] == 403
    assert out("release")["payload"]["status"] == "RELEASED"
    assert out("vehicle released")["payload"]["status"] == "REGISTERED"
    history = out("history")["payload"]
    assert isinstance(history, list) and len(history) >= 4
    assert {entry["tx_id"] for entry in history} <= set(t.tx_ids)
    assert out("lien history by dealer")["status"] == 403

    events = await events_of(ledger, t)
    names = [name for _, name in events]
    assert names == [
        "VehicleRegistered",
        "ModelVersionRegistered",
        "DocumentAnchored",
        "LienRequested",
        "ValuationRecorded",  # a bank values a vehicle only once it has requested a lien on it
        "LienRecorded",
        "DocumentAnchored",
        "TitleTransferred",
        "LienBalanceReported",
        "LienAmended",
        "DocumentAnchored",
        "HoldSet",
        "HoldLifted",
        "LienReleased",
    ]
    # resuming after a tx: the events that follow it, nothing before it
    resumed = await events_of(ledger, t, after_tx_id=t.tx_ids[events[2][0]])
    assert resumed == events[3:]
    status = await ledger.transaction_status(t.tx_ids[0])
    assert status is not None and status.validation_code == "VALID"
    assert status.block_number == t.first_block


@pytest.mark.fabric
async def test_backends_agree(
    make_ledger: Callable[[str], Awaitable[LedgerPort]],
    callers: dict[str, Caller],
    new_vin: Callable[[], str],
    run_id: str,
) -> None:
    """The same scenario, same ids, on both backends: identical transcripts (tx ids and times aside)."""
    vin = new_vin()
    run = f"{run_id}X"
    embedded_port = await make_ledger("embedded")
    embedded = await mortgage_lifecycle(embedded_port, callers, vin, run)
    fabric_ledger = await make_ledger("fabric")
    fabric = await mortgage_lifecycle(fabric_ledger, callers, vin, run, settle_for(fabric_ledger))
    for (name, mine), (_, theirs) in zip(embedded.normalized(), fabric.normalized(), strict=True):
        assert mine == theirs, f"step {name!r} differs: embedded {mine} vs fabric {theirs}"
    # the same transactions read, wrote, scanned and hashed the same keys on both
    embedded_ledger = embedded_port
    assert len(embedded.tx_ids) == len(fabric.tx_ids)
    for mine_tx, their_tx in zip(embedded.tx_ids, fabric.tx_ids, strict=True):
        mine = rwset_summary(await envelope_of(embedded_ledger, mine_tx))
        theirs = rwset_summary(await envelope_of(fabric_ledger, their_tx))
        assert mine == theirs, f"read-write sets differ:\nembedded {mine}\nfabric   {theirs}"
