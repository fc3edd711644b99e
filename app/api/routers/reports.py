"""Reports at registry scale, from the read model: the regulator's dashboard, a bank's portfolio, the
auditor's change search and its streamed CSV export. Each answer names the block height it reflects.

The same access rules as the pages: the dashboard for the regulator and auditors, a portfolio for a
bank's own liens, history (changes) for auditors of any org and the regulator (rule ``history_read``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.api.deps import AuthUser, CurrentUser, State
from app.services import reports
from app.services.errors import NotPermitted
from app.users.roles import Role
from chaincode.consortium import OrgKind, msp_ids

router = APIRouter(prefix="/reports", tags=["reports"])

HISTORY_ROLES = {Role.auditor, Role.regulator}


def _oversight(user: AuthUser) -> None:
    if user.user.msp_id != "RegulatorMSP" and user.role is not Role.auditor:
        raise NotPermitted("the dashboard is for the regulator and auditors")


def _history(user: AuthUser) -> None:
    if user.role not in HISTORY_ROLES:
        raise NotPermitted("access rule 'history_read': auditors of any org and the regulator")


Text = Annotated[str, Query(max_length=100)]


def _filter(
    q: Text = "",
    vin: Text = "",
    plate: Text = "",
    owner_hash: Text = "",
    lienholder: Text = "",
    tx_id: Text = "",
    lien_id: Text = "",
    date_from: Annotated[str, Query(alias="from", max_length=100)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=100)] = "",
) -> reports.SearchFilter:
    """The change search's query parameters (the JSON search and its CSV export take the same)."""
    base = reports.search_filter(
        q, date_from=date_from, date_to=date_to, lienholder=lienholder, owner_hash=owner_hash
    )
    return reports.SearchFilter(
        text=base.text,
        vin=vin.strip()[:17],
        plate=plate.strip()[:32],
        owner_hash=base.owner_hash,
        lienholder=base.lienholder,
        tx_id=tx_id.strip()[:64],
        lien_id=lien_id.strip()[:64],
        date_from=base.date_from,
        date_to=base.date_to,
    )


Search = Annotated[reports.SearchFilter, Depends(_filter)]


@router.get("/dashboard", summary="Regulator dashboard: exact counts, liens by month, LTV, alerts")
async def dashboard(state: State, user: CurrentUser) -> dict[str, Any]:
    _oversight(user)
    return await reports.regulator_dashboard(state)


@router.get("/portfolio", summary="The caller's bank's liens with valuation, LTV and alerts (one page)")
async def portfolio(
    state: State, user: CurrentUser, after: Text = "", limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    if user.user.msp_id not in msp_ids(OrgKind.bank):
        raise NotPermitted(f"a portfolio is a bank's own liens ({user.user.msp_id} is not a bank)")
    page = await reports.lender_portfolio(state, user.user.msp_id, after=after, limit=limit)
    return {
        "block_height": page.block_height,
        "lienholder": page.lienholder,
        "total": page.total,
        "by_status": dict(page.by_status),
        "next_after": page.next_after,
        "rows": [
            {**row, "ltv": None if row["ltv"] is None else str(round(row["ltv"], 4))} for row in page.rows
        ],
    }


@router.get(
    "/changes", summary="Auditor search: every change by VIN, plate, owner hash, lienholder, tx, dates"
)
async def changes(
    state: State,
    user: CurrentUser,
    f: Search,
    before: Text = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    _history(user)
    result = await reports.audit_search(state, f, before=before, limit=limit)
    return {"block_height": result.block_height, "rows": result.rows, "next_before": result.next_before}


@router.get(
    "/changes.csv", summary="The same search as a CSV stream (constant memory; X-Block-Height header)"
)
async def changes_csv(
    state: State,
    user: CurrentUser,
    f: Search,
) -> StreamingResponse:
    _history(user)
    height, chunks = await reports.audit_export(state, f)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="changes.csv"', "X-Block-Height": str(height)},
    )
