"""What the pages show, read from the ledger as the logged-in user (so the chaincode's rules apply).

Each function returns plain dicts for the templates; a refusal by the contract surfaces as the
ledger's own error, which the router renders as a page naming the rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.api.reads import evaluate, query_args, reader
from app.api.state import GatewayState
from app.ledger.port import Caller, ChaincodeRefused, LedgerError
from app.risk.alerts import SEVERITIES
from app.services import qr
from app.services.documents import check_anchored
from app.services.errors import Unavailable
from app.services.origin import OriginResolver

MAX_PAGES = 50
PAGE_SIZE = 200
BAND_STEP = Decimal(50000)
ENCUMBERING = ("RECORDED", "ASSIGNMENT_PENDING", "FORECLOSING")
VEHICLE_STATUSES = ("REGISTERED", "MORTGAGED", "SEIZED", "IN_DISPOSAL", "DISPOSED", "SCRAPPED")
LTV_BUCKETS = ((0, 40), (40, 60), (60, 70), (70, 80), (80, 90), (90, 100), (100, None))
EVENT_IDLE_SECONDS = 1.0
LAST_BLOCK_IDLE_SECONDS = 0.1


def money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def valuation_band(value: Any, currency: str) -> str | None:
    """A coarse band (steps of 50,000) for the public passport: the exact figure is the banks' matter."""
    amount = money(value)
    if amount is None:
        return None
    low = (amount // BAND_STEP) * BAND_STEP
    return f"{int(low):,}–{int(low + BAND_STEP):,} {currency}"


async def query_all(state: GatewayState, caller: Caller, function: str, query: dict[str, Any]) -> list[Any]:
    """Follow bookmarks to the last page (bounded)."""
    records: list[Any] = []
    bookmark = ""
    for _ in range(MAX_PAGES):
        page = await evaluate(state, caller, function, *query_args(query, PAGE_SIZE, bookmark))
        records.extend(page.get("records", []))
        bookmark = page.get("bookmark") or ""
        if not bookmark:
            break
    return records


# --- passport ------------------------------------------------------------------------------------


@dataclass
class Passport:
    status: dict[str, Any]
    band: str | None
    verdict: dict[str, Any] | None = None  # the QR verification (public view) when a code was scanned


async def passport(state: GatewayState, caller: Caller, vin: str) -> Passport:
    status = await evaluate(state, caller, "GetVehicleStatus", vin)
    latest = status.get("latest_valuation") or {}
    # the chaincode gives the exact value to credit readers and only band_low/band_high to the rest
    band = (
        valuation_band(latest.get("value", latest.get("band_low")), latest.get("currency", ""))
        if latest
        else None
    )
    return Passport(status=status, band=band)


async def verify_code(state: GatewayState, caller: Caller, text: str) -> dict[str, Any]:
    """The authority's signature, revocation on the ledger and the live status (the API's verify)."""
    try:
        return await qr.verify(state.qr, reader(state), caller, text)
    except Unavailable as exc:
        return {"valid": False, "outcome": "unavailable", "reason": exc.message}


# --- timeline ------------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    event: str
    tx_id: str
    block_number: int
    org: str | None
    at: str
    payload: dict[str, Any]
    documents: list[dict[str, Any]] = field(default_factory=list)


async def _events_between(state: GatewayState, start_block: int, last_block: int) -> list[Any]:
    """Chaincode events from ``start_block`` up to ``last_block`` (the stream itself never ends)."""
    events = []
    stream = state.ledger.chaincode_events(start_block=start_block)
    idle = EVENT_IDLE_SECONDS
    try:
        while True:
            try:
                event = await asyncio.wait_for(anext(stream), timeout=idle)
            except (TimeoutError, StopAsyncIteration):
                break
            if event.block_number > last_block:
                break
            events.append(event)
            if event.block_number == last_block:
                idle = LAST_BLOCK_IDLE_SECONDS  # the rest of the last block comes at once, if at all
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]
    return events


async def ledger_height(state: GatewayState) -> int | None:
    health = await state.ledger.health()
    try:
        return int(health.get("height", ""))
    except ValueError:
        return None


