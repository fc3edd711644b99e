"""MVCC: stale reads and phantom range reads are invalidated at commit, as on a Fabric peer."""

from __future__ import annotations

import asyncio

import pytest

from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.port import TransactionInvalidated

from .conftest import OFFICER


async def test_concurrent_increments_one_valid_rest_mvcc_conflict(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["counter", "10"])
    prepared = [await ledger.endorse(OFFICER, "Increment", ["counter"]) for _ in range(5)]
    results = await asyncio.gather(*(ledger.submit_prepared(p) for p in prepared), return_exceptions=True)
    valid = [r for r in results if not isinstance(r, BaseException)]
    invalid = [r for r in results if isinstance(r, TransactionInvalidated)]
    assert len(valid) == 1 and len(invalid) == 4
    assert {e.validation_code for e in invalid} == {"MVCC_READ_CONFLICT"}
    assert await ledger.evaluate(OFFICER, "Get", ["counter"]) == b"11"
    for err in invalid:
        status = await ledger.transaction_status(err.tx_id)
        assert status is not None and status.validation_code == "MVCC_READ_CONFLICT"
        assert "failed to commit with status code 11 (MVCC_READ_CONFLICT)" in err.message


async def test_unprepared_concurrent_submits_never_lose_an_update(ledger: EmbeddedLedger) -> None:
    results = await asyncio.gather(
        *(ledger.submit(OFFICER, "Increment", ["n"]) for _ in range(8)), return_exceptions=True
    )
    valid = [r for r in results if not isinstance(r, BaseException)]
    assert all(isinstance(r, TransactionInvalidated) for r in results if isinstance(r, BaseException))
    assert await ledger.evaluate(OFFICER, "Get", ["n"]) == str(len(valid)).encode()


async def test_read_of_deleted_key_conflicts(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["gone", "1"])
    stale = await ledger.endorse(OFFICER, "Increment", ["gone"])
    await ledger.submit(OFFICER, "Delete", ["gone"])
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit_prepared(stale)
    assert info.value.validation_code == "MVCC_READ_CONFLICT"


async def test_phantom_insert_into_a_read_range(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["r1", "a"])
    await ledger.submit(OFFICER, "Put", ["r3", "b"])
    counting = await ledger.endorse(OFFICER, "CountRange", ["r0", "r9", "count"])
    assert counting.result == b"2"
    await ledger.submit(OFFICER, "Put", ["r2", "new"])  # a key appears inside the range
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit_prepared(counting)
    assert info.value.validation_code == "PHANTOM_READ_CONFLICT"
    with pytest.raises(Exception, match="not found"):
        await ledger.evaluate(OFFICER, "Get", ["count"])


async def test_phantom_within_one_block(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["p1", "a"])
    insert = await ledger.endorse(OFFICER, "Put", ["p5", "x"])
    counting = await ledger.endorse(OFFICER, "CountRange", ["p0", "p9", "pcount"])
    # queued back to back: the committer cuts them into one block, insert first
    results = await asyncio.gather(
        ledger.submit_prepared(insert), ledger.submit_prepared(counting), return_exceptions=True
    )
    assert not isinstance(results[0], BaseException)
    assert isinstance(results[1], TransactionInvalidated)
    assert results[1].validation_code == "PHANTOM_READ_CONFLICT"


async def test_range_outside_writes_do_not_conflict(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["q1", "a"])
    counting = await ledger.endorse(OFFICER, "CountRange", ["q0", "q5", "qcount"])
    await ledger.submit(OFFICER, "Put", ["q7", "outside"])
    result = await ledger.submit_prepared(counting)
    assert result.validation_code == "VALID" and result.payload == b"1"


async def test_update_of_a_key_in_the_range_is_a_phantom(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "Put", ["s1", "a"])
    counting = await ledger.endorse(OFFICER, "CountRange", ["s0", "s9", "scount"])
    await ledger.submit(OFFICER, "Put", ["s1", "changed"])  # same key, new version
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit_prepared(counting)
    assert info.value.validation_code == "PHANTOM_READ_CONFLICT"
