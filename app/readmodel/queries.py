"""Questions the read model answers: the regulator's dashboard, a lender's portfolio, the auditor's
search and its CSV export. Each answer is read in one read transaction and names the block height it
reflects (``block_height``: blocks 0 … height-1 are in it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .projections import ENCUMBERING, LTV_BUCKETS, SEVERITIES, VEHICLE_STATUSES, bucket_label, money
from .store import SqlStore

MAX_SEARCH_ROWS = 1000
EXPORT_FETCH = 1000
CSV_COLUMNS = ("kind", "key", "tx_id", "block_number", "timestamp", "org", "status", "is_delete")
_SEVERITY_ORDER = ("low", "medium", "high", "critical")


def _height(cur: Any, store: SqlStore) -> int:
    row = cur.execute(store.q("SELECT value FROM meta WHERE name = ?"), ("next_block",)).fetchone()
    return int(row[0]) if row else 0


# --- regulator ---------------------------------------------------------------------------------


def dashboard(store: SqlStore) -> dict[str, Any]:
    """Exact counts from the projector's counters (kept in the same transactions as the rows)."""
    with store.reading() as cur:
        height = _height(cur, store)
        counters: dict[str, dict[str, int]] = {}
        for name, bucket, n in cur.execute("SELECT name, bucket, n FROM counters").fetchall():
            counters.setdefault(name, {})[bucket] = int(n)
    vehicles = counters.get("vehicles_by_status", {})
    liens = counters.get("liens_by_status", {})
    recorded = counters.get("liens_recorded_month", {})
    released = counters.get("liens_released_month", {})
    ltv = counters.get("ltv_bucket", {})
    severity = counters.get("alerts_by_severity", {})
    unacked = counters.get("alerts_unacknowledged", {})
    months = sorted(m for m in set(recorded) | set(released) if recorded.get(m) or released.get(m))
    statuses = list(VEHICLE_STATUSES) + sorted(
        s for s in vehicles if s not in VEHICLE_STATUSES and vehicles[s]
    )
    return {
        "block_height": height,
        "counts": [(s, vehicles.get(s, 0)) for s in statuses],
        "months": [(m, recorded.get(m, 0), released.get(m, 0)) for m in months],
        "ltv": [(bucket_label(low, high), ltv.get(bucket_label(low, high), 0)) for low, high in LTV_BUCKETS],
        "severity": [(s, severity.get(s, 0)) for s in SEVERITIES],
        "total_vehicles": sum(vehicles.values()),
        "total_liens": sum(liens.values()),
        "liens_by_status": sorted((s, n) for s, n in liens.items() if n),
        "alerts_total": sum(severity.values()),
        "alerts_unacknowledged": sum(unacked.values()),
    }


# --- lender ------------------------------------------------------------------------------------


def lien_alerts(
    lien: dict[str, Any], status: dict[str, Any], ltv: Decimal | None, cap: Decimal, today: date, stale: bool
) -> list[dict[str, str]]:
    """Early-warning signs visible on the ledger for one lien (the risk engine's severities)."""
    alerts: list[dict[str, str]] = []
    if lien.get("status") not in ENCUMBERING:
        return alerts
    if status.get("seized"):
        alerts.append({"severity": "critical", "rule": "vehicle_seized", "message": "the vehicle is seized"})
    if ltv is None:
        alerts.append({"severity": "high", "rule": "no_valuation", "message": "no valuation on the ledger"})
    elif ltv > cap * 100:
        alerts.append(
            {"severity": "high", "rule": "ltv_over_cap", "message": f"LTV {ltv:.1f}% > cap {cap * 100:.0f}%"}
        )
    elif ltv > cap * 90:
        alerts.append({"severity": "medium", "rule": "ltv_near_cap", "message": f"LTV {ltv:.1f}% near cap"})
    if stale:
        alerts.append(
            {"severity": "medium", "rule": "valuation_stale", "message": "latest valuation is stale"}
        )
    valid_to = status.get("insurance_valid_to")
    if not status.get("insured"):
        alerts.append({"severity": "high", "rule": "insurance_lapse", "message": "no valid insurance"})
    elif valid_to and (date.fromisoformat(valid_to) - today).days <= 30:
        alerts.append(
            {"severity": "medium", "rule": "insurance_expiring", "message": f"insurance ends {valid_to}"}
        )
    try:
        if (date.fromisoformat(str(lien.get("maturity_date", ""))) - today).days <= 30:
            alerts.append(
                {"severity": "low", "rule": "maturity_near", "message": f"matures {lien['maturity_date']}"}
            )
    except ValueError:
        pass
    if lien.get("status") == "FORECLOSING":
        alerts.append({"severity": "high", "rule": "foreclosing", "message": "foreclosure in progress"})
    alerts.sort(key=lambda a: -_SEVERITY_ORDER.index(a["severity"]))
    return alerts


