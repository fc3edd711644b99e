"""The read model's store: projected blocks go in atomically with their checkpoint.

The projector's checkpoint (the next block to read) is a row of the same database as the data and
is written in the same SQL transaction as the blocks it covers. A ``kill -9`` mid-block therefore
leaves either the whole batch with its checkpoint or neither: on restart the projector asks the peer
for the checkpointed block again and nothing is counted twice. Rows also carry the (block, tx) that
last changed them and an older change is never applied over a newer one, so replaying a block that is
already in is a no-op as well.

:class:`SqlStore` speaks DB-API with ``?`` placeholders and portable SQL (see ``schema.py``); the
SQLite store is :class:`app.readmodel.sqlite.SqliteStore`, the PostgreSQL one
:class:`app.readmodel.postgres.PostgresStore` (psycopg, ``paramstyle = "format"``).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Protocol

from .blocks import BlockSummary
from .prepare import Op, Prepared, prepare
from .projections import (
    ENCUMBERING,
    Row,
    contributions,
    ltv_bucket,
    money,
)
from .schema import DDL, SCHEMA_VERSION, TABLES

logger = logging.getLogger(__name__)

# columns of the old row needed to take its counters back out (and the (block, tx) guard)
OLD_COLUMNS: dict[str, tuple[str, ...]] = {
    "vehicles": ("status",),
    "liens": ("status", "recorded_at", "ended_at", "vin", "lienholder"),
    "alerts": ("severity", "acknowledged"),
    "valuations": ("vin",),
    "valuation_latest": ("vin",),
}
CHANGE_KINDS = {
    "vehicles": "vehicle",
    "liens": "lien",
    "valuations": "valuation",
    "insurance": "insurance",
    "documents": "document",
    "alerts": "alert",
    "config": "config",
}


class Connection(Protocol):
    def execute(self, sql: str, params: Any = ..., /) -> Any: ...


class ReadModelStore(Protocol):
    """What the projector, the queries and verify need from a store (SQLite now, PostgreSQL next)."""

    def next_block(self) -> int: ...
    def apply(self, blocks: Sequence[BlockSummary | Prepared]) -> None: ...
    def reset(self) -> None: ...
    def meta(self, name: str) -> str | None: ...
    def set_meta(self, name: str, value: str) -> None: ...
    def reading(self) -> Any: ...


class SqlStore:
    """Portable SQL over a DB-API connection (``?`` placeholders; ``format`` style rewrites them)."""

    paramstyle = "qmark"

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._sql_cache: dict[tuple[str, tuple[str, ...]], str] = {}
        self._ensure_schema()

    # --- plumbing ----------------------------------------------------------------------
    def q(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.paramstyle == "format" else sql

    def ddl(self) -> tuple[str, ...]:
        """The schema's statements in this store's dialect (the PostgreSQL store adjusts collation)."""
        return DDL

    def _ensure_schema(self) -> None:
        with self.transaction() as cur:
            for statement in self.ddl():
                cur.execute(statement)
            found = self._meta(cur, "schema_version")
            if found is None:
                self._set_meta(cur, "schema_version", str(SCHEMA_VERSION))
                self._set_meta(cur, "next_block", "0")
        if found is not None and found != str(SCHEMA_VERSION):
            logger.warning(
                "read model schema %s, code expects %s: rebuilding from block 0", found, SCHEMA_VERSION
            )
            with self.transaction() as cur:
                for table in TABLES:
                    cur.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in self.ddl():
                    cur.execute(statement)
                self._set_meta(cur, "schema_version", str(SCHEMA_VERSION))
                self._set_meta(cur, "next_block", "0")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction on the writer connection (committed whole or not at all)."""
        with self._lock:
            cur = self._writer.cursor()
            cur.execute("BEGIN")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def reading(self) -> Any:  # pragma: no cover - overridden by each store
        raise NotImplementedError

    def snapshot(self) -> Any:  # pragma: no cover - overridden by each store
        raise NotImplementedError

    def execute_raw(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """A statement outside the projector (operators' repairs; tests corrupting a row)."""
        with self.transaction() as cur:
            cur.execute(self.q(sql), params)

    def close(self, timeout: float = 30.0) -> None:  # pragma: no cover - overridden by each store
        raise NotImplementedError

    def _meta(self, cur: Any, name: str) -> str | None:
        row = cur.execute(self.q("SELECT value FROM meta WHERE name = ?"), (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, cur: Any, name: str, value: str) -> None:
        cur.execute(
            self.q(
                "INSERT INTO meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            (name, value),
        )

    def meta(self, name: str) -> str | None:
        with self.reading() as cur:
            return self._meta(cur, name)

    def set_meta(self, name: str, value: str) -> None:
        with self.transaction() as cur:
            self._set_meta(cur, name, value)

    def next_block(self) -> int:
        """The checkpoint: the first block not yet projected (= the height the model reflects)."""
        return int(self.meta("next_block") or 0)

    def reset(self) -> None:
        """Empty every table (rebuild from block 0 follows); the last verify result is kept."""
        with self.transaction() as cur:
            for table in TABLES:
                if table != "meta":
                    cur.execute(f"DELETE FROM {table}")
            self._set_meta(cur, "next_block", "0")

    # --- applying blocks ---------------------------------------------------------------
    def apply(self, blocks: Sequence[BlockSummary | Prepared]) -> None:
        """Project ``blocks`` (consecutive, starting at the checkpoint) and advance the checkpoint."""
        if not blocks:
            return
        with self.transaction() as cur:
            expected = int(self._meta(cur, "next_block") or 0)
            if blocks[0].number > expected:
                raise ValueError(f"block {blocks[0].number}: the read model is at {expected}, blocks missing")
            batch = _Batch(self, cur)
            for block in blocks:
                if block.number < expected:
                    continue  # already projected (a replay after a restart)
                batch.add(block if isinstance(block, Prepared) else prepare(block))
                expected = block.number + 1
            batch.finish()
            self._set_meta(cur, "next_block", str(expected))

    def upsert_sql(self, table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
        cached = self._sql_cache.get((table, columns))
        if cached is None:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
            cached = self.q(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
            )
            self._sql_cache[(table, columns)] = cached
        return cached


LOOKUP_COLUMN = {
    "vehicles": "vin",
    "liens": "lien_id",
    "valuations": "vin",
    "valuation_latest": "vin",
    "insurance": "record_id",
    "documents": "document_id",
    "alerts": "alert_id",
    "config": "name",
}
CHUNK = 400  # parameters per IN (...) list: well under SQLite's and PostgreSQL's limits
_DELETED = object()


class _Batch:
    """The changes of one apply() call, applied in bulk.

    Pass 1 parses every write; the rows they replace are read with a few ``IN (...)`` queries; pass 2
    walks the writes in chain order over an in-memory overlay (a later write in the batch sees an
    earlier one), computing counter deltas; then rows, changes and events go out with ``executemany``
    and the LTV of every vehicle whose liens or valuation moved is recomputed in bulk.
    """

    def __init__(self, store: SqlStore, cur: Any) -> None:
        self.store = store
        self.cur = cur
        self.q = store.q
        self.ops: list[Op] = []
        self.events: list[tuple[Any, ...]] = []
        self.quarantined: list[tuple[Any, ...]] = []
        self.deltas: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.dirty_vins: set[str] = set()

    def add(self, prepared: Prepared) -> None:
        self.ops.extend(prepared.ops)
        self.events.extend(prepared.events)
        self.quarantined.extend(prepared.quarantined)

    def _load_old(self) -> dict[tuple[str, tuple[str, ...]], Any]:
        wanted_keys: defaultdict[str, set[str]] = defaultdict(set)
        keys_of: dict[str, tuple[str, ...]] = {}
        for op in self.ops:
            keys_of[op.table] = op.keys
            wanted_keys[op.table].add(op.key_vals[op.keys.index(LOOKUP_COLUMN[op.table])])
        overlay: dict[tuple[str, tuple[str, ...]], Any] = {}
        for table, values in wanted_keys.items():
            keys = keys_of[table]
            cols = (*keys, "block_number", "tx_index", *OLD_COLUMNS.get(table, ()))
            ordered = sorted(values)
            for i in range(0, len(ordered), CHUNK):
                chunk = ordered[i : i + CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {LOOKUP_COLUMN[table]} IN ({marks})"
                for found in self.cur.execute(self.q(sql), chunk).fetchall():
                    row = dict(zip(cols, found, strict=True))
                    overlay[(table, tuple(str(row[k]) for k in keys))] = row
        return overlay

    def finish(self) -> None:
        overlay = self._load_old() if self.ops else {}
        final: dict[tuple[str, tuple[str, ...]], tuple[Op, Row | None]] = {}
        changes: list[tuple[Any, ...]] = []
        for op in self.ops:
            ident = (op.table, op.key_vals)
            old = overlay.get(ident)
            if old is _DELETED:
                old = None
            if old is not None and (old["block_number"], old["tx_index"]) >= (op.block, op.tx_index):
                continue  # this change (or a later one) is already in: a replay
            for name_bucket in contributions(op.table, old):
                self.deltas[name_bucket] -= 1
            if op.row is None:
                if old is None:
                    continue
                overlay[ident] = _DELETED
                final[ident] = (op, None)
            else:
                full = {**op.row, "block_number": op.block, "tx_index": op.tx_index, "tx_id": op.tx_id}
                full["doc"] = op.value or ""
                overlay[ident] = full
                final[ident] = (op, full)
                for name_bucket in contributions(op.table, op.row):
                    self.deltas[name_bucket] += 1
            source = op.row or old or {}
            vin = source.get("vin")
            if op.table in ("liens", "valuations", "valuation_latest") and vin:
                self.dirty_vins.add(str(vin))
            if op.table in CHANGE_KINDS:
                changes.append(
                    (
                        op.block,
                        op.tx_index,
                        op.seq,
                        op.tx_id,
                        CHANGE_KINDS[op.table],
                        "/".join(op.key_vals),
                        source.get("vin"),
                        source.get("lienholder"),
                        source.get("plate"),
                        source.get("owner_hash"),
                        source.get("status"),
                        op.at,
                        op.creator,
                        op.function,
                        1 if op.row is None else 0,
                    )
                )
        self._write(final)
        if changes:
            self.cur.executemany(
                self.q(
                    "INSERT INTO changes (block_number, tx_index, seq, tx_id, kind, record_id, vin, "
                    "lienholder, plate, owner_hash, status, at, creator_msp, function, is_delete) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                changes,
            )
        if self.events:
            self.cur.executemany(
                self.q(
                    "INSERT INTO events (block_number, tx_index, tx_id, name, vin, lien_id, at, payload) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                self.events,
            )
        if self.quarantined:
            self.cur.executemany(
                self.q(
                    "INSERT INTO quarantine (block_number, tx_index, record_key, tx_id, reason, value) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                self.quarantined,
            )
        self._recompute_ltv(sorted(self.dirty_vins))
        rows = [(name, bucket, n) for (name, bucket), n in self.deltas.items() if n]
        if rows:
            self.cur.executemany(
                self.q(
                    "INSERT INTO counters (name, bucket, n) VALUES (?, ?, ?) "
                    "ON CONFLICT (name, bucket) DO UPDATE SET n = counters.n + excluded.n"
                ),
                rows,
            )

    def _write(self, final: dict[tuple[str, tuple[str, ...]], tuple[Op, Row | None]]) -> None:
        upserts: defaultdict[tuple[str, tuple[str, ...], tuple[str, ...]], list[tuple[Any, ...]]] = (
            defaultdict(list)
        )
        deletes: defaultdict[tuple[str, tuple[str, ...]], list[tuple[str, ...]]] = defaultdict(list)
        for (table, key_vals), (op, full) in final.items():
            if full is None:
                deletes[(table, op.keys)].append(key_vals)
            else:
                upserts[(table, tuple(full), op.keys)].append(tuple(full.values()))
        for (table, columns, keys), params in upserts.items():
            self.cur.executemany(self.store.upsert_sql(table, columns, keys), params)
        for (table, keys), key_rows in deletes.items():
            where = " AND ".join(f"{k} = ?" for k in keys)
            self.cur.executemany(self.q(f"DELETE FROM {table} WHERE {where}"), key_rows)

    def _recompute_ltv(self, vins: list[str]) -> None:
        for i in range(0, len(vins), CHUNK):
            chunk = vins[i : i + CHUNK]
            rows = ltv_rows(self.cur, self.q, chunk)
            marks = ", ".join("?" * len(chunk))
            for _vin, bucket in self.cur.execute(
                self.q(f"SELECT vin, bucket FROM vehicle_ltv WHERE vin IN ({marks})"), chunk
            ).fetchall():
                if bucket:
                    self.deltas[("ltv_bucket", bucket)] -= 1
            self.cur.executemany(
                self.store.upsert_sql(
                    "vehicle_ltv", ("vin", "secured_total", "value", "ltv", "bucket"), ("vin",)
                ),
                [(r["vin"], r["secured_total"], r["value"], r["ltv"], r["bucket"]) for r in rows],
            )
            for r in rows:
                if r["bucket"]:
                    self.deltas[("ltv_bucket", r["bucket"])] += 1


def ltv_rows(cur: Any, q: Any, vins: list[str]) -> list[Row]:
    """Each vehicle's LTV as the dashboard counts it: encumbering liens over the latest valuation."""
    marks = ", ".join("?" * len(vins))
    states = ", ".join("?" * len(ENCUMBERING))
    secured: dict[str, Decimal] = {}
    for vin, amount in cur.execute(
        q(f"SELECT vin, secured_amount FROM liens WHERE vin IN ({marks}) AND status IN ({states})"),
        (*vins, *ENCUMBERING),
    ).fetchall():
        secured[vin] = secured.get(vin, Decimal(0)) + Decimal(amount)
    values: dict[str, Decimal | None] = {}
    for vin, value in cur.execute(
        q(
            "SELECT l.vin, v.value FROM valuation_latest l JOIN valuations v "
            f"ON v.vin = l.vin AND v.valuation_id = l.valuation_id WHERE l.vin IN ({marks})"
        ),
        vins,
    ).fetchall():
        values[vin] = money(value)
    out = []
    for vin in vins:
        total = secured.get(vin)
        value = values.get(vin)
        ltv = (total / value * 100) if (value and total is not None) else None
        out.append(
            {
                "vin": vin,
                "secured_total": str(total or Decimal(0)),
                "value": None if value is None else str(value),
                "ltv": None if ltv is None else f"{ltv:.4f}",
                "bucket": None if ltv is None else ltv_bucket(ltv),
            }
        )
    return out


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def iterate(cur: Any, sql: str, params: Iterable[Any] = (), size: int = 1000) -> Iterator[tuple[Any, ...]]:
    """Rows of a query fetched ``size`` at a time (constant memory for exports)."""
    cur.execute(sql, tuple(params))
    while True:
        rows = cur.fetchmany(size)
        if not rows:
            return
        yield from rows
