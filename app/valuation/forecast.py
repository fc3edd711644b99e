"""Value over the loan's term: a monthly residual-value forecast with an interval, and projected LTV.

Month by month the vehicle ages and is driven (at its own past rate, or the training data's
median): the depreciation curve of its segment node gives the change in log value from both,
the market trend (damped, capped) adds its drift, and the interval widens from today's
conformal half-width by the market's yearly volatility (√months). With a loan's balance, rate and
remaining term the annuity balance gives the projected LTV, on the point value and — the
early-warning view — on the interval's low value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from app.valuation.model import MARKET_VOL_PER_YEAR, ValuationModel


@dataclass(frozen=True)
class LoanTerms:
    balance: float
    annual_rate: float
    remaining_months: int


@dataclass(frozen=True)
class ForecastPoint:
    month: int
    date: date
    value: float
    low: float
    high: float
    balance: float | None = None
    ltv: float | None = None
    ltv_high: float | None = None  # balance / low value


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    days = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][month - 1]
    return date(year, month, min(d.day, days))


def annuity_balances(loan: LoanTerms, months: int) -> list[float]:
    """Outstanding principal after each month (index 0 = today) of an annuity loan."""
    r = loan.annual_rate / 12.0
    n = loan.remaining_months
    payment = loan.balance / n if r == 0 else loan.balance * r / (1 - (1 + r) ** -n)
    out, bal = [loan.balance], loan.balance
    for _ in range(months):
        bal = max(0.0, bal * (1 + r) - payment) if bal > 0 else 0.0
        out.append(bal if bal > 0.005 else 0.0)
    return out


def forecast(
    model: ValuationModel, vehicle: pd.DataFrame, start: date, months: int, loan: LoanTerms | None = None
) -> list[ForecastPoint]:
    """Monthly points 0..months for one vehicle (a one-row frame as valued today)."""
    value, _, high = (float(a[0]) for a in model.value_frame(vehicle))
    log_v = math.log(value)
    h0 = math.log(high) - log_v
    beta = model.curve.coefficients(model.design, vehicle)[0]
    age_slope = float(beta[1]) / 12.0  # per month
    km_slope = float(beta[2]) / 1e5 if len(beta) > 2 else 0.0  # per km
    km_rate = model.km_per_month
    if "mileage_km" in vehicle and np.isfinite(pd.to_numeric(vehicle["mileage_km"], errors="coerce")).all():
        age = float(vehicle["age_months"].iloc[0])
        if age >= 6:
            km_rate = float(vehicle["mileage_km"].iloc[0]) / age
    per_month = age_slope + km_slope * km_rate + model.trend_per_month
    balances = annuity_balances(loan, months) if loan else None
    points = []
    for m in range(months + 1):
        centre = log_v + per_month * m
        half = math.sqrt(h0**2 + MARKET_VOL_PER_YEAR**2 * m / 12.0)
        v, lo, hi = math.exp(centre), math.exp(centre - half), math.exp(centre + half)
        bal = balances[m] if balances else None
        points.append(
            ForecastPoint(
                m,
                add_months(start, m),
                round(v, 2),
                round(lo, 2),
                round(hi, 2),
                None if bal is None else round(bal, 2),
                None if bal is None else round(bal / v, 4),
                None if bal is None else round(bal / lo, 4),
            )
        )
    return points
