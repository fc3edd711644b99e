"""The lender page's projected-LTV chart: its data (months, band, threshold, breach month) agree
with the forecast and with the early-warning rule on the same loan; the SVG marks the breach."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.risk.early_warning import Thresholds, projected_ltv_rule
from app.services.projection import (
    LtvProjection,
    ProjectionUnavailable,
    project_lien,
    remaining_months,
)
from app.valuation.forecast import add_months
from app.valuation.registry import ModelRegistry
from app.valuation.schemas import VehicleInput
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market
from app.web.charts import ltv_projection_chart

from .conftest import SMALL

TODAY = date(2024, 11, 30)
OFFICER = SimpleNamespace(user=SimpleNamespace(msp_id="BankAMSP", role="loan_officer", username="loan1"))
VEHICLE = {  # as the ledger's vehicle record has it
    "vin": "LHGCV1F30PA000001", "make": "Toyota", "model": "Camry", "trim": "2.5HG", "year": 2021,
    "registration_date": "2021-05-12", "new_price": "219800.00", "region": "HZ", "currency": "CNY",
}  # fmt: skip


@pytest.fixture(scope="module")
def bank_service(tmp_path_factory: pytest.TempPathFactory) -> ValuationService:
    """Bank A's champion model (``residual-value-banka``) on a synthetic market."""
    service = ValuationService(ModelRegistry(Path(tmp_path_factory.mktemp("bank-models"))))
    market = generate_market(600, seed=5)
    service.train_and_register(
        market.sales, market.index, SMALL, source="synthetic", name="residual-value-banka"
    )
    return service


def today_value(service: ValuationService) -> float:
    vehicle = VehicleInput.model_validate(
        {"make": "Toyota", "model": "Camry", "trim": "2.5HG", "region": "HZ", "new_price": 219800.0,
         "first_registration": "2021-05-12", "valuation_date": TODAY.isoformat()}
    )  # fmt: skip
    return service.value(vehicle, "residual-value-banka", today=TODAY).value


def lien(amount: float, months: int) -> dict[str, Any]:
    maturity = add_months(TODAY, months)
    return {"lien_id": "L-CHART-1", "vin": VEHICLE["vin"], "secured_amount": f"{amount:.2f}",
            "maturity_date": maturity.isoformat(), "currency": "CNY"}  # fmt: skip


def project(service: ValuationService, amount: float, months: int) -> LtvProjection:
    return project_lien(service, OFFICER, lien(amount, months), VEHICLE, TODAY)


def first_firing_horizon(p: LtvProjection) -> int | None:
    """The shortest horizon at which projected_ltv_rule raises an alert on this projection."""
    rows = [(q.month, q.date, q.ltv, q.high) for q in p.points]
    for horizon in range(1, len(p.points)):
        if projected_ltv_rule(p.lien_id, p.vin, TODAY, rows, horizon_months=horizon):
            return horizon
    return None


def test_chart_data_spans_the_remaining_term_with_band_threshold_and_the_rules_breach_month(
    bank_service: ValuationService,
) -> None:
    value = today_value(bank_service)
    # 90 % of today's value over ten years: paid down slower than the car loses value at first
    p = project(bank_service, 0.9 * value, 120)
    assert [q.month for q in p.points] == list(range(121))
    assert [q.date for q in p.points] == [add_months(TODAY, m) for m in range(121)]
    assert p.points[0].ltv == pytest.approx(0.9, abs=2e-3)
    assert all(q.low <= q.ltv <= q.high for q in p.points)
    assert p.points[-1].ltv == 0.0  # repaid at maturity
    assert p.threshold == Thresholds().ltv_medium
    # the band's upper bound starts under the threshold and crosses it within the rule's year
    assert p.points[0].high <= p.threshold
    assert p.breach_month is not None and 1 < p.breach_month <= 12
    assert all(q.high <= p.threshold for q in p.points[1 : p.breach_month])
    assert p.points[p.breach_month].high > p.threshold
    # the breach month is the first month the early-warning rule looks ahead to and fires
    assert first_firing_horizon(p) == p.breach_month
    assert [a.rule for a in p.alerts] == ["projected_ltv_breach"]
    assert p.alerts[0].severity == "medium" and p.alerts[0].evidence["months_ahead"] == p.breach_month


def test_a_loan_paid_down_fast_has_no_breach_and_no_alert(bank_service: ValuationService) -> None:
    p = project(bank_service, 0.3 * today_value(bank_service), 12)
    assert len(p.points) == 13 and p.breach_month is None and p.breach is None
    assert p.alerts == [] and first_firing_horizon(p) is None


def test_no_projection_without_the_banks_model_or_the_right_role(bank_service: ValuationService) -> None:
    bank_b = SimpleNamespace(user=SimpleNamespace(msp_id="BankBMSP", role="loan_officer", username="x"))
    with pytest.raises(ProjectionUnavailable, match="residual-value-bankb"):
        project_lien(bank_service, bank_b, lien(1000, 12), VEHICLE, TODAY)
    auditor = SimpleNamespace(user=SimpleNamespace(msp_id="BankAMSP", role="auditor", username="a"))
    with pytest.raises(ProjectionUnavailable, match="value needs"):
        project_lien(bank_service, auditor, lien(1000, 12), VEHICLE, TODAY)
    with pytest.raises(ProjectionUnavailable, match="no positive balance"):
        project_lien(bank_service, OFFICER, lien(0, 12), VEHICLE, TODAY)


def test_remaining_months_counts_part_months_and_is_bounded() -> None:
    assert remaining_months(date(2025, 11, 30), TODAY) == 12
    assert remaining_months(date(2025, 12, 1), TODAY) == 13
    assert remaining_months(TODAY - timedelta(days=3), TODAY) == 1
    assert remaining_months(date(2060, 1, 1), TODAY) == 120


def test_svg_has_title_desc_band_threshold_and_marks_the_breach(bank_service: ValuationService) -> None:
    p = project(bank_service, 0.9 * today_value(bank_service), 120)
    labels = {"ltv": "LTV", "band": "band", "threshold": "threshold", "breach": "breach", "month": "months"}
    rows = [(q.month, q.ltv, q.low, q.high) for q in p.points]
    svg = str(
        ltv_projection_chart("Projected LTV", "desc text", rows, p.threshold, p.breach_month, labels=labels)
    )
    assert "<title id=" in svg and "<desc id=" in svg and "desc text" in svg
    assert 'data-testid="ltv-band"' in svg and 'data-testid="ltv-threshold"' in svg
    assert f'data-testid="ltv-breach" data-month="{p.breach_month}"' in svg
    quiet = str(ltv_projection_chart("t", "d", rows, 99.0, None, labels=labels))
    assert "ltv-breach" not in quiet and "threshold 99.00" in quiet
