"""Closing the read model while a read runs on a worker thread (an SLI refresh, a cancelled request)
waits for that read: SQLite does not survive a connection closed under a running statement (it crashed
the whole process in a unit run)."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest

from tests.unit.readmodel.conftest import StoreFactory


def test_close_waits_for_a_read_running_on_another_thread(stores: StoreFactory) -> None:
    store = stores.open()
    inside, release = threading.Event(), threading.Event()
    seen: list[object] = []

    def reader() -> None:
        with store.reading() as cur:
            inside.set()
            release.wait(10)
            seen.append(cur.execute("SELECT count(*) FROM meta").fetchone()[0])

    worker = threading.Thread(target=reader)
    worker.start()
    assert inside.wait(10)
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive(), "close() returned while a read was still running"
    release.set()
    worker.join(10)
    closer.join(10)
    assert not closer.is_alive() and seen and isinstance(seen[0], int)


def test_a_read_after_close_is_refused(stores: StoreFactory) -> None:
    store = stores.open()
    store.close()
    refused = sqlite3.ProgrammingError if stores.backend == "sqlite" else psycopg.InterfaceError
    with pytest.raises(refused, match="closed"), store.reading():
        pass


def test_close_waits_for_a_write_running_on_another_thread(stores: StoreFactory) -> None:
    """The projector's flush runs on a worker thread; a gateway stopping cancels the task awaiting it,
    not the thread (CI: a segfault in `ltv_rows` under `apply` after the read model was closed)."""
    store = stores.open()
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as cur:
            inside.set()
            release.wait(10)
            cur.execute("SELECT count(*) FROM meta")

    worker = threading.Thread(target=writer)
    worker.start()
    assert inside.wait(10)
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive(), "close() returned while a write was still running"
    release.set()
    worker.join(10)
    closer.join(10)
    assert not closer.is_alive()
