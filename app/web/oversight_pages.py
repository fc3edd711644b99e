"""Oversight views: the auditor's history search (with CSV) and the regulator's dashboard."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from app.api.deps import AuthUser
from app.ledger.port import LedgerError
from app.services import reports
from app.services.errors import ServiceError
from app.users.roles import Role
from app.web.charts import SEVERITY_COLOURS, bar_chart, grouped_columns
from app.web.i18n import pick_lang, translator, value_labeller
from app.web.pages import (
    HISTORY_ROLES,
    error_page,
    ledger_error_page,
    need_login,
    render,
    severity_label,
    state_of,
)

router = APIRouter(include_in_schema=False)


# --- auditor -------------------------------------------------------------------------------------


def _audit_filter(request: Request) -> reports.SearchFilter:
    params = request.query_params
    return reports.search_filter(
        params.get("q", ""), date_from=params.get("from", ""), date_to=params.get("to", "")
    )


def _audit_query(request: Request) -> str:
    """The search's own parameters (for the CSV and next-page links)."""
    params = request.query_params
    return urlencode({k: params[k] for k in ("q", "from", "to") if params.get(k)})


def _history_reader(request: Request) -> AuthUser | Response:
    """The signed-in caller if the access rule 'history_read' admits them, else the page to answer."""
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.role not in HISTORY_ROLES:
        return error_page(request, 403, "access rule 'history_read': auditors of any org and the regulator")
    return user


@router.get("/audit", response_model=None)
async def audit_page(request: Request, q: str = "", before: str = "") -> Response:
    user = _history_reader(request)
    if isinstance(user, Response):
        return user
    state = state_of(request)
    try:  # from the read model; a tx id it does not hold is looked up on the ledger itself
        search = _audit_filter(request)
        result = await reports.audit_search(state, search, before=before[:64])
        if not result.rows and search.text and not before:
            result.rows = await reports.ledger_transaction(state, search.text)
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return render(
        request, "audit.html", user=user, q=q, rows=result.rows, searched=not search.empty(),
        block_height=result.block_height, next_before=result.next_before, query=_audit_query(request),
        date_from=request.query_params.get("from", ""), date_to=request.query_params.get("to", ""),
    )  # fmt: skip


@router.get("/audit.csv", response_model=None)
async def audit_csv(request: Request, q: str = "") -> Response:
    user = _history_reader(request)
    if isinstance(user, Response):
        return user
    try:
        height, chunks = await reports.audit_export(state_of(request), _audit_filter(request))
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    label = q or "-".join(request.query_params.get(k, "") for k in ("from", "to"))
    ascii_name = "".join(c for c in label if (c.isascii() and c.isalnum()) or c in "-_")[:70] or "history"
    utf8_name = quote(f"audit-{label[:70]}.csv")
    disposition = f"attachment; filename=\"audit-{ascii_name}.csv\"; filename*=UTF-8''{utf8_name}"
    return StreamingResponse(  # rows go out as they are read: constant memory whatever the count
        chunks,  # the first chunk starts with a BOM: spreadsheet programs then read the Chinese plates right
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition, "X-Block-Height": str(height)},
    )


# --- regulator -----------------------------------------------------------------------------------


@router.get("/regulator", response_model=None)
async def regulator_page(request: Request) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.user.msp_id != "RegulatorMSP" and user.role is not Role.auditor:
        return error_page(request, 403, "the dashboard is for the regulator and auditors")
    try:
        stats = await reports.regulator_dashboard(state_of(request))
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    t = translator(pick_lang(request))
    v = value_labeller(pick_lang(request))
    charts = {
        "status": bar_chart(t("counts_by_status"), [(v(s), n) for s, n in stats["counts"]]),
        "months": grouped_columns(
            t("liens_over_time"), [(m, (r, x)) for m, r, x in stats["months"]], [t("recorded"), t("released")]
        ),
        "ltv": bar_chart(t("ltv_distribution"), stats["ltv"], colours=["#2563eb"]),
        "severity": bar_chart(
            t("alerts_by_severity"),
            [(severity_label(pick_lang(request), s), n) for s, n in stats["severity"]],
            colours=[SEVERITY_COLOURS[s] for s, _ in stats["severity"]],
        ),
    }
    return render(request, "regulator.html", user=user, stats=stats, charts=charts)