async def timeline(state: GatewayState, caller: Caller, vin: str) -> list[TimelineEntry]:
    """Every event about the vehicle and its liens, from registration on, with block, org and documents.

    ``GetVehicleHistory`` is read first as the user: the contract's history rule decides who may see it.
    """
    history = await evaluate(state, caller, "GetVehicleHistory", vin)
    tx_ids = [h["tx_id"] for h in history if isinstance(h, dict)]
    first_block = None
    for tx_id in tx_ids:
        status = await state.ledger.transaction_status(tx_id)
        if status is not None:
            first_block = (
                status.block_number if first_block is None else min(first_block, status.block_number)
            )
    if first_block is None:
        return []
    height = await ledger_height(state)
    last_block = (height - 1) if height else first_block + 100000
    liens = await query_all(state, caller, "QueryLiens", {"vin": vin})
    lien_ids = {lien["lien_id"] for lien in liens}
    documents: dict[str, dict[str, Any]] = {}
    for query in [{"vin": vin}, *({"lien_id": lid} for lid in sorted(lien_ids))]:
        for doc in await evaluate(state, caller, "GetDocuments", json.dumps(query)) or []:
            documents[doc["document_id"]] = doc
    origins = OriginResolver(state.ledger)
    entries: list[TimelineEntry] = []
    for event in await _events_between(state, first_block, last_block):
        try:
            payload = json.loads(event.payload or b"{}")
        except ValueError:
            continue
        if payload.get("vin") != vin and payload.get("lien_id") not in lien_ids:
            continue
        doc_ids = [v for k, v in payload.items() if k.endswith("document_id") and isinstance(v, str)]
        docs = [documents.get(d) or {"document_id": d, "cid": "", "sha256": ""} for d in doc_ids]
        entries.append(
            TimelineEntry(
                event=event.event_name,
                tx_id=event.tx_id,
                block_number=event.block_number,
                org=await origins.creator(event.tx_id),
                at=str(payload.get("at", "")),
                payload={k: v for k, v in payload.items() if k not in ("tx_id", "at")},
                documents=[
                    await check_anchored(state.documents, d, caller.msp_id) if d.get("cid") else d
                    for d in docs
                ],
            )
        )
    return entries


# --- lender --------------------------------------------------------------------------------------


def lien_alerts(lien: dict[str, Any], status: dict[str, Any], ltv: Decimal | None, cap: Decimal,
                today: date) -> list[dict[str, str]]:  # fmt: skip
    """Early-warning signs visible on the ledger for one lien (severities as the risk engine's)."""
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
    latest = status.get("latest_valuation") or {}
    if latest.get("stale"):
        alerts.append(
            {"severity": "medium", "rule": "valuation_stale", "message": "latest valuation is stale"}
        )
    if not status.get("insured"):
        alerts.append({"severity": "high", "rule": "insurance_lapse", "message": "no valid insurance"})
    else:
        valid_to = status.get("insurance_valid_to")
        with contextlib.suppress(TypeError, ValueError):
            if valid_to and (date.fromisoformat(valid_to) - today).days <= 30:
                alerts.append({"severity": "medium", "rule": "insurance_expiring",
                               "message": f"insurance ends {valid_to}"})  # fmt: skip
    with contextlib.suppress(TypeError, ValueError):
        if (date.fromisoformat(lien.get("maturity_date", "")) - today).days <= 30:
            alerts.append(
                {"severity": "low", "rule": "maturity_near", "message": f"matures {lien['maturity_date']}"}
            )
    if lien.get("status") == "FORECLOSING":
        alerts.append({"severity": "high", "rule": "foreclosing", "message": "foreclosure in progress"})
    alerts.sort(key=lambda a: -SEVERITIES.index(a["severity"]))
    return alerts


async def _config_cap(state: GatewayState, caller: Caller) -> Decimal:
    config = await evaluate(state, caller, "GetConfig")
    return money((config or {}).get("ltv_cap")) or Decimal("0.8")


