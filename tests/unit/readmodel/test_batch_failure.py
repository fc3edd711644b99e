"""A batch that fails inside the writer transaction (an exception mid-batch, on either store) leaves the
checkpoint and the rows of the previous batch, and nothing of its own: the next run counts once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from app.readmodel import store as store_module
from app.readmodel.projector import Projector
from app.readmodel.queries import dashboard
from app.readmodel.sources import EmbeddedBlockSource
from app.readmodel.verify import VerifyReport, _verify_counters
from tests.unit.readmodel.conftest import LIENS, RELEASED, VEHICLES, StoreFactory


class Boom(RuntimeError):
    pass


def test_exception_mid_batch_keeps_the_previous_batch(
    big_stream, stores: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    ledger_file, expected, height = big_stream
    store = stores.open()
    original = store_module._Batch.finish
    checkpoints: list[int] = []

    def finish(self: store_module._Batch) -> None:
        original(self)  # the rows and counters of this batch are written, uncommitted
        if len(checkpoints) == 2:
            raise Boom("the third batch fails before its commit")
        checkpoints.append(-1)

    monkeypatch.setattr(store_module._Batch, "finish", finish)
    projector = Projector(store, EmbeddedBlockSource(ledger_file), batch_txs=1000)
    with pytest.raises(Boom):
        asyncio.run(projector.catch_up())
    at_failure = store.next_block()
    assert 0 < at_failure < height  # two batches in, the third rolled back
    with store.reading() as cur:
        last = cur.execute("SELECT MAX(block_number) FROM changes").fetchone()[0]
        events = cur.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert last == at_failure - 1  # the previous batch's rows are there, none of the failed one's
    assert 0 < events < expected.transactions

    monkeypatch.setattr(store_module._Batch, "finish", original)
    asyncio.run(Projector(store, EmbeddedBlockSource(ledger_file)).catch_up())
    board = dashboard(store)
    assert board["block_height"] == height
    assert dict(board["counts"])["REGISTERED"] == VEHICLES - LIENS + RELEASED
    assert board["total_vehicles"] == VEHICLES and board["total_liens"] == LIENS
    with store.reading() as cur:
        assert cur.execute("SELECT COUNT(*) FROM events").fetchone()[0] == expected.transactions
        report = VerifyReport(mode="full", block_height=height)
        _verify_counters(cur, store, report)
    assert report.ok, report.drift[:3]
    store.close()


def test_postgresql_writer_reconnects_after_its_connection_dies(postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The server ended the projector's connection (a restart): the batch then failing writes nothing,
    the next one runs on a new connection."""
    store = StoreFactory("postgresql", tmp_path, postgres).open()
    try:
        store.set_meta("probe", "1")
        with store.reading() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
        with pytest.raises(psycopg.OperationalError):
            store.set_meta("probe", "2")  # the batch in flight fails: nothing written
        store.set_meta("probe", "3")
        assert store.meta("probe") == "3"
    finally:
        store.close()
