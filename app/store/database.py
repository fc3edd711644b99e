"""The off-chain store's connection: one SQL database, SQLite (embedded default) or PostgreSQL.

The gateway's off-chain state (users, API keys, revoked tokens, idempotency records, login failure
counters, QR payloads) lives in tables written through this class, so the same store code runs on
both backends: statements use ``?`` placeholders and the SQL both dialects share
(``INSERT ... ON CONFLICT``, ``IS NOT DISTINCT FROM``); each statement group runs in one transaction.

A database that cannot be reached raises :class:`StoreUnavailable` (the API answers 503 with
Retry-After); the PostgreSQL pool reconnects on its own when the server is back, so the gateway
recovers without a restart. Nothing here logs a password: the connection string handed to psycopg
never carries one (it comes from the environment or a file, see :mod:`app.store.config`).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from app.data_files import secure_file

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
Params = Sequence[Any]


class StoreError(RuntimeError):
    """The off-chain store failed."""


class StoreUnavailable(StoreError):
    """The store's database cannot be reached now (retry later: nothing was written)."""

    retry_after = 5


class Conflict(StoreError):
    """A unique key is already taken."""


class Tx(Protocol):
    """One transaction: statements run in order and commit together (or not at all)."""

    def execute(self, sql: str, params: Params = ()) -> int: ...  # rows changed
    def all(self, sql: str, params: Params = ()) -> list[Row]: ...
    def one(self, sql: str, params: Params = ()) -> Row | None: ...


class Database(Protocol):
    dialect: str  # "sqlite" | "postgresql"

    def transaction(self, *, lock: str | None = None) -> contextlib.AbstractContextManager[Tx]: ...
    def reading(self) -> contextlib.AbstractContextManager[Tx]: ...
    def close(self) -> None: ...


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self._conn.execute(sql, tuple(params)).fetchall())

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row = self._conn.execute(sql, tuple(params)).fetchone()
        return tuple(row) if row is not None else None


class SqliteDatabase:
    """One SQLite file (WAL, synchronous=FULL), 0600; one writer at a time (``BEGIN IMMEDIATE``)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        secure_file(path)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def transaction(self, *, lock: str | None = None) -> Iterator[Tx]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # locked by another process past the timeout
                raise StoreUnavailable(f"the off-chain store is busy: {exc}") from exc
            try:
                yield _SqliteTx(self._conn)
            except sqlite3.IntegrityError as exc:
                self._conn.execute("ROLLBACK")
                raise Conflict(str(exc)) from exc
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def reading(self) -> Iterator[Tx]:
        """Statements that only read, on one snapshot: a deferred transaction takes no write lock, so a
        read on every request (a token's revocation, a user) neither waits for nor blocks the writers."""
        with self._lock:
            self._conn.execute("BEGIN DEFERRED")
            try:
                yield _SqliteTx(self._conn)
            finally:
                self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """One statement on its own (autocommit), for maintenance tools and tests."""
        with self._lock:
            return self._conn.execute(sql, tuple(params))

    def close(self) -> None:
        """Close once no statement runs: one running on a worker thread (a cancelled request's, a
        background loop's) must not have its connection closed under it, which SQLite does not survive."""
        with self._lock:
            self._conn.close()


class _PostgresTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _run(self, sql: str, params: Params) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), tuple(params))

    def execute(self, sql: str, params: Params = ()) -> int:
        return int(self._run(sql, params).rowcount)

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return [tuple(r) for r in self._run(sql, params).fetchall()]

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row = self._run(sql, params).fetchone()
        return tuple(row) if row is not None else None


class PostgresDatabase:
    """A psycopg 3 connection pool. ``conninfo`` carries no password (libpq reads ``PGPASSWORD`` /
    ``PGPASSFILE``, or ``password`` is passed separately and never logged)."""

    dialect = "postgresql"

    def __init__(
        self,
        conninfo: str,
        *,
        password: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
    ) -> None:
        from psycopg_pool import ConnectionPool

        kwargs: dict[str, Any] = {"connect_timeout": max(1, int(connect_timeout))}
        if password is not None:
            kwargs["password"] = password
        self._timeout = connect_timeout
        self._pool = ConnectionPool(
            conninfo,
            kwargs=kwargs,
            min_size=min_size,
            max_size=max_size,
            open=False,
            check=ConnectionPool.check_connection,  # a connection dropped while PostgreSQL was down
            reconnect_timeout=3600.0,
            name="mledger-store",
        )
        self._pool.open(wait=False)

    @contextlib.contextmanager
    def transaction(self, *, lock: str | None = None) -> Iterator[Tx]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection(timeout=self._timeout) as conn, conn.transaction():
                if lock is not None:  # serialise this key's writers across every gateway replica
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
                yield _PostgresTx(conn)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(str(exc.diag.constraint_name or "unique key")) from exc
        except (PoolTimeout, psycopg.OperationalError) as exc:
            log.warning("store unavailable: %s", type(exc).__name__)
            raise StoreUnavailable("the off-chain store (PostgreSQL) is unreachable") from exc

    def reading(self) -> contextlib.AbstractContextManager[Tx]:
        """Reads run in an ordinary transaction (PostgreSQL's readers never block its writers)."""
        return self.transaction()

    def close(self) -> None:
        self._pool.close()