async def lien_rows(state: GatewayState, caller: Caller, liens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Liens with their vehicle's LTV, latest valuation (value and interval) and alerts."""
    cap = await _config_cap(state, caller)
    today = datetime.now().date()
    by_vin: dict[str, tuple[dict[str, Any], dict[str, Any] | None, Decimal]] = {}
    rows = []
    for lien in liens:
        vin = lien["vin"]
        if vin not in by_vin:
            status = await evaluate(state, caller, "GetVehicleStatus", vin)
            try:
                valuation = await evaluate(state, caller, "GetLatestValuation", vin)
            except ChaincodeRefused as exc:
                if exc.status != 404:
                    raise
                valuation = None
            encumbering = [
                item for item in await query_all(state, caller, "QueryLiens", {"vin": vin})
                if item.get("status") in ENCUMBERING
            ]  # fmt: skip
            total = sum((money(item.get("secured_amount")) or Decimal(0) for item in encumbering), Decimal(0))
            by_vin[vin] = (status, valuation, total)
        status, valuation, total = by_vin[vin]
        value = money((valuation or {}).get("value"))
        secured = (
            total if lien.get("status") in ENCUMBERING else total + (money(lien.get("secured_amount")) or 0)
        )
        ltv = (secured / value * 100) if value and lien.get("status") in (*ENCUMBERING, "REQUESTED") else None
        rows.append({
            "lien": lien, "status": status, "valuation": valuation, "ltv": ltv,
            "alerts": lien_alerts(lien, status, ltv if value else None, cap, today),
        })  # fmt: skip
    return rows


# --- auditor -------------------------------------------------------------------------------------


@dataclass
class AuditRow:
    kind: str
    key: str
    tx_id: str
    block_number: int | None
    timestamp: str
    org: str | None
    status: str
    is_delete: bool


async def _history_rows(
    state: GatewayState, caller: Caller, kind: str, key: str, origins: OriginResolver
) -> list[AuditRow]:
    function = "GetVehicleHistory" if kind == "vehicle" else "GetLienHistory"
    rows = []
    for entry in await evaluate(state, caller, function, key):
        tx = await state.ledger.transaction_status(entry["tx_id"])
        block = tx.block_number if tx else None
        value = entry.get("value") if isinstance(entry.get("value"), dict) else {}
        rows.append(
            AuditRow(
                kind=kind, key=key, tx_id=entry["tx_id"], block_number=block,
                timestamp=str(entry.get("timestamp", "")), org=await origins.creator(entry["tx_id"]),
                status=str((value or {}).get("status", "")), is_delete=bool(entry.get("is_delete")),
            )
        )  # fmt: skip
    return rows


def classify(query: str) -> str:
    q = query.strip()
    if len(q) == 64 and all(c in "0123456789abcdef" for c in q.lower()):
        return "tx"
    if len(q) == 17 and q.isalnum() and q.isascii():
        return "vin"
    return "lien_or_plate"


async def audit_search(state: GatewayState, caller: Caller, query: str) -> list[AuditRow]:
    """History rows for a VIN, plate, lien id or tx id (newest first for keys, as Fabric returns them)."""
    q = query.strip()
    origins = OriginResolver(state.ledger)
    kind = classify(q)
    if kind == "tx":
        tx = await state.ledger.transaction_status(q.lower())
        if tx is None:
            return []
        result: Any = None
        with contextlib.suppress(ValueError):
            result = json.loads(tx.payload or b"null")
        key = ""
        if isinstance(result, dict):
            key = str(result.get("lien_id") or result.get("vin") or result.get("document_id") or "")
        return [
            AuditRow(
                kind="transaction", key=key, tx_id=tx.tx_id, block_number=tx.block_number,
                timestamp=tx.timestamp.isoformat(), org=await origins.creator(tx.tx_id),
                status=tx.validation_code, is_delete=False,
            )
        ]  # fmt: skip
    vin: str | None = q if kind == "vin" else None
    if vin is None:
        try:
            await evaluate(state, caller, "GetLien", q)
            return await _history_rows(state, caller, "lien", q, origins)
        except ChaincodeRefused as exc:
            if exc.status not in (400, 404):
                raise
        try:
            vehicle = await evaluate(state, caller, "GetVehicleByPlate", q)
        except ChaincodeRefused as exc:
            if exc.status in (400, 404):
                return []
            raise
        vin = vehicle["vin"]
    rows = await _history_rows(state, caller, "vehicle", vin, origins)
    for lien in await query_all(state, caller, "QueryLiens", {"vin": vin}):
        rows.extend(await _history_rows(state, caller, "lien", lien["lien_id"], origins))
    return rows


# --- regulator -----------------------------------------------------------------------------------


async def regulator_stats(state: GatewayState, caller: Caller) -> dict[str, Any]:
    counts = {}
    for status in VEHICLE_STATUSES:
        counts[status] = len(await query_all(state, caller, "QueryVehicles", {"status": status}))
    liens = []
    for status in ("REQUESTED", "RECORDED", "REJECTED", "RELEASED", "ASSIGNMENT_PENDING", "FORECLOSING",
                   "DISCHARGED", "LAPSED", "CANCELLED"):  # fmt: skip
        liens.extend(await query_all(state, caller, "QueryLiens", {"status": status}))
    recorded: Counter[str] = Counter()
    released: Counter[str] = Counter()
    for lien in liens:
        if lien.get("recorded_at"):
            recorded[str(lien["recorded_at"])[:7]] += 1
        if lien.get("status") == "RELEASED" and lien.get("ended_at"):
            released[str(lien["ended_at"])[:7]] += 1
    months = sorted(set(recorded) | set(released))
    active = [lien for lien in liens if lien.get("status") in ENCUMBERING]
    rows = await lien_rows(state, caller, active)
    ltv_by_vin = {row["lien"]["vin"]: row["ltv"] for row in rows if row["ltv"] is not None}
    ltv_hist = []
    for low, high in LTV_BUCKETS:
        label = f"{low}–{high}%" if high is not None else f"≥{low}%"
        n = sum(1 for v in ltv_by_vin.values() if v >= low and (high is None or v < high))
        ltv_hist.append((label, n))
    # risk alerts as anchored on the ledger by the banks (RecordRiskAlert), counted by the contract
    anchored = await evaluate(state, caller, "CountRiskAlerts")
    severities: Counter[str] = Counter(anchored.get("by_severity", {}))
    return {
        "counts": [(s, counts[s]) for s in VEHICLE_STATUSES],
        "months": [(m, recorded[m], released[m]) for m in months],
        "ltv": ltv_hist,
        "severity": [(s, severities[s]) for s in SEVERITIES],
        "total_vehicles": sum(counts.values()),
        "total_liens": len(liens),
        "alerts_total": anchored.get("total", 0),
        "alerts_unacknowledged": anchored.get("unacknowledged", 0),
    }


__all__ = ["LedgerError"]
