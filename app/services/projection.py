"""Projected LTV of one loan over its remaining term, for the lender page's chart.

The vehicle's residual-value forecast (the bank's champion model, :mod:`app.valuation.forecast`)
is set against the loan's balance month by month: LTV on the point value, and a band from the
balance over the interval's high value to the balance over its low value. The threshold line and
the breach month are the early-warning rule's (:func:`app.risk.early_warning.projected_ltv_rule`):
the first month ahead where the pessimistic LTV (the band's upper bound) passes ``ltv_medium``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from app.risk.alerts import Alert
from app.risk.early_warning import Thresholds, projected_ltv_rule
from app.valuation.access import Action, authorise, bank_model_name
from app.valuation.errors import AccessDenied, InputError, ModelNotFoundError
from app.valuation.forecast import ForecastPoint, LoanTerms
from app.valuation.schemas import VehicleInput
from app.valuation.service import ValuationService, today_utc

MAX_MONTHS = 120  # the chart spans at most ten years of a loan's remaining term
LIEN_RATE = 0.0  # a lien records no interest rate: the balance is paid down evenly to maturity
#: vehicle record fields → valuation inputs (only those the model was trained on are given)
VEHICLE_FIELDS = {
    "make": "make",
    "model": "model",
    "trim": "trim",
    "region": "region",
    "new_price": "new_price",
}


@dataclass(frozen=True)
class ProjectionPoint:
    month: int
    date: date
    ltv: float  # balance / forecast value
    low: float  # balance / the interval's high value
    high: float  # balance / the interval's low value (pessimistic: what the rule watches)


@dataclass(frozen=True)
class LtvProjection:
    lien_id: str
    vin: str
    as_of: date
    balance: float
    currency: str
    points: list[ProjectionPoint]
    threshold: float
    breach_month: int | None  # first month ahead with ``high`` above ``threshold``
    alerts: list[Alert]  # what projected_ltv_rule raises today on the same forecast
    model_ref: str

    @property
    def breach(self) -> ProjectionPoint | None:
        return next((p for p in self.points if p.month == self.breach_month), None)


class ProjectionUnavailable(Exception):
    """Why a loan has no chart (no model, the model cannot value the vehicle, no access)."""


def remaining_months(maturity: date, today: date) -> int:
    """Whole months from today to maturity (part months count), between 1 and MAX_MONTHS."""
    months = (maturity.year - today.year) * 12 + maturity.month - today.month
    if maturity.day > today.day:
        months += 1
    return max(1, min(MAX_MONTHS, months))


def projection_from_forecast(
    lien_id: str,
    vin: str,
    as_of: date,
    points: Sequence[ForecastPoint],
    currency: str = "CNY",
    model_ref: str = "",
    th: Thresholds | None = None,
) -> LtvProjection:
    """The chart's data from forecast points made with a loan (every point has its balance)."""
    th = th or Thresholds()
    out = []
    for p in points:
        if p.balance is None or p.ltv is None or p.ltv_high is None:
            raise ValueError(f"month {p.month}: the forecast was made without a loan")
        out.append(ProjectionPoint(p.month, p.date, p.ltv, round(p.balance / p.high, 4), p.ltv_high))
    breach = next((p.month for p in out if p.month > 0 and p.high > th.ltv_medium), None)
    alerts = projected_ltv_rule(lien_id, vin, as_of, [(p.month, p.date, p.ltv, p.high) for p in out], th)
    balance = float(points[0].balance or 0.0)
    return LtvProjection(
        lien_id, vin, as_of, balance, currency, out, th.ltv_medium, breach, alerts, model_ref
    )


def vehicle_input(vehicle: Mapping[str, Any], known: set[str], today: date) -> VehicleInput:
    """The valuation inputs a vehicle record gives (its registration date is the first registration)."""
    fields: dict[str, Any] = {"valuation_date": today, "first_registration": vehicle.get("registration_date")}
    for source, name in VEHICLE_FIELDS.items():
        value = vehicle.get(source)
        if name in known and value not in (None, ""):
            fields[name] = float(value) if name == "new_price" else str(value)
    return VehicleInput.model_validate(fields)


def project_lien(
    service: ValuationService,
    user: Any,
    lien: Mapping[str, Any],
    vehicle: Mapping[str, Any],
    today: date | None = None,
    outstanding: Any = None,
) -> LtvProjection:
    """Forecast the lien's vehicle with the bank's champion model over the loan's remaining term
    (from ``today``, by default today in UTC as valuations date themselves)."""
    today = today or today_utc()
    try:
        authorise(user, Action.value, None)
        name = bank_model_name(user.user.msp_id)
        known = set(service.load(name).model.design.input_columns())
        balance = _amount(outstanding) or _amount(lien.get("secured_amount"))
        if balance is None or balance <= 0:
            raise ProjectionUnavailable("the loan has no positive balance")
        months = remaining_months(date.fromisoformat(str(lien["maturity_date"])), today)
        loaded, points = service.forecast(
            vehicle_input(vehicle, known, today), name, months, LoanTerms(balance, LIEN_RATE, months)
        )
    except (AccessDenied, InputError, ModelNotFoundError, ValueError) as exc:
        raise ProjectionUnavailable(str(exc)) from exc
    return projection_from_forecast(
        str(lien["lien_id"]), str(lien["vin"]), today, points, str(lien.get("currency") or ""), loaded.ref.ref
    )


def _amount(value: Any) -> float | None:
    try:
        amount = float(Decimal(str(value))) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return amount if amount is not None and math.isfinite(amount) else None
