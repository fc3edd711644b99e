"""Monitoring a served card: PSI per variable and of the score; back-test by band; metrics text."""

from __future__ import annotations

import numpy as np

from app.risk.monitoring import MonitorReport, backtest, population_stability, prometheus_text, psi, status_of

from .conftest import TrainedCard


def test_psi_values() -> None:
    assert psi(np.array([50, 50]), np.array([50, 50])) == 0.0
    assert psi(np.array([90, 10]), np.array([50, 50])) > 0.25 and status_of(0.3) == "shift"
    assert status_of(0.05) == "stable" and status_of(0.2) == "watch"


def test_population_shift_is_detected(card: TrainedCard) -> None:
    compiled = card.result.compiled
    same = MonitorReport("m")
    population_stability(compiled, card.frame.astype(str), same, compiled.score_reference)
    assert same.psi_score is not None and same.psi_score < 0.05
    shifted = card.frame.copy()
    shifted["monthly_income"] = ""  # an upstream change: income no longer captured
    report = MonitorReport("m")
    population_stability(compiled, shifted.astype(str), report, compiled.score_reference)
    assert report.psi_variables["monthly_income"] > 0.25
    assert report.psi_score is not None and report.psi_score > same.psi_score


def test_backtest_flags_a_band_with_more_defaults(card: TrainedCard) -> None:
    compiled = card.result.compiled
    raw = card.frame.loc[card.frame["loan_status"] != "Current"].reset_index(drop=True).astype(str)
    y = card.result.book.y.copy()
    report = MonitorReport("m")
    backtest(compiled, raw, y, report)
    assert sum(r["loans"] for r in report.backtest) == len(y)
    worse = np.where(np.random.default_rng(0).uniform(size=len(y)) < 0.5, 1, y)
    report = MonitorReport("m")
    backtest(compiled, raw, worse, report)
    assert any(r["verdict"] == "more defaults than predicted" for r in report.backtest)
    text = prometheus_text(report).decode()
    assert 'mledger_risk_backtest_binomial_p_value{band="A",model="m"}' in text
