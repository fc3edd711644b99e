"""The SQLite files of the embedded ledger: blocks, world state, private data, history, events.

One database in WAL mode. A block and everything derived from it (state, hashed and private state,
history, events, tx index) is written in ONE SQLite transaction with ``synchronous=FULL``, so a
crash (even ``kill -9``) leaves either the whole block or none of it. Keys are stored as BLOBs of
their UTF-8 bytes so ordering is byte-wise, as in Fabric's LevelDB state database.

Readers get a :class:`StateView` over a read transaction: a consistent snapshot while the committer
keeps writing (WAL readers never block the writer).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

Version = tuple[int, int]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, header_hash BLOB NOT NULL, previous_hash BLOB NOT NULL,
    data_hash BLOB NOT NULL, block BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    tx_id TEXT PRIMARY KEY, block_number INTEGER NOT NULL, tx_num INTEGER NOT NULL,
    validation_code INTEGER NOT NULL, timestamp_us INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS state (
    ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, block_num INTEGER NOT NULL,
    tx_num INTEGER NOT NULL, metadata BLOB, PRIMARY KEY (ns, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hashed_state (
    ns TEXT NOT NULL, coll TEXT NOT NULL, key_hash BLOB NOT NULL, value_hash BLOB NOT NULL,
    block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL, metadata BLOB,
    PRIMARY KEY (ns, coll, key_hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pvt_state (
    ns TEXT NOT NULL, coll TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
    block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL, PRIMARY KEY (ns, coll, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pvt_rwsets (
    block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL, rwset BLOB NOT NULL,
    PRIMARY KEY (block_num, tx_num));
CREATE TABLE IF NOT EXISTS history (
    ns TEXT NOT NULL, key BLOB NOT NULL, block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL,
    tx_id TEXT NOT NULL, timestamp_us INTEGER NOT NULL, value BLOB NOT NULL, is_delete INTEGER NOT NULL,
    PRIMARY KEY (ns, key, block_num, tx_num)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    block_num INTEGER NOT NULL, tx_num INTEGER NOT NULL, tx_id TEXT NOT NULL, chaincode_id TEXT NOT NULL,
    name TEXT NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (block_num, tx_num));
"""


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL and full sync."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def init_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


@dataclass(frozen=True, slots=True)
class VersionedValue:
    value: bytes
    version: Version
    metadata: bytes | None = None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    tx_id: str
    timestamp_us: int
    value: bytes
    is_delete: bool
    block_num: int
    tx_num: int


class StateView:
    """Committed state as of one moment, read through one connection (inside a read transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    # public state ---------------------------------------------------------------------
    def get_state(self, ns: str, key: str) -> VersionedValue | None:
        row = self._conn.execute(
            "SELECT value, block_num, tx_num, metadata FROM state WHERE ns=? AND key=?", (ns, key.encode())
        ).fetchone()
        return VersionedValue(row[0], (row[1], row[2]), row[3]) if row else None

    def scan_state(self, ns: str, start_key: str, end_key: str) -> Iterator[tuple[str, VersionedValue]]:
        """Keys in [start_key, end_key) in byte order (empty end = to the last key), fetched lazily."""
        yield from _scan(
            self._conn,
            "SELECT key, value, block_num, tx_num, metadata FROM state WHERE ns=? AND key>? AND key<? "
            "ORDER BY key LIMIT 128",
            "SELECT key, value, block_num, tx_num, metadata FROM state WHERE ns=? AND key>? "
            "ORDER BY key LIMIT 128",
            (ns,),
            start_key,
            end_key,
        )

    def history(self, ns: str, key: str) -> list[HistoryRow]:
        """Every committed change of a key, newest first (as Fabric's history query returns them)."""
        rows = self._conn.execute(
            "SELECT tx_id, timestamp_us, value, is_delete, block_num, tx_num FROM history "
            "WHERE ns=? AND key=? ORDER BY block_num DESC, tx_num DESC",
            (ns, key.encode()),
        ).fetchall()
        return [HistoryRow(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]

    # private data ---------------------------------------------------------------------
    def get_private(self, ns: str, coll: str, key: str) -> VersionedValue | None:
        row = self._conn.execute(
            "SELECT value, block_num, tx_num FROM pvt_state WHERE ns=? AND coll=? AND key=?",
            (ns, coll, key.encode()),
        ).fetchone()
        return VersionedValue(row[0], (row[1], row[2])) if row else None

    def get_private_hash(self, ns: str, coll: str, key_hash: bytes) -> VersionedValue | None:
        row = self._conn.execute(
            "SELECT value_hash, block_num, tx_num, metadata FROM hashed_state "
            "WHERE ns=? AND coll=? AND key_hash=?",
            (ns, coll, key_hash),
        ).fetchone()
        return VersionedValue(row[0], (row[1], row[2]), row[3]) if row else None

    def scan_private(
        self, ns: str, coll: str, start_key: str, end_key: str
    ) -> Iterator[tuple[str, VersionedValue]]:
        yield from _scan(
            self._conn,
            "SELECT key, value, block_num, tx_num, NULL FROM pvt_state WHERE ns=? AND coll=? AND key>? "
            "AND key<? ORDER BY key LIMIT 128",
            "SELECT key, value, block_num, tx_num, NULL FROM pvt_state WHERE ns=? AND coll=? AND key>? "
            "ORDER BY key LIMIT 128",
            (ns, coll),
            start_key,
            end_key,
        )

    # chain ----------------------------------------------------------------------------
    def height(self) -> int:
        row = self._conn.execute("SELECT MAX(number) FROM blocks").fetchone()
        return 0 if row[0] is None else row[0] + 1


def _scan(
    conn: sqlite3.Connection,
    bounded_sql: str,
    open_sql: str,
    prefix: tuple[object, ...],
    start_key: str,
    end_key: str,
) -> Iterator[tuple[str, VersionedValue]]:
    start = start_key.encode()
    end = end_key.encode()
    # first page includes start_key itself: ">" with the key just below it is awkward for blobs,
    # so fetch it explicitly with ">=" once, then page with ">".
    first = True
    last = start
    while True:
        if first:
            sql = bounded_sql.replace("key>?", "key>=?", 1) if end else open_sql.replace("key>?", "key>=?", 1)
            first = False
        else:
            sql = bounded_sql if end else open_sql
        params = (*prefix, last, end) if end else (*prefix, last)
        rows = conn.execute(sql, params).fetchall()
        for row in rows:
            yield row[0].decode(), VersionedValue(row[1], (row[2], row[3]), row[4])
        if len(rows) < 128:
            return
        last = rows[-1][0]
