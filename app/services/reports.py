"""Reports at registry scale, answered from the read model (issue 24): the regulator's dashboard, a
lender's portfolio, the auditor's search and its CSV export.

The pages and the API call these; access rules stay with them (who may see which report). Each answer
names the block height it reflects. Before answering, a report waits briefly for the read model to
reach the ledger's current height, so a user who just wrote sees the write (read your writes); if the
projector is behind for longer the answer still comes, stating its older height.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from typing import Any

from app.readmodel import queries
from app.readmodel.queries import Portfolio, SearchFilter, SearchResult
from app.readmodel.runtime import ReadModel
from app.services.errors import InvalidInput, Unavailable, field_error
from app.services.origin import OriginResolver

__all__ = [
    "Portfolio",
    "SearchFilter",
    "SearchResult",
    "audit_export",
    "audit_search",
    "ledger_transaction",
    "lender_portfolio",
    "regulator_dashboard",
    "search_filter",
]

FRESH_WAIT_SECONDS = 2.0
TEXT_MAX = 100


def _model(state: Any) -> ReadModel:
    model = getattr(state, "readmodel", None)
    if model is None:
        raise Unavailable("the read model is not running on this gateway")
    return model


async def _fresh(model: ReadModel) -> None:
    try:
        await model.caught_up(timeout=FRESH_WAIT_SECONDS)
    except Exception:  # the ledger's height is unknown (peer down): answer from what is projected
        return


async def regulator_dashboard(state: Any) -> dict[str, Any]:
    """Exact counts by status, liens by month, LTV distribution, alerts by severity, with the height."""
    model = _model(state)
    await _fresh(model)
    return await asyncio.to_thread(queries.dashboard, model.store)


async def lender_portfolio(state: Any, lienholder: str, *, after: str = "", limit: int = 200) -> Portfolio:
    """One page of the lienholder's liens with valuation, LTV and alerts (``after``: the last lien id)."""
    model = _model(state)
    await _fresh(model)
    return await asyncio.to_thread(queries.portfolio, model.store, lienholder, limit=limit, after=after[:64])


def _date(field: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise field_error(InvalidInput, field, f"not a date (YYYY-MM-DD): {value[:20]!r}") from exc


def search_filter(
    text: str = "", *, date_from: str = "", date_to: str = "", lienholder: str = "", owner_hash: str = ""
) -> SearchFilter:
    """The auditor's filter from form/query fields; a bad field is named with its reason."""
    if len(text) > TEXT_MAX:
        raise field_error(InvalidInput, "q", f"at most {TEXT_MAX} characters")
    f = SearchFilter(
        text=text.strip(), lienholder=lienholder.strip()[:64], owner_hash=owner_hash.strip()[:64],
        date_from=_date("from", date_from), date_to=_date("to", date_to),
    )  # fmt: skip
    if f.date_from and f.date_to and f.date_to < f.date_from:
        raise field_error(InvalidInput, "to", "before 'from'")
    return f


async def audit_search(state: Any, f: SearchFilter, *, before: str = "", limit: int = 100) -> SearchResult:
    """Changes matching ``f``, newest first, one page (``before``: the previous page's cursor)."""
    if f.empty():
        return SearchResult(block_height=_model(state).store.next_block(), rows=[], next_before=None)
    parts = before.rpartition("@")[2].split(":")
    if before and (len(parts) != 3 or not all(part.isdigit() for part in parts)):
        raise field_error(InvalidInput, "before", "not a cursor of this search")
    model = _model(state)
    await _fresh(model)
    return await asyncio.to_thread(queries.search, model.store, f, limit=limit, before=before)


async def audit_export(state: Any, f: SearchFilter) -> tuple[int, Iterator[str]]:
    """(height, CSV chunks) of every change matching ``f`` — streamed, constant memory."""
    if f.empty():
        raise field_error(InvalidInput, "q", "give a search (VIN, plate, lien, tx id, owner hash or dates)")
    model = _model(state)
    await _fresh(model)
    return await asyncio.to_thread(queries.export_csv, model.store, f)


async def ledger_transaction(state: Any, text: str) -> list[dict[str, Any]]:
    """A transaction id the read model does not hold (it wrote no projected record, or it was
    invalidated) looked up on the ledger itself: one point read, with its validation code."""
    tx_id = text.strip().lower()
    if len(tx_id) != 64 or any(c not in "0123456789abcdef" for c in tx_id):
        return []
    tx = await state.ledger.transaction_status(tx_id)
    if tx is None:
        return []
    return [{
        "kind": "transaction", "key": "", "tx_id": tx.tx_id, "block_number": tx.block_number,
        "timestamp": tx.timestamp.isoformat(), "org": await OriginResolver(state.ledger).creator(tx.tx_id),
        "status": tx.validation_code, "is_delete": False, "function": "", "vin": None,
    }]  # fmt: skip
