"""What the pages show, read from the ledger as the logged-in user (so the chaincode's rules apply).

Each function returns plain dicts for the templates; a refusal by the contract surfaces as the
ledger's own error, which the router renders as a page naming the rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from app.api.reads import evaluate, query_args, reader
from app.api.state import GatewayState
from app.ledger.port import Caller, LedgerError
from app.services import qr
from app.services.documents import check_anchored
from app.services.errors import Unavailable
from app.services.origin import OriginResolver

MAX_PAGES = 50
PAGE_SIZE = 200
BAND_STEP = Decimal(50000)
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


__all__ = ["LedgerError"]