@dataclass
class Portfolio:
    block_height: int
    lienholder: str
    total: int
    rows: list[dict[str, Any]]
    next_after: str | None = None  # the lien id to continue after, when there are more rows
    by_status: list[tuple[str, int]] = field(default_factory=list)


def _config(cur: Any) -> dict[str, Any]:
    row = cur.execute("SELECT doc FROM config WHERE name = 'config'").fetchone()
    return json.loads(row[0]) if row else {}


def portfolio(
    store: SqlStore, lienholder: str, *, limit: int = 200, after: str = "", now: datetime | None = None
) -> Portfolio:
    """A lender's liens (one page, in lien id order) with vehicle, latest valuation, LTV and alerts."""
    now = now or datetime.now(UTC)
    today = now.date()
    q = store.q
    with store.reading() as cur:
        height = _height(cur, store)
        config = _config(cur)
        cap = money(config.get("ltv_cap")) or Decimal("0.8")
        max_age = int(config.get("valuation_max_age_days") or 90)
        prefix = f"{lienholder}|"
        by_status = [  # the projector's exact counters: no scan of a bank's (maybe 100,000s) liens
            (bucket[len(prefix) :], n)
            for bucket, n in cur.execute(
                q("SELECT bucket, n FROM counters WHERE name = ? AND bucket >= ? AND bucket < ? ORDER BY 1"),
                ("liens_by_holder_status", prefix, f"{lienholder}}}"),  # '}' sorts right after '|'
            ).fetchall()
            if n
        ]
        liens = cur.execute(
            q("SELECT doc FROM liens WHERE lienholder = ? AND lien_id > ? ORDER BY lien_id LIMIT ?"),
            (lienholder, after, limit + 1),
        ).fetchall()
        docs = [json.loads(r[0]) for r in liens[:limit]]
        vins = sorted({d["vin"] for d in docs})
        vehicles, valuations, ltvs, policies = _by_vin(cur, store, vins)
    rows = []
    for lien in docs:
        vin = lien["vin"]
        vehicle = vehicles.get(vin, {})
        valuation = valuations.get(vin)
        stale = False
        if valuation is not None:
            valuation = dict(valuation)
            recorded = _parse_time(valuation.get("recorded_at"))
            stale = recorded is not None and now - recorded > timedelta(days=max_age)
            valuation["stale"] = stale
        valid = [
            p
            for p in policies.get(vin, [])
            if p.get("status") == "ACTIVE"
            and str(p.get("valid_from")) <= today.isoformat() <= str(p.get("valid_to"))
        ]
        status = {
            "vin": vin,
            "plate": vehicle.get("plate"),
            "status": vehicle.get("status"),
            "seized": vehicle.get("status") == "SEIZED",
            "insured": bool(valid),
            "insurance_valid_to": max((str(p["valid_to"]) for p in valid), default=None),
        }
        value = money((valuation or {}).get("value"))
        total = money(ltvs.get(vin)) or Decimal(0)
        secured = (
            total if lien.get("status") in ENCUMBERING else total + (money(lien.get("secured_amount")) or 0)
        )
        ltv = (secured / value * 100) if value and lien.get("status") in (*ENCUMBERING, "REQUESTED") else None
        rows.append(
            {
                "lien": lien,
                "status": status,
                "valuation": valuation,
                "ltv": ltv,
                "alerts": lien_alerts(lien, status, ltv if value else None, cap, today, stale),
            }
        )
    return Portfolio(
        block_height=height,
        lienholder=lienholder,
        total=sum(int(n) for _, n in by_status),
        rows=rows,
        next_after=docs[-1]["lien_id"] if len(liens) > limit else None,
        by_status=[(str(s), int(n)) for s, n in by_status],
    )


