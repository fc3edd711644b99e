"""The PostgreSQL read-model store (production): the same tables and SQL as SQLite, through psycopg 3.

One writer connection (the projector: each batch and its checkpoint in one transaction, serialised
across the org's gateway replicas by an advisory lock, so two projectors on one database never count
a block twice) and a pool of readers: each answer reads in one ``REPEATABLE READ READ ONLY``
transaction, one snapshot of the data and of the checkpoint, while the projector keeps writing. A CSV
export reads on its own connection through a server-side cursor (constant memory).

Text columns are ``COLLATE "C"``: byte order, as SQLite compares, so range scans and page cursors
behave the same on both stores whatever the database's locale. The connection string carries no
password (libpq's ``PGPASSWORD`` / ``PGPASSFILE``, or ``password`` given apart and never logged).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from app.store.database import StoreUnavailable

from .store import SqlStore

WRITER_LOCK = 0x6D6C_7264  # pg_advisory_xact_lock key of the read model's writer ("mlrd")
READ_TX = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class PostgresStore(SqlStore):
    """The read model in one PostgreSQL database (``postgresql://user@host:port/db``)."""

    paramstyle = "format"

    def __init__(
        self, conninfo: str, *, password: str | None = None, pool_size: int = 4, connect_timeout: int = 5
    ) -> None:
        self._kwargs: dict[str, Any] = {"connect_timeout": connect_timeout, "autocommit": True}
        if password is not None:
            self._kwargs["password"] = password
        self._conninfo = conninfo
        self._local = threading.local()
        self._gate = threading.Condition()
        self._active = 0  # read transactions running now, on any thread
        self._closed = False
        try:
            writer = psycopg.connect(conninfo, **self._kwargs)
        except psycopg.OperationalError as exc:  # the gateway starts; its reports answer 503
            raise StoreUnavailable("the read model's PostgreSQL is unreachable") from exc
        self._pool = ConnectionPool(
            conninfo,
            kwargs=self._kwargs,
            min_size=1,
            max_size=pool_size,
            open=False,
            check=ConnectionPool.check_connection,
            name="mledger-readmodel",
        )
        self._pool.open(wait=False)
        super().__init__(writer)

    def ddl(self) -> tuple[str, ...]:
        return tuple(s.replace(" TEXT", ' TEXT COLLATE "C"') for s in super().ddl())

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction; a writer connection lost with the server (a restart, a failover)
        is replaced first, so the projector's back-off resumes without a gateway restart."""
        if self._writer.closed or self._writer.broken:
            self._writer = psycopg.connect(self._conninfo, **self._kwargs)
        with super().transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            yield cur

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor inside one read-only snapshot; a read nested in it (same thread) shares it."""
        current = getattr(self._local, "cur", None)
        if current is not None:
            yield current
            return
        with self._gate:
            if self._closed:
                raise psycopg.InterfaceError("the read model store is closed")
            self._active += 1
        try:
            with self._pool.connection() as conn:
                cur = conn.cursor()
                cur.execute(READ_TX)
                self._local.cur = cur
                try:
                    yield cur
                finally:
                    self._local.cur = None
                    conn.execute("ROLLBACK")  # read-only: nothing to keep
        finally:
            with self._gate:
                self._active -= 1
                self._gate.notify_all()

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A server-side cursor on its own connection and snapshot, for a long stream (a CSV export)
        consumed on other threads while other answers are read: rows come ``fetchmany`` at a time."""
        with psycopg.connect(self._conninfo, **self._kwargs) as conn:
            conn.execute(READ_TX)
            cur = conn.cursor(name=f"export_{uuid.uuid4().hex[:8]}")
            try:
                yield cur
            finally:
                cur.close()
                conn.execute("ROLLBACK")

    def close(self, timeout: float = 30.0) -> None:
        """Close once no read is running (as the SQLite store does); later reads are refused."""
        with self._gate:
            self._closed = True
            self._gate.wait_for(lambda: self._active == 0, timeout=timeout)
        self._pool.close()
        with self._lock:  # once the projector's write (on a worker thread) has finished
            self._writer.close()
