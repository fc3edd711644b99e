"""Oversight views: the auditor's history search (with CSV) and the regulator's dashboard."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import AuthUser
from app.ledger.port import LedgerError
from app.users.roles import Role
from app.web import data
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

CSV_COLUMNS = ("kind", "key", "tx_id", "block_number", "timestamp", "org", "status", "is_delete")


async def _audit_rows(request: Request, user: AuthUser, q: str) -> list[data.AuditRow]:
    return await data.audit_search(state_of(request), user.caller, q) if q.strip() else []


@router.get("/audit", response_model=None)
async def audit_page(request: Request, q: str = "") -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.role not in HISTORY_ROLES:
        return error_page(request, 403, "access rule 'history_read': auditors of any org and the regulator")
    try:
        rows = await _audit_rows(request, user, q[:100])
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return render(request, "audit.html", user=user, q=q, rows=rows)


@router.get("/audit.csv", response_model=None)
async def audit_csv(request: Request, q: str = "") -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.role not in HISTORY_ROLES:
        return error_page(request, 403, "access rule 'history_read': auditors of any org and the regulator")
    try:
        rows = await _audit_rows(request, user, q[:100])
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, c) if getattr(row, c) is not None else "" for c in CSV_COLUMNS])
    ascii_name = "".join(c for c in q if (c.isascii() and c.isalnum()) or c in "-_")[:70] or "history"
    utf8_name = quote(f"audit-{q[:70]}.csv")
    disposition = f"attachment; filename=\"audit-{ascii_name}.csv\"; filename*=UTF-8''{utf8_name}"
    return Response(
        "\ufeff" + out.getvalue(),  # BOM: spreadsheet programs then read the Chinese plates right
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
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
        stats = await data.regulator_stats(state_of(request), user.caller)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
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
