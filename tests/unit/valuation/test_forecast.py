"""Issue 17 point 5: value over the loan's term and the projected-LTV early warning."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date

import pytest

from app.risk.early_warning import projected_ltv_rule
from app.valuation.forecast import ForecastPoint, LoanTerms, add_months, annuity_balances
from app.valuation.schemas import VehicleInput

from .conftest import VEHICLE, Trained


def test_annuity_balance_runs_down_to_zero_at_the_end_of_the_term() -> None:
    balances = annuity_balances(LoanTerms(120_000, 0.06, 24), 30)
    assert balances[0] == 120_000 and balances[24] == 0.0 and balances[30] == 0.0
    assert all(a > b for a, b in itertools.pairwise(balances[:25]))
    assert annuity_balances(LoanTerms(1200, 0.0, 12), 1)[1] == pytest.approx(1100)


def test_add_months_clamps_the_day() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 14) == date(2026, 1, 30)


def test_forecast_starts_at_todays_valuation_falls_with_age_and_widens(trained: Trained) -> None:
    vehicle = VehicleInput.model_validate(VEHICLE)
    today = trained.service.value(vehicle)
    loaded, points = trained.service.forecast(vehicle, None, 36, LoanTerms(150_000, 0.05, 36))
    assert points[0].value == pytest.approx(today.value, abs=0.01)
    assert points[0].low == pytest.approx(today.interval.low, abs=0.01)
    assert points[36].value < points[12].value < points[0].value
    rel = [(p.high - p.low) / p.value for p in points]
    assert all(b >= a for a, b in itertools.pairwise(rel))
    assert points[36].balance == 0.0 and points[0].ltv == pytest.approx(150_000 / today.value, abs=1e-3)
    assert points[6].ltv_high is not None and points[6].ltv_high > points[6].ltv  # type: ignore[operator]
    assert abs(loaded.model.trend_per_month) <= 0.01  # damped and capped market drift


def _projection(points: Sequence[ForecastPoint]) -> list[tuple[int, date, float, float]]:
    """(month, date, LTV, pessimistic LTV) as the early-warning rule takes them; a loan was given."""
    out = []
    for p in points:
        assert p.ltv is not None and p.ltv_high is not None, f"month {p.month}: no LTV with a loan"
        out.append((p.month, p.date, p.ltv, p.ltv_high))
    return out


def test_projected_ltv_breach_warns_before_the_breach(trained: Trained) -> None:
    vehicle = VehicleInput.model_validate(VEHICLE)
    value = trained.service.value(vehicle).value
    # an interest-only-like loan (long term) on 95 % of today's value: the car loses value faster
    _, points = trained.service.forecast(vehicle, None, 24, LoanTerms(0.95 * value, 0.08, 120))
    alerts = projected_ltv_rule("L1", "VIN1", date(2024, 11, 30), _projection(points))
    assert len(alerts) == 1 and alerts[0].rule == "projected_ltv_breach"
    assert alerts[0].severity in ("medium", "high") and alerts[0].observed_at == date(2024, 11, 30)
    assert 0 < alerts[0].evidence["months_ahead"] <= 12
    # a loan paid down quickly never reaches the limit
    _, safe = trained.service.forecast(vehicle, None, 24, LoanTerms(0.3 * value, 0.05, 12))
    assert projected_ltv_rule("L2", "VIN2", date(2024, 11, 30), _projection(safe)) == []
