"""Key history with tx ids and timestamps; chaincode events from a block or after a tx, and live."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import replace
from pathlib import Path

from app.ledger.embedded.ledger import ChaincodeSpec, EmbeddedLedger
from app.ledger.port import LedgerEvent, TransactionInvalidated

from .conftest import OFFICER
from .rwset_helpers import namespaces_written


async def test_history_newest_first_with_tx_ids_timestamps_and_deletes(ledger: EmbeddedLedger) -> None:
    first = await ledger.submit(OFFICER, "Put", ["h", "1"])
    second = await ledger.submit(OFFICER, "Put", ["h", "2"])
    gone = await ledger.submit(OFFICER, "Delete", ["h"])
    third = await ledger.submit(OFFICER, "Put", ["h", "3"])
    history = json.loads(await ledger.evaluate(OFFICER, "History", ["h"]))
    assert [entry["tx_id"] for entry in history] == [third.tx_id, gone.tx_id, second.tx_id, first.tx_id]
    assert [entry["value"] for entry in history] == ["3", "", "2", "1"]
    assert [entry["is_delete"] for entry in history] == [False, True, False, False]
    assert history[-1]["timestamp"] == first.timestamp.isoformat()  # the proposal's timestamp


async def test_invalid_transactions_leave_no_history(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["hv", "1"])
    stale = await ledger.endorse(OFFICER, "Increment", ["hv"])
    await ledger.submit(OFFICER, "Put", ["hv", "5"])
    with contextlib.suppress(Exception):
        await ledger.submit_prepared(stale)
    history = json.loads(await ledger.evaluate(OFFICER, "History", ["hv"]))
    assert [entry["value"] for entry in history] == ["5", "1"]


async def _take(ledger: EmbeddedLedger, count: int, **kwargs: object) -> list[LedgerEvent]:
    out: list[LedgerEvent] = []
    stream = ledger.chaincode_events(**kwargs)  # type: ignore[arg-type]
    async for event in stream:
        out.append(event)
        if len(out) == count:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return out


async def test_events_from_a_block_and_after_a_tx(ledger: EmbeddedLedger) -> None:
    results = [await ledger.submit(OFFICER, "Emit", [f"e{i}", f"Event{i}"]) for i in range(4)]
    events = await asyncio.wait_for(_take(ledger, 4, start_block=0), 5)
    assert [e.event_name for e in events] == ["Event0", "Event1", "Event2", "Event3"]
    assert [e.tx_id for e in events] == [r.tx_id for r in results]
    assert [e.block_number for e in events] == [r.block_number for r in results]
    assert all(e.chaincode_id == "ledgertest" for e in events)
    assert json.loads(events[2].payload) == {"key": "e2"}
    after = await asyncio.wait_for(_take(ledger, 2, after_tx_id=results[1].tx_id), 5)
    assert [e.event_name for e in after] == ["Event2", "Event3"]
    from_block = await asyncio.wait_for(_take(ledger, 2, start_block=results[2].block_number), 5)
    assert [e.event_name for e in from_block] == ["Event2", "Event3"]


async def test_live_stream_receives_new_events_and_skips_invalid_txs(ledger: EmbeddedLedger) -> None:
    waiting = asyncio.create_task(_take(ledger, 2))  # default: from the next block on
    await asyncio.sleep(0.1)
    await ledger.submit(OFFICER, "Put", ["unrelated", "x"])
    first = await ledger.submit(OFFICER, "Emit", ["live", "Live1"])
    with contextlib.suppress(TransactionInvalidated):  # one endorser is too few: never delivered
        await ledger.submit(OFFICER, "Emit", ["live", "Invalid"], endorsing_orgs=["BankAMSP"])
    second = await ledger.submit(OFFICER, "Emit", ["live", "Live2"])
    events = await asyncio.wait_for(waiting, 5)
    assert [e.event_name for e in events] == ["Live1", "Live2"]
    assert [e.tx_id for e in events] == [first.tx_id, second.tx_id]


async def test_chaincode_to_chaincode_writes_both_namespaces_and_one_event(
    tmp_path: Path, spec: ChaincodeSpec
) -> None:
    ledger = EmbeddedLedger(tmp_path / "two", chaincodes=[spec, replace(spec, name="other")])
    try:
        result = await ledger.submit(OFFICER, "EmitAndCall", ["other", "shared", "v"])
        assert result.payload == b"other"
        block = ledger.block(result.block_number)
        assert block is not None
        assert namespaces_written(block.data.data[0]) == ["ledgertest", "other"]
        events = await asyncio.wait_for(_take(ledger, 1, start_block=result.block_number), 5)
        assert [(e.event_name, e.chaincode_id) for e in events] == [("Called", "ledgertest")]
        assert ledger.verify(deep=True) == ledger.height()
    finally:
        await ledger.close()