def _by_vin(cur: Any, store: SqlStore, vins: list[str]) -> tuple[dict[str, Any], ...]:
    vehicles: dict[str, Any] = {}
    valuations: dict[str, Any] = {}
    ltvs: dict[str, Any] = {}
    policies: dict[str, list[Any]] = {}
    for i in range(0, len(vins), 400):
        chunk = vins[i : i + 400]
        marks = ", ".join("?" * len(chunk))
        for vin, doc in cur.execute(store.q(f"SELECT vin, doc FROM vehicles WHERE vin IN ({marks})"), chunk):
            vehicles[vin] = json.loads(doc)
        for vin, doc in cur.execute(
            store.q(
                "SELECT l.vin, v.doc FROM valuation_latest l JOIN valuations v "
                f"ON v.vin = l.vin AND v.valuation_id = l.valuation_id WHERE l.vin IN ({marks})"
            ),
            chunk,
        ):
            valuations[vin] = json.loads(doc)
        for vin, total in cur.execute(
            store.q(f"SELECT vin, secured_total FROM vehicle_ltv WHERE vin IN ({marks})"), chunk
        ):
            ltvs[vin] = total
        for vin, doc in cur.execute(
            store.q(f"SELECT vin, doc FROM insurance WHERE kind = 'policy' AND vin IN ({marks})"), chunk
        ):
            policies.setdefault(vin, []).append(json.loads(doc))
    return vehicles, valuations, ltvs, policies


def _parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- auditor -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchFilter:
    """Every given field must match (AND). ``text`` is the page's one search box: a VIN, plate, lien
    id, tx id or owner hash, whichever it is."""

    text: str = ""
    vin: str = ""
    plate: str = ""
    owner_hash: str = ""
    lienholder: str = ""
    tx_id: str = ""
    lien_id: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    def empty(self) -> bool:
        return not any(
            (
                self.text,
                self.vin,
                self.plate,
                self.owner_hash,
                self.lienholder,
                self.tx_id,
                self.lien_id,
                self.date_from,
                self.date_to,
            )
        )


@dataclass
class SearchResult:
    block_height: int
    rows: list[dict[str, Any]]
    next_before: str | None  # cursor for the next (older) page


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())


def _where(cur: Any, store: SqlStore, f: SearchFilter) -> tuple[list[str], list[Any]] | None:
    """SQL conditions on ``changes`` for the filter; None when it can match nothing."""
    q = store.q
    clauses: list[str] = []
    params: list[Any] = []

    def vins_of(column: str, value: str) -> list[str]:
        return [
            r[0] for r in cur.execute(q(f"SELECT vin FROM vehicles WHERE {column} = ?"), (value,)).fetchall()
        ]

    def restrict_vins(vins: list[str]) -> None:
        clauses.append(f"vin IN ({', '.join('?' * len(vins))})")
        params.extend(vins)

    text = f.text.strip()
    if text:
        if _is_hex64(text):
            vins = vins_of("owner_hash", text.lower())
            marks = ", ".join("?" * len(vins))
            clauses.append(f"(tx_id = ? OR vin IN ({marks}))" if vins else "tx_id = ?")
            params.extend([text.lower(), *vins])
        else:
            vins = [text.upper()] if len(text) == 17 and text.isalnum() and text.isascii() else []
            vins += vins_of("plate", text)
            lien = cur.execute(q("SELECT vin FROM liens WHERE lien_id = ?"), (text,)).fetchone()
            if lien is not None:
                clauses.append("(kind = 'lien' AND record_id = ? AND vin = ?)" if not vins else "vin IN (?)")
                params.extend([text, lien[0]] if not vins else [lien[0]])
            elif not vins:
                return None
            if vins:
                restrict_vins(sorted(set(vins)))
    if f.vin:
        clauses.append("vin = ?")
        params.append(f.vin.upper())
    for column, value in (("plate", f.plate), ("owner_hash", f.owner_hash.lower())):
        if value:
            vins = vins_of(column, value)
            if not vins:
                return None
            restrict_vins(vins)
    if f.lien_id:
        lien = cur.execute(q("SELECT vin FROM liens WHERE lien_id = ?"), (f.lien_id,)).fetchone()
        if lien is None:
            return None
        clauses.append("kind = 'lien' AND record_id = ? AND vin = ?")
        params.extend([f.lien_id, lien[0]])
    if f.lienholder:
        clauses.append("lienholder = ?")
        params.append(f.lienholder)
    if f.tx_id:
        clauses.append("tx_id = ?")
        params.append(f.tx_id.lower())
    if f.date_from:
        clauses.append("at >= ?")
        params.append(f.date_from.isoformat())
    if f.date_to:
        clauses.append("at < ?")
        params.append((f.date_to + timedelta(days=1)).isoformat())
    return clauses, params


