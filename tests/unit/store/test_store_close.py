"""The off-chain store's SQLite connection is closed only once no statement runs on it: the notifier's
event recording runs on a worker thread that a stopping gateway does not wait for."""

from __future__ import annotations

import threading
from pathlib import Path

from app.store.database import SqliteDatabase


def test_close_waits_for_a_transaction_running_on_another_thread(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "s.sqlite")
    inside, release = threading.Event(), threading.Event()
    seen: list[object] = []

    def work() -> None:
        with db.transaction() as tx:
            inside.set()
            release.wait(10)
            seen.append(tx.one("SELECT 1"))

    worker = threading.Thread(target=work)
    worker.start()
    assert inside.wait(10)
    closer = threading.Thread(target=db.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive(), "close() returned while a transaction was still running"
    release.set()
    worker.join(10)
    closer.join(10)
    assert not closer.is_alive() and seen == [(1,)]
