"""Monitoring a served card: population stability of new applications (per variable, over the card's
own bins, and of the score) and a back-test of PD by band on matured loans; exported as Prometheus
metrics so the bank's alerting sees drift without reading reports.

PSI = Σ (actual − expected) · ln(actual / expected) over bins; below 0.10 stable, 0.10–0.25 watch,
above 0.25 a shift that calls for review.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from scipy.stats import binomtest

from app.risk.book import frame_values
from app.risk.metrics import evaluate
from app.risk.scorecard import CompiledScorecard
from app.valuation.errors import FieldProblem

EPS = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.clip(e / max(e.sum(), 1e-12), EPS, None)
    a = np.clip(a / max(a.sum(), 1e-12), EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def status_of(value: float) -> str:
    return "stable" if value < 0.10 else "watch" if value < 0.25 else "shift"


def score_reference(points: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Decile cut points of the book's scores and the book's share in each, stored with the card."""
    cuts = np.unique(np.quantile(points, np.linspace(0, 1, bins + 1)[1:-1])).tolist()
    idx = np.searchsorted(cuts, points, side="right")
    shares = (np.bincount(idx, minlength=len(cuts) + 1) / len(points)).tolist()
    return {"cuts": [float(c) for c in cuts], "shares": [float(s) for s in shares]}


@dataclass
class MonitorReport:
    model: str
    applications: int = 0
    psi_variables: dict[str, float] = field(default_factory=dict)
    psi_score: float | None = None
    backtest: list[dict[str, Any]] = field(default_factory=list)
    backtest_overall: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "applications": self.applications,
            "psi": {n: {"psi": v, "status": status_of(v)} for n, v in self.psi_variables.items()},
            "score_psi": None
            if self.psi_score is None
            else {"psi": self.psi_score, "status": status_of(self.psi_score)},
            "backtest": self.backtest,
            "backtest_overall": self.backtest_overall,
            "problems": self.problems[:50],
        }


def population_stability(
    card: CompiledScorecard,
    raw: pd.DataFrame,
    report: MonitorReport,
    reference: dict[str, list[float]] | None,
) -> None:
    values, problems = frame_values(card.readers, card.derived, raw)
    report.problems += [str(p) for p in problems[:50]]
    report.applications = len(raw)
    for var in card.variables:
        idx = var.bins.bin_index(values[var.bins.name].to_numpy())
        actual = np.bincount(idx, minlength=len(var.bins.counts))
        report.psi_variables[var.bins.name] = psi(np.asarray(var.bins.counts), actual)
    if reference:
        points, _ = card.score_frame(values)
        idx = np.searchsorted(reference["cuts"], points, side="right")
        actual = np.bincount(idx, minlength=len(reference["shares"]))
        report.psi_score = psi(np.asarray(reference["shares"]), actual)


def backtest(card: CompiledScorecard, raw: pd.DataFrame, y: np.ndarray, report: MonitorReport) -> None:
    """Observed default rate by band against the band's PD, with a two-sided binomial test."""
    values, problems = frame_values(card.readers, card.derived, raw)
    report.problems += [str(p) for p in problems[:50]]
    _, pd_ = card.score_frame(values)
    bands = np.array([card.band_of(float(p)) for p in pd_])
    for band in card.bands:
        mask = bands == band.name
        loans, bads = int(mask.sum()), int(y[mask].sum())
        predicted = float(pd_[mask].mean()) if loans else band.pd
        p_value = (
            float(binomtest(bads, loans, min(max(predicted, 1e-9), 1 - 1e-9)).pvalue) if loans else math.nan
        )
        report.backtest.append(
            {
                "band": band.name,
                "loans": loans,
                "bads": bads,
                "observed_rate": bads / loans if loans else None,
                "predicted_pd": predicted,
                "p_value": p_value if loans else None,
                "verdict": (
                    "no loans"
                    if not loans
                    else "consistent"
                    if p_value >= 0.05
                    else "more defaults than predicted"
                    if bads / loans > predicted
                    else "fewer defaults than predicted"
                ),
            }
        )
    if 0 < y.sum() < len(y):
        figures = evaluate(y, pd_)
        report.backtest_overall = {
            k: figures[k] for k in ("auc", "ks", "brier", "bad_rate", "mean_pd", "calibration_slope", "ece")
        }


def outcome_labels(
    cells: pd.Series, outcome: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, list[FieldProblem]]:
    """(y, keep mask, problems) for matured loans, with the outcome rules the card was trained on."""

    def norm(v: Any) -> str:
        text = str(v).strip()
        try:
            return repr(float(text))
        except ValueError:
            return text.lower()

    bad = {norm(v) for v in outcome.get("bad") or [1]}
    good = {norm(v) for v in outcome["good"]} if outcome.get("good") is not None else None
    if good is None and bad == {norm(1)}:
        good = {norm(0)}
    excl = {norm(v) for v in outcome.get("exclude") or []}
    labels = cells.astype(str).map(norm)
    is_bad = labels.isin(bad).to_numpy()
    is_excl = labels.isin(excl).to_numpy() | cells.astype(str).str.strip().eq("").to_numpy()
    is_good = labels.isin(good).to_numpy() if good is not None else ~is_bad & ~is_excl
    problems = [
        FieldProblem(
            str(outcome.get("column")),
            "outcome label is neither bad nor good",
            int(i) + 1,
            str(cells.iloc[i]),
        )
        for i in np.flatnonzero(~(is_bad | is_good | is_excl))[:50]
    ]
    keep = (is_bad | is_good) & ~is_excl
    return is_bad[keep].astype(int), keep, problems


def prometheus_text(report: MonitorReport) -> bytes:
    """The report as Prometheus exposition text (for /metrics scraping or a node-exporter textfile)."""
    registry = CollectorRegistry()
    model = report.model
    g = Gauge(
        "mledger_risk_psi",
        "Population stability index of a scorecard variable on new applications.",
        ["model", "variable"],
        registry=registry,
    )
    for name, value in report.psi_variables.items():
        g.labels(model, name).set(value)
    if report.psi_score is not None:
        Gauge(
            "mledger_risk_score_psi",
            "Population stability index of the score on new applications.",
            ["model"],
            registry=registry,
        ).labels(model).set(report.psi_score)
    Gauge(
        "mledger_risk_monitored_applications",
        "Applications in the last monitoring run.",
        ["model"],
        registry=registry,
    ).labels(model).set(report.applications)
    gauges = {
        "loans": Gauge(
            "mledger_risk_backtest_loans", "Matured loans in the band.", ["model", "band"], registry=registry
        ),
        "observed_rate": Gauge(
            "mledger_risk_backtest_observed_default_rate",
            "Observed default rate of matured loans.",
            ["model", "band"],
            registry=registry,
        ),
        "predicted_pd": Gauge(
            "mledger_risk_backtest_predicted_pd",
            "Mean predicted PD of matured loans.",
            ["model", "band"],
            registry=registry,
        ),
        "p_value": Gauge(
            "mledger_risk_backtest_binomial_p_value",
            "Two-sided binomial test, observed vs predicted.",
            ["model", "band"],
            registry=registry,
        ),
    }
    for row in report.backtest:
        for key, gauge in gauges.items():
            if row.get(key) is not None:
                gauge.labels(model, row["band"]).set(float(row[key]))
    return generate_latest(registry)
