"""Check the read model against world state: every key, or a random sample with a confidence figure.

World state is the source of truth. Each record the ledger holds is projected again with the same
versioned projection and compared column by column (and its JSON) with the stored row; rows the ledger
does not hold, rows missing from the model, and the exact counters (recounted from the rows) are
checked too. Keys the ledger changed at or after the model's height are reported as *pending*, not
as drift: the model is behind there, not wrong.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .blocks import composite_key
from .projections import RECORD_TYPES, RecordType, Unprojectable, contributions, key_values
from .store import CHUNK, SqlStore, ltv_rows

VERIFIED_TYPES = ("VEHICLE", "LIEN", "VALUATION", "VALLATEST", "POLICY", "CLAIM", "DOC", "ALERT", "CONFIG")
CONFIDENCE = 0.95


@dataclass(frozen=True)
class StateRecord:
    attrs: list[str]
    value: bytes
    block: int | None  # the block that last wrote it, when the source knows


class WorldState(Protocol):
    """Read access to the chaincode's world state (the embedded ledger's state table, or a peer)."""

    types: tuple[str, ...]

    def records(self, object_type: str) -> AsyncIterator[StateRecord]: ...
    async def record(self, object_type: str, attrs: list[str]) -> StateRecord | None: ...


class EmbeddedWorldState:
    """The embedded ledger's committed state, read-only (the ledger may be open elsewhere)."""

    types: tuple[str, ...] = VERIFIED_TYPES

    def __init__(self, ledger_file: str | Path, namespace: str = "mortgage") -> None:
        path = Path(ledger_file)
        self.path = path / "ledger.sqlite" if path.is_dir() else path
        self.ns = namespace
        self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)

    async def records(self, object_type: str) -> AsyncIterator[StateRecord]:
        low = composite_key(object_type)[:-1].encode() + b"\x00"
        high = composite_key(object_type)[:-1].encode() + b"\x01"
        last, op = low, ">="
        while True:
            rows = self._conn.execute(
                f"SELECT key, value, block_num FROM state WHERE ns = ? AND key {op} ? AND key < ? "
                "ORDER BY key LIMIT 1000",
                (self.ns, last, high),
            ).fetchall()
            op = ">"
            for key, value, block in rows:
                parts = key.decode()[1:-1].split("\x00")
                yield StateRecord(parts[1:], bytes(value), int(block))
            if len(rows) < 1000:
                return
            last = rows[-1][0]

    async def record(self, object_type: str, attrs: list[str]) -> StateRecord | None:
        row = self._conn.execute(
            "SELECT value, block_num FROM state WHERE ns = ? AND key = ?",
            (self.ns, composite_key(object_type, *attrs).encode()),
        ).fetchone()
        return None if row is None else StateRecord(attrs, bytes(row[0]), int(row[1]))

    def close(self) -> None:
        self._conn.close()


@dataclass
class Drift:
    kind: str  # the table
    record: str  # its key
    problem: str  # missing_in_model | missing_in_ledger | different | counter
    detail: str


@dataclass
class VerifyReport:
    mode: str  # full | sample
    block_height: int
    checked: int = 0
    population: int = 0
    pending: int = 0
    drift: list[Drift] = field(default_factory=list)
    seconds: float = 0.0
    finished_at: float = 0.0
    confidence: str = ""

    @property
    def ok(self) -> bool:
        return not self.drift

    def to_json(self) -> str:
        data = asdict(self)
        data["ok"] = self.ok
        data["drift"] = data["drift"][:100]
        data["drift_count"] = len(self.drift)
        return json.dumps(data, separators=(",", ":"))


