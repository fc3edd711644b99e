from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.risk.portfolio import (
    PortfolioMonitor,
    balance_after,
    evaluate_warnings,
    simulate_portfolio,
    synthetic_vin,
)
from app.valuation.model import TrainConfig
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market


@pytest.fixture(scope="module")
def valuation(tmp_path_factory: pytest.TempPathFactory) -> ValuationService:
    service = ValuationService(ModelRegistry(Path(tmp_path_factory.mktemp("pm"))))
    market = generate_market(3000, seed=13)
    service.train_and_register(market.sales, market.index, TrainConfig(num_boost_round=150))
    return service


def test_monitor_flags_most_defaults_early_with_few_false_alarms(valuation: ValuationService) -> None:
    portfolio = simulate_portfolio(500, days=150, seed=3)
    assert 15 <= len(portfolio.defaults) <= 50
    result = PortfolioMonitor(valuation=valuation).run(portfolio)
    report = evaluate_warnings(portfolio, result.alerts)
    assert report["detection_rate"] >= 0.35
    assert report["false_alarm_rate"] <= 0.15
    assert report["detection_rate"] > 3 * report["false_alarm_rate"]
    # every loan was revalued at each step, with positive values and LTVs
    assert set(result.ltv["day"]) == {0, 30, 60, 90, 120, 149}
    assert (result.ltv["value"] > 0).all() and result.ltv["ltv"].between(0, 3).all()


def test_monitor_is_deterministic_and_causal() -> None:
    portfolio = simulate_portfolio(200, days=90, seed=4)
    full = PortfolioMonitor().run(portfolio)
    again = PortfolioMonitor().run(portfolio)
    assert [a.alert_id for a in full.alerts] == [a.alert_id for a in again.alerts]
    assert full.notes == ["LTV rule skipped: no valuation model"]
    # running as of day 60 raises the explicit-rule alerts dated <= day 60 that the full run raised
    early = PortfolioMonitor(anomaly=False).run(portfolio, as_of_day=60)
    late = PortfolioMonitor(anomaly=False).run(portfolio)
    cutoff = portfolio.start.toordinal() + 60
    assert {a.alert_id for a in early.alerts} == {
        a.alert_id for a in late.alerts if a.observed_at.toordinal() <= cutoff
    }


def test_balance_and_vin_helpers() -> None:
    assert balance_after(np.array([100_000.0]), 0.06, np.array([36]), np.array([36]))[0] == pytest.approx(
        0, abs=1e-6
    )
    assert balance_after(np.array([100_000.0]), 0.06, np.array([36]), np.array([0]))[0] == pytest.approx(
        100_000
    )
    vin = synthetic_vin(np.random.default_rng(1))
    assert len(vin) == 17 and not set(vin) & set("IOQ")