_SELECT = (
    "SELECT kind, record_id, tx_id, block_number, at, creator_msp, status, is_delete, function, vin, "
    "tx_index, seq FROM changes"
)


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "kind": r[0],
        "key": r[1],
        "tx_id": r[2],
        "block_number": int(r[3]),
        "timestamp": r[4],
        "org": r[5],
        "status": r[6] or "",
        "is_delete": bool(r[7]),
        "function": r[8],
        "vin": r[9],
    }


def search(store: SqlStore, f: SearchFilter, *, limit: int = 100, before: str = "") -> SearchResult:
    """Changes matching ``f``, newest first, one page; ``before`` is the previous page's cursor."""
    if f.empty():
        raise ValueError(
            "search: give at least one of text, vin, plate, owner_hash, lienholder, tx_id, date range"
        )
    limit = max(1, min(limit, MAX_SEARCH_ROWS))
    with store.reading() as cur:
        height = _height(cur, store)
        where = _where(cur, store, f)
        if where is None:
            return SearchResult(height, [], None)
        clauses, params = where
        # a time window alone walks the (at, block, tx, seq) index in time order; anything narrower
        # (a VIN, a lienholder, a tx) walks its own index in chain order
        narrower = (f.text, f.vin, f.plate, f.owner_hash, f.lienholder, f.tx_id, f.lien_id)
        by_time = bool(f.date_from or f.date_to) and not any(narrower)
        if before:
            at, _, position = before.rpartition("@")
            block, tx, seq = (int(x) for x in position.split(":"))
            chain = (
                "(block_number < ? OR (block_number = ? AND (tx_index < ? OR (tx_index = ? AND seq < ?))))"
            )
            if by_time and at:
                clauses.append(f"(at < ? OR (at = ? AND {chain}))")
                params.extend([at, at])
            else:
                clauses.append(chain)
            params.extend([block, block, tx, tx, seq])
        order = (
            "ORDER BY "
            + ("at DESC, " if by_time else "")
            + "block_number DESC, tx_index DESC, seq DESC LIMIT ?"
        )
        sql = f"{_SELECT} WHERE {' AND '.join(clauses)} {order}"
        found = cur.execute(store.q(sql), (*params, limit + 1)).fetchall()
    rows = [_row(r) for r in found[:limit]]
    last = found[limit - 1] if len(found) > limit else None
    cursor = None
    if last is not None:
        cursor = (f"{last[4]}@" if by_time else "") + f"{last[3]}:{last[10]}:{last[11]}"
    tx_id = f.tx_id.lower() or (f.text.strip().lower() if _is_hex64(f.text.strip()) else "")
    if tx_id and not before:
        of_tx = [r for r in rows if r["tx_id"] == tx_id]
        if of_tx:  # the transaction itself first, as the peer recorded it (only VALID ones are projected)
            first = of_tx[-1]
            rows.insert(
                0,
                {
                    **first,
                    "kind": "transaction",
                    "key": ", ".join(dict.fromkeys(r["key"] for r in reversed(of_tx))),
                    "status": "VALID",
                    "is_delete": False,
                },
            )
    return SearchResult(height, rows, cursor)


def export_csv(store: SqlStore, f: SearchFilter) -> tuple[int, Iterator[str]]:
    """(block height, CSV text chunks) of every change matching ``f``, oldest first.

    Rows are fetched ``EXPORT_FETCH`` at a time inside one read transaction and written out chunk by
    chunk, so memory stays the same whatever the row count; the height is of that transaction.
    """
    if f.empty():
        raise ValueError("export: give at least one filter")
    context = store.snapshot()
    cur = context.__enter__()
    try:
        height = _height(cur, store)
        where = _where(cur, store, f)
    except BaseException:
        context.__exit__(None, None, None)
        raise

    def chunks() -> Iterator[str]:
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            yield "\ufeff" + buffer.getvalue()
            if where is None:
                return
            clauses, params = where
            cur.execute(
                store.q(f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY block_number, tx_index, seq"),
                params,
            )
            while rows := cur.fetchmany(EXPORT_FETCH):
                buffer.seek(0)
                buffer.truncate()
                for r in rows:
                    row = _row(r)
                    writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS])
                yield buffer.getvalue()
        finally:
            context.__exit__(None, None, None)

    return height, chunks()