def _stored(
    cur: Any, store: SqlStore, record_type: RecordType, key_vals: tuple[str, ...]
) -> dict[str, Any] | None:
    where = " AND ".join(f"{k} = ?" for k in record_type.key_columns)
    cur.execute(store.q(f"SELECT * FROM {record_type.table} WHERE {where}"), key_vals)
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def _compare(record_type: RecordType, state: StateRecord, stored: dict[str, Any] | None) -> str | None:
    """None when the stored row is what projecting the ledger's value gives; else what differs."""
    try:
        expected = record_type.project(json.loads(state.value), state.attrs)
    except (Unprojectable, ValueError):
        return None if stored is None else "the ledger's record is unprojectable but the model has a row"
    if stored is None:
        return "missing"
    for column, value in expected.items():
        if _norm(stored.get(column)) != _norm(value):
            return f"{column}: model {stored.get(column)!r}, ledger {value!r}"
    doc, ledger_doc = json.loads(stored["doc"]), json.loads(state.value)
    changed = (
        sorted(k for k, v in ledger_doc.items() if doc.get(k) != v) if isinstance(ledger_doc, dict) else []
    )
    if changed or (not isinstance(ledger_doc, dict) and doc != ledger_doc):
        return f"doc: the stored record differs from the ledger's in {', '.join(changed) or 'value'}"
    return None


def _not_yet_projected(cur: Any, store: SqlStore, state: StateRecord) -> bool:
    """For a source without block numbers: does the ledger's record name a tx the model has not seen?"""
    if state.block is not None:
        return False
    try:
        doc = json.loads(state.value)
    except ValueError:
        return False
    tx_id = doc.get("last_tx_id") or doc.get("tx_id") if isinstance(doc, dict) else None
    if not tx_id:
        return False
    return cur.execute(store.q("SELECT 1 FROM changes WHERE tx_id = ?"), (tx_id,)).fetchone() is None


def _norm(value: Any) -> Any:
    return None if value is None else str(value)


def _confidence(checked: int, population: int, drifted: int) -> str:
    """The upper bound of the drift rate at 95% confidence (exact binomial, zero-failure rule)."""
    if checked == 0:
        return "nothing checked"
    if drifted:
        return f"{drifted} of {checked} sampled rows drifted ({drifted / checked:.2%})"
    bound = 1 - (1 - CONFIDENCE) ** (1 / checked)
    return (
        f"no drift in {checked} of {population} rows: with {CONFIDENCE:.0%} confidence fewer than "
        f"{bound:.3%} of rows (about {math.ceil(bound * population)}) drifted"
    )


async def verify(
    store: SqlStore, world: WorldState, *, sample: int | None = None, seed: int | None = None
) -> VerifyReport:
    """Compare the model with world state; ``sample`` rows at random instead of every key."""
    started = time.perf_counter()
    height = store.next_block()
    report = VerifyReport(mode="sample" if sample else "full", block_height=height)
    with store.reading() as cur:
        if sample:
            await _verify_sample(cur, store, world, sample, report, random.Random(seed))
        else:
            await _verify_full(cur, store, world, report)
            _verify_counters(cur, store, report)
    report.seconds = time.perf_counter() - started
    report.finished_at = time.time()
    if report.mode == "sample":
        report.confidence = _confidence(report.checked, report.population, len(report.drift))
    store.set_meta("last_verify", report.to_json())
    return report


async def _verify_full(cur: Any, store: SqlStore, world: WorldState, report: VerifyReport) -> None:
    for object_type in world.types:
        record_type = RECORD_TYPES[object_type]
        seen: set[tuple[str, ...]] = set()
        async for state in world.records(object_type):
            key_vals = key_values(record_type, state.attrs)
            seen.add(key_vals)
            if state.block is not None and state.block >= report.block_height:
                report.pending += 1
                continue
            report.checked += 1
            problem = _compare(record_type, state, _stored(cur, store, record_type, key_vals))
            if problem and _not_yet_projected(cur, store, state):
                report.pending += 1
                continue
            if problem:
                report.drift.append(
                    Drift(
                        record_type.table,
                        "/".join(key_vals),
                        "missing_in_model" if problem == "missing" else "different",
                        problem,
                    )
                )
        cur.execute(f"SELECT {', '.join(record_type.key_columns)} FROM {record_type.table}")
        for row in cur.fetchall():
            key_vals = tuple(str(v) for v in row)
            if record_type.table == "insurance" and key_vals[0] != (
                "policy" if object_type == "POLICY" else "claim"
            ):
                continue
            if key_vals not in seen and object_type in world.types:
                report.checked += 1
                report.drift.append(
                    Drift(
                        record_type.table,
                        "/".join(key_vals),
                        "missing_in_ledger",
                        "the model has a row the ledger does not hold",
                    )
                )
        report.population += len(seen)


