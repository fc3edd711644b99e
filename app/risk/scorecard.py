"""Application scorecard: WoE binning + logistic regression (optbinning), scaled to points by PDO.

optbinning fits the bins and the regression; the result is then *compiled* into plain tables
(bin edges, points, WoE per variable) so that scoring is a few bisections — fast, dependency-free
at serving time, stored as JSON, and checked against optbinning's own score in the tests.
Higher points mean lower risk: ``scorecard_points`` at odds ``odds``:1 (good:bad), ``pdo`` points
to double the odds.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

from app.risk.borrowers import BORROWER_FEATURES

logger = logging.getLogger(__name__)

SCALING = {"pdo": 20.0, "odds": 50.0, "scorecard_points": 600.0}
PD_BANDS: tuple[tuple[float, str], ...] = ((0.02, "A"), (0.04, "B"), (0.08, "C"), (0.15, "D"), (1.01, "E"))


@dataclass
class CompiledVariable:
    name: str
    splits: list[float]  # bin i is [splits[i-1], splits[i]); first bin open below, last open above
    points: list[float]
    woe: list[float]
    labels: list[str]
    missing_points: float
    missing_woe: float
    coefficient: float

    def bin_of(self, x: float) -> int:
        return bisect.bisect_right(self.splits, x)


@dataclass
class Reason:
    variable: str
    value: float
    bin: str
    points: float
    points_below_best: float


@dataclass
class Score:
    points: float
    pd: float
    band: str
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class CompiledScorecard:
    variables: list[CompiledVariable]
    intercept: float
    scaling: dict[str, float]

    @property
    def features(self) -> list[str]:
        return [v.name for v in self.variables]

    def score(self, record: Mapping[str, float], reasons: int = 3) -> Score:
        total, logit = 0.0, self.intercept
        lost: list[Reason] = []
        for var in self.variables:
            x = float(record[var.name])
            if math.isnan(x):
                pts, woe, label = var.missing_points, var.missing_woe, "Missing"
            else:
                i = var.bin_of(x)
                pts, woe, label = var.points[i], var.woe[i], var.labels[i]
            total += pts
            logit += var.coefficient * woe
            lost.append(Reason(var.name, x, label, pts, max(var.points) - pts))
        pd_ = 1.0 / (1.0 + math.exp(-logit))
        top = sorted((r for r in lost if r.points_below_best > 1e-9), key=lambda r: -r.points_below_best)[
            :reasons
        ]
        return Score(total, pd_, band_of(pd_), top)

    def score_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(points, PD) for every row."""
        total = np.zeros(len(frame))
        logit = np.full(len(frame), self.intercept)
        for var in self.variables:
            x = frame[var.name].to_numpy(dtype=np.float64)
            idx = np.searchsorted(np.asarray(var.splits), x, side="right")
            pts = np.asarray(var.points)[np.minimum(idx, len(var.points) - 1)]
            woe = np.asarray(var.woe)[np.minimum(idx, len(var.woe) - 1)]
            missing = np.isnan(x)
            total += np.where(missing, var.missing_points, pts)
            logit += var.coefficient * np.where(missing, var.missing_woe, woe)
        return total, 1.0 / (1.0 + np.exp(-logit))

    def to_json(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "scaling": self.scaling,
                "variables": [v.__dict__ for v in self.variables]}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledScorecard:
        return cls([CompiledVariable(**v) for v in data["variables"]], float(data["intercept"]),
                   dict(data["scaling"]))  # fmt: skip


def band_of(pd_: float) -> str:
    return next(band for limit, band in PD_BANDS if pd_ < limit)


def discrimination(y: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """AUC, Gini and KS of a risk measure (higher = riskier) against outcomes."""
    auc = float(roc_auc_score(y, risk))
    fpr, tpr, _ = roc_curve(y, risk)
    return {"auc": auc, "gini": 2 * auc - 1, "ks": float(np.max(tpr - fpr)), "n": float(len(y)),
            "default_rate": float(np.mean(y))}  # fmt: skip


def fit_scorecard(frame: pd.DataFrame, features: Sequence[str], target: str = "default",
                  seed: int = 7) -> tuple[CompiledScorecard, Any]:  # fmt: skip
    """Fit optbinning's Scorecard and compile it; returns (compiled, optbinning Scorecard)."""
    from optbinning import BinningProcess, Scorecard  # heavy import, only when training

    binning = BinningProcess(variable_names=list(features), max_n_prebins=10, min_prebin_size=0.05)
    estimator = LogisticRegression(max_iter=1000, random_state=seed)
    card = Scorecard(binning_process=binning, estimator=estimator, scaling_method="pdo_odds",
                     scaling_method_params=dict(SCALING), reverse_scorecard=False)  # fmt: skip
    card.fit(frame[list(features)], frame[target].to_numpy())
    table = card.table(style="detailed")
    coef = dict(zip(features, card.estimator_.coef_[0], strict=True))
    variables: list[CompiledVariable] = []
    for name in features:
        rows = table[table["Variable"] == name]
        regular = rows[~rows["Bin"].astype(str).isin(["Special", "Missing"])]
        missing = rows[rows["Bin"].astype(str) == "Missing"].iloc[0]
        splits = [float(s) for s in card.binning_process_.get_binned_variable(name).splits]
        if len(regular) != len(splits) + 1:  # guards against a change in optbinning's table layout
            raise RuntimeError(f"{name}: {len(regular)} bins for {len(splits)} splits in optbinning's table")
        variables.append(CompiledVariable(
            name=name, splits=splits, points=[float(p) for p in regular["Points"]],
            woe=[float(w) for w in regular["WoE"]], labels=[str(b) for b in regular["Bin"]],
            missing_points=float(missing["Points"]), missing_woe=float(missing["WoE"]),
            coefficient=float(coef[name]),
        ))  # fmt: skip
    return CompiledScorecard(variables, float(card.estimator_.intercept_[0]), dict(SCALING)), card


@dataclass
class ScorecardTraining:
    scorecard: CompiledScorecard
    baseline: CompiledScorecard
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    split: dict[str, int]


def train_scorecard(
    frame: pd.DataFrame,
    features: Sequence[str],
    baseline_features: Sequence[str] = BORROWER_FEATURES,
    seed: int = 7,
    test_share: float = 0.3,
) -> ScorecardTraining:
    """Fit the full and the borrower-only scorecards on one split; compare them on the holdout."""
    train, test = train_test_split(frame, test_size=test_share, random_state=seed, stratify=frame["default"])
    full, _ = fit_scorecard(train, features, seed=seed)
    base, _ = fit_scorecard(train, baseline_features, seed=seed)
    y = test["default"].to_numpy()
    metrics = discrimination(y, full.score_frame(test)[1])
    baseline = discrimination(y, base.score_frame(test)[1])
    logger.info("scorecard holdout AUC %.3f (borrower-only %.3f)", metrics["auc"], baseline["auc"])
    return ScorecardTraining(
        full, base, metrics, baseline, {"train_rows": len(train), "holdout_rows": len(test)}
    )
