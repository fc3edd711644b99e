"""The SQLite read-model store (the embedded default, and the stand-in until PostgreSQL lands).

One writer connection (the projector) and one read connection per thread (queries): in WAL mode
readers see a consistent snapshot — the data and the checkpoint of one committed batch — while the
projector keeps writing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .store import SqlStore


def _connect(path: Path, cache_mib: int = 64) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "PRAGMA synchronous=NORMAL"
    )  # WAL + NORMAL: a crash loses at most the last batch, never tears one
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
    return conn


class SqliteStore(SqlStore):
    """The read model in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._active = 0  # read transactions running now, on any thread
        self._idle = threading.Condition(self._readers_lock)
        self._closed = False
        super().__init__(_connect(self.path, cache_mib=256))  # the writer: index pages of a registry stay hot

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor inside one read transaction: everything it reads is of the same checkpoint."""
        if self._closed:
            raise sqlite3.ProgrammingError("the read model store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        cur = conn.cursor()
        if conn.in_transaction:  # nested in an answer already being read: same snapshot
            yield cur
            return
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the read model store is closed")
            self._active += 1
        try:
            cur.execute("BEGIN")
            try:
                yield cur
            finally:
                cur.execute("COMMIT")
        finally:
            with self._readers_lock:
                self._active -= 1
                self._idle.notify_all()

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A cursor on its own connection and read transaction, for a long stream (a CSV export) that
        may be consumed on other threads while other answers are read."""
        conn = _connect(self.path)
        cur = conn.cursor()
        cur.execute("BEGIN")
        try:
            yield cur
        finally:
            cur.execute("COMMIT")
            conn.close()

    def close(self, timeout: float = 30.0) -> None:
        """Close every connection once no read is running: a read left running on a worker thread
        (a cancelled request, a background refresh) must not have its connection closed under it,
        which SQLite does not survive."""
        with self._readers_lock:
            self._closed = True
            self._idle.wait_for(lambda: self._active == 0, timeout=timeout)
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._lock:  # and once the projector's write (on a worker thread) has finished
            self._writer.close()