def _attrs_of(record_type: RecordType, key_vals: tuple[str, ...]) -> list[str]:
    if record_type.object_type == "CONFIG":
        return []
    if record_type.object_type == "POLICY":
        return [key_vals[1]]
    if record_type.object_type == "CLAIM":
        return key_vals[1].split("/", 1)
    return list(key_vals)


async def _verify_sample(
    cur: Any, store: SqlStore, world: WorldState, n: int, report: VerifyReport, rng: random.Random
) -> None:
    """``n`` rows drawn uniformly over vehicles and liens (the records the dashboards count)."""
    tables = [
        (RECORD_TYPES[t], int(cur.execute(f"SELECT COUNT(*) FROM {RECORD_TYPES[t].table}").fetchone()[0]))
        for t in ("VEHICLE", "LIEN")
        if t in world.types
    ]
    report.population = sum(count for _, count in tables)
    if report.population == 0:
        return
    for record_type, count in tables:
        share = min(count, round(n * count / report.population))
        if share == 0:
            continue
        picks = sorted(rng.sample(range(count), share))
        key = record_type.key_columns[0]
        for offset in picks:  # OFFSET walks the primary key index: fine for a sample of hundreds
            found = cur.execute(
                store.q(f"SELECT {key} FROM {record_type.table} ORDER BY {key} LIMIT 1 OFFSET ?"), (offset,)
            ).fetchone()
            if found is None:
                continue
            key_vals = (str(found[0]),)
            state = await world.record(record_type.object_type, _attrs_of(record_type, key_vals))
            report.checked += 1
            if state is None:
                report.drift.append(
                    Drift(record_type.table, key_vals[0], "missing_in_ledger", "not in world state")
                )
                continue
            if state.block is not None and state.block >= report.block_height:
                report.pending += 1
                continue
            problem = _compare(record_type, state, _stored(cur, store, record_type, key_vals))
            if problem and _not_yet_projected(cur, store, state):
                report.pending += 1
            elif problem:
                report.drift.append(Drift(record_type.table, key_vals[0], "different", problem))


def _verify_counters(cur: Any, store: SqlStore, report: VerifyReport) -> None:
    """The dashboard's counters must equal a recount of the rows (and the LTV table a recomputation)."""
    expected: dict[tuple[str, str], int] = {}
    for table, columns in (
        ("vehicles", "status"),
        ("liens", "status, recorded_at, ended_at, lienholder"),
        ("alerts", "severity, acknowledged"),
    ):
        names = [c.strip() for c in columns.split(",")]
        cur.execute(f"SELECT {columns} FROM {table}")
        while rows := cur.fetchmany(5000):
            for row in rows:
                for key in contributions(table, dict(zip(names, row, strict=True))):
                    expected[key] = expected.get(key, 0) + 1
    vins = [r[0] for r in cur.execute("SELECT vin FROM vehicle_ltv").fetchall()]
    for i in range(0, len(vins), CHUNK):
        stored = dict(
            cur.execute(
                store.q(
                    f"SELECT vin, bucket FROM vehicle_ltv WHERE vin IN ({', '.join('?' * len(vins[i : i + CHUNK]))})"  # noqa: E501
                ),
                vins[i : i + CHUNK],
            ).fetchall()
        )
        for row in ltv_rows(cur, store.q, vins[i : i + CHUNK]):
            if row["bucket"]:
                expected[("ltv_bucket", row["bucket"])] = expected.get(("ltv_bucket", row["bucket"]), 0) + 1
            if stored.get(row["vin"]) != row["bucket"]:
                report.drift.append(
                    Drift(
                        "vehicle_ltv",
                        row["vin"],
                        "different",
                        f"bucket: model {stored.get(row['vin'])!r}, recomputed {row['bucket']!r}",
                    )
                )
    actual = {
        (name, bucket): int(n) for name, bucket, n in cur.execute("SELECT name, bucket, n FROM counters")
    }
    for key in sorted(set(expected) | set(actual)):
        if expected.get(key, 0) != actual.get(key, 0):
            report.drift.append(
                Drift(
                    "counters",
                    "/".join(key),
                    "counter",
                    f"model {actual.get(key, 0)}, recount {expected.get(key, 0)}",
                )
            )
