"""The lender page's projected-LTV chart for one loan (``/lender?projection=<lien id>``).

Read as the logged-in user (the contract's rules apply to the lien, the vehicle and the account),
forecast with the bank's champion valuation model (:mod:`app.services.projection`) and drawn as a
server-side SVG with a table of the same figures for screen readers and no-SVG browsers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import Request

from app.api.deps import AuthUser
from app.api.reads import evaluate
from app.ledger.port import LedgerError
from app.services.projection import LtvProjection, ProjectionUnavailable, project_lien
from app.services.valuation import valuation_service
from app.web.charts import ltv_projection_chart
from app.web.i18n import pick_lang, translator
from app.web.pages import state_of

logger = logging.getLogger(__name__)


async def projection_context(request: Request, user: AuthUser, lien_id: str) -> dict[str, Any]:
    """Template context: ``projection`` and its ``projection_chart``, or ``projection_error``."""
    state = state_of(request)
    out: dict[str, Any] = {"projection_lien": lien_id}
    try:
        lien = await evaluate(state, user.caller, "GetLien", lien_id)
        vehicle = await evaluate(state, user.caller, "GetVehicle", str(lien["vin"]))
        outstanding = await _outstanding(state, user, lien_id)
        projection = await asyncio.to_thread(
            project_lien, valuation_service(), user, lien, vehicle, None, outstanding
        )
    except LedgerError as exc:
        out["projection_error"] = exc.message
        return out
    except ProjectionUnavailable as exc:
        logger.info("no LTV projection for lien %s (%s)", lien_id, type(exc.__cause__ or exc).__name__)
        out["projection_error"] = str(exc)
        return out
    out["projection"] = projection
    out["projection_chart"] = chart(projection, translator(pick_lang(request)))
    return out


async def _outstanding(state: Any, user: AuthUser, lien_id: str) -> Any:
    """The balance the lienholder last reported, when there is one (else the secured amount is used)."""
    try:
        account = await evaluate(state, user.caller, "GetLienAccount", lien_id)
    except LedgerError:
        return None
    balance = account.get("balance") if isinstance(account, dict) else None
    return balance.get("outstanding") if isinstance(balance, dict) else None


def chart(p: LtvProjection, t: Any) -> Any:
    breach = p.breach
    if breach is None:
        finding = t("no_breach")
    else:
        finding = f"{t('ltv_breach')}: {breach.month} ({breach.date.isoformat()}), {breach.high:.2f}"
    desc = (
        f"{p.lien_id}: {t('projected_ltv')}, {len(p.points) - 1} {t('months')}; "
        f"{t('ltv_threshold')} {p.threshold:.2f}; {finding}"
    )
    labels = {
        "ltv": t("ltv"),
        "band": t("ltv_band"),
        "threshold": t("ltv_threshold"),
        "breach": t("ltv_breach"),
        "month": t("months_ahead"),
    }
    return ltv_projection_chart(
        f"{t('projected_ltv')} — {p.lien_id}",
        desc,
        [(q.month, q.ltv, q.low, q.high) for q in p.points],
        p.threshold,
        p.breach_month,
        labels=labels,
    )
