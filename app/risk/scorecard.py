"""The points scorecard: bins per variable, selection by IV and correlation, penalised logistic
regression on the bins' WoE, PDs shifted to the book's (or a long-run) default rate, points by PDO.

:class:`CardModel` is the fitted model; :class:`CompiledScorecard` is what is stored and served.
Both score through the same :class:`~app.risk.binning.VariableBins` tables, so a missing value,
special code or unseen level gets the same points and PD in the fit and at serving (the old card
treated a missing value as neutral in the fit and used the Missing bin's WoE when served).
Higher points mean lower risk: ``scorecard_points`` at odds ``odds``:1 good:bad, ``pdo`` points
to double the odds; PD = 1 / (1 + exp((points - offset) / factor)) exactly.
"""

from __future__ import annotations

import bisect
import functools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from app.risk.binning import VariableBins, bins_from_json, fit_bins
from app.risk.book import FieldReader, record_values
from app.valuation.errors import FieldProblem

logger = logging.getLogger(__name__)

SCALING = {"pdo": 20.0, "odds": 50.0, "scorecard_points": 600.0}


@dataclass
class CardOptions:
    min_iv: float = 0.02
    max_correlation: float = 0.8
    max_variables: int = 20
    rare_share: float = 0.02
    C: float = 1.0
    target_rate: float | None = None  # PD mean on the fitting rows; None = the rows' own bad rate
    shrink: bool = True  # shrink the weights for the bins and variables chosen on the same rows


@dataclass
class CardModel:
    """A fitted card: every candidate's bins, the chosen variables and the regression on their WoE."""

    bins: dict[str, VariableBins]
    selected: list[str]
    coef: np.ndarray
    intercept: float  # the regression's own intercept
    shift: float  # added to the logit so the mean PD equals the target rate
    decisions: dict[str, str] = field(default_factory=dict)  # variable -> why kept / dropped
    shrink: float = 1.0  # the factor applied to the regression's weights (see ``shrinkage``)

    def woe_matrix(self, frame: pd.DataFrame, names: Sequence[str] | None = None) -> np.ndarray:
        names = list(names or self.selected)
        return (
            np.column_stack([self.bins[n].woe_of(frame[n].to_numpy()) for n in names])
            if names
            else np.zeros((len(frame), 0))
        )

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        return self.woe_matrix(frame) @ self.coef + self.intercept + self.shift

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(frame)))


def fit_card(
    frame: pd.DataFrame,
    kinds: Mapping[str, str],
    y: np.ndarray,
    specials: Mapping[str, list[float]],
    options: CardOptions | None = None,
    bins: Mapping[str, VariableBins] | None = None,
) -> CardModel:
    """Bin every candidate (unless ``bins`` are given), select, regress, calibrate."""
    opt = options or CardOptions()
    y = np.asarray(y, dtype=np.float64)
    fitted = (
        dict(bins)
        if bins is not None
        else {
            name: fit_bins(name, kind, frame[name].to_numpy(), y, specials.get(name), opt.rare_share)
            for name, kind in kinds.items()
        }
    )
    decisions: dict[str, str] = {}
    ranked = sorted(fitted, key=lambda n: -fitted[n].iv)
    woe = {n: fitted[n].woe_of(frame[n].to_numpy()) for n in ranked}
    chosen: list[str] = []
    for name in ranked:
        iv = fitted[name].iv
        if iv < opt.min_iv:
            decisions[name] = f"dropped: information value {iv:.3f} below {opt.min_iv}"
            continue
        if len(chosen) >= opt.max_variables:
            decisions[name] = f"dropped: max_variables ({opt.max_variables}) already chosen"
            continue
        corr = [(abs(_corr(woe[name], woe[c])), c) for c in chosen]
        worst = max(corr, default=(0.0, ""))
        if worst[0] > opt.max_correlation:
            decisions[name] = f"dropped: WoE correlation {worst[0]:.2f} with {worst[1]} (higher IV)"
            continue
        chosen.append(name)
    if not chosen and ranked:
        chosen = [ranked[0]]
        decisions[ranked[0]] = "kept: highest information value (no variable reached the IV threshold)"
    while True:
        x = np.column_stack([woe[n] for n in chosen])
        model = LogisticRegression(C=opt.C, max_iter=2000)
        model.fit(x, y)
        coef = model.coef_[0]
        wrong = [n for n, c in zip(chosen, coef, strict=True) if c <= 0]
        if not wrong or len(chosen) == 1:
            break
        drop = min(wrong, key=lambda n: fitted[n].iv)
        decisions[drop] = "dropped: no independent effect (non-positive weight beside the others)"
        chosen.remove(drop)
    for n, c in zip(chosen, coef, strict=True):
        decisions.setdefault(n, f"kept: IV {fitted[n].iv:.3f}, weight {c:.3f}")
    coef = coef.astype(np.float64)
    x = np.column_stack([woe[n] for n in chosen])
    shrink = (
        shrinkage(x, y, coef, float(model.intercept_[0]), [fitted[n] for n in chosen]) if opt.shrink else 1.0
    )
    card = CardModel(fitted, chosen, coef * shrink, float(model.intercept_[0]), 0.0, decisions, shrink)
    target = opt.target_rate if opt.target_rate is not None else float(y.mean())
    card.shift = intercept_shift(card.logit(frame), target)
    return card


def shrinkage(
    x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float, bins: Sequence[VariableBins]
) -> float:
    """Van Houwelingen–Le Cessie heuristic shrinkage (χ² − df) / χ² of the fitted weights.

    Bins and variables are chosen on the same rows the weights are fitted on, so the fitted card
    is over-confident on new loans (calibration slope below 1). The degrees of freedom count every
    bin the data chose (non-empty bins − 1 per variable), not just one weight per variable.
    """
    p = np.clip(1.0 / (1.0 + np.exp(-(x @ coef + intercept))), 1e-12, 1 - 1e-12)
    base = float(np.clip(y.mean(), 1e-12, 1 - 1e-12))
    loglik = float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    null = float(len(y) * (base * math.log(base) + (1 - base) * math.log(1 - base)))
    chi2 = 2.0 * (loglik - null)
    df = sum(max(sum(1 for c in b.counts if c > 0) - 1, 1) for b in bins)
    if chi2 <= 0:
        return 1.0
    return float(min(1.0, max(0.3, (chi2 - df) / chi2)))


def intercept_shift(logit: np.ndarray, target: float) -> float:
    """δ such that mean(sigmoid(logit + δ)) = target (Newton; the mean PD is monotone in δ)."""
    delta = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(logit + delta)))
        gap = p.mean() - target
        slope = float(np.mean(p * (1 - p)))
        if abs(gap) < 1e-12 or slope <= 0:
            break
        delta -= gap / slope
    return float(delta)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) < 1e-12 or np.std(b) < 1e-12:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


@dataclass
class Reason:
    variable: str
    value: float | str | None
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
class CompiledVariable:
    bins: VariableBins
    coefficient: float
    points: list[float]  # per bin, in the order of bins.labels

    @functools.cached_property
    def best(self) -> float:
        usable = [p for p, c in zip(self.points, self.bins.counts, strict=True) if c > 0]
        return max(usable or self.points)


@dataclass
class Band:
    name: str
    pd_upper: float  # a PD below this (and at or above the previous band's) falls in the band
    points_lower: float | None  # the band holds scores above this (None: no lower limit)
    pd: float  # the band's central PD (mean predicted PD of the book's loans in it)
    observed_rate: float
    share: float
    loans: int
    bads: int
    p_value: float


@dataclass
class CompiledScorecard:
    """What is registered and served: bins, points, the master scale and how raw fields are read."""

    variables: list[CompiledVariable]
    intercept: float  # includes the calibration shift
    scaling: dict[str, float]
    readers: dict[str, FieldReader]
    derived: dict[str, str]
    bands: list[Band] = field(default_factory=list)
    score_reference: dict[str, list[float]] = field(default_factory=dict)  # book's score deciles, for PSI

    @property
    def features(self) -> list[str]:
        return [v.bins.name for v in self.variables]

    @property
    def factor(self) -> float:
        return self.scaling["pdo"] / math.log(2)

    @property
    def offset(self) -> float:
        return self.scaling["scorecard_points"] - self.factor * math.log(self.scaling["odds"])

    def pd_of_points(self, points: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp((np.asarray(points) - self.offset) / self.factor))

    def band_of(self, pd_: float) -> str:
        if not self.bands:
            return ""
        i = bisect.bisect_right([b.pd_upper for b in self.bands[:-1]], pd_)
        return self.bands[i].name

    def score_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(points, PD) for every row of model values (numeric float, categorical str/None)."""
        total = np.zeros(len(frame))
        for var in self.variables:
            total += np.asarray(var.points)[var.bins.bin_index(frame[var.bins.name].to_numpy())]
        return total, np.asarray(self.pd_of_points(total))

    def read(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
        return record_values(self.readers, self.derived, record)

    def score(self, record: Mapping[str, Any], reasons: int = 4) -> Score:
        """Score raw fields (missing fields and unseen levels allowed); call ``read`` first to validate."""
        values, _ = self.read(record)
        return self.score_values(values, reasons)

    def score_values(self, values: Mapping[str, Any], reasons: int = 4) -> Score:
        total, lost = 0.0, []
        for var in self.variables:
            x = values.get(var.bins.name)
            i = var.bins.bin_of(x)
            pts = var.points[i]
            total += pts
            shown = None if x is None or (isinstance(x, float) and math.isnan(x)) else x
            lost.append(Reason(var.bins.name, shown, var.bins.labels[i], pts, max(var.best - pts, 0.0)))
        pd_ = float(self.pd_of_points(total))
        top = sorted((r for r in lost if r.points_below_best > 1e-9), key=lambda r: -r.points_below_best)
        return Score(total, pd_, self.band_of(pd_), top[:reasons])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "mledger-scorecard/2",
            "intercept": self.intercept,
            "scaling": self.scaling,
            "readers": {n: r.to_json() for n, r in self.readers.items()},
            "derived": self.derived,
            "variables": [
                {"bins": v.bins.to_json(), "coefficient": v.coefficient, "points": v.points}
                for v in self.variables
            ],
            "bands": [b.__dict__ for b in self.bands],
            "score_reference": self.score_reference,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompiledScorecard:
        return cls(
            variables=[
                CompiledVariable(bins_from_json(v["bins"]), float(v["coefficient"]), list(v["points"]))
                for v in data["variables"]
            ],
            intercept=float(data["intercept"]),
            scaling=dict(data["scaling"]),
            readers={n: FieldReader(**r) for n, r in data["readers"].items()},
            derived=dict(data["derived"]),
            bands=[Band(**b) for b in data.get("bands", [])],
            score_reference=dict(data.get("score_reference") or {}),
        )


def compile_card(
    card: CardModel,
    readers: Mapping[str, FieldReader],
    derived: Mapping[str, str],
    scaling: Mapping[str, float] | None = None,
) -> CompiledScorecard:
    """Points per bin: -factor·(β·WoE + a/m) + offset/m, so the points add up to offset − factor·logit."""
    scaling = dict(scaling or SCALING)
    factor = scaling["pdo"] / math.log(2)
    offset = scaling["scorecard_points"] - factor * math.log(scaling["odds"])
    a = card.intercept + card.shift
    m = len(card.selected)
    variables = []
    for name, beta in zip(card.selected, card.coef, strict=True):
        bins = card.bins[name]
        points = [float(-factor * (beta * w + a / m) + offset / m) for w in bins.woe]
        variables.append(CompiledVariable(bins, float(beta), points))
    needed = set()
    for name in card.selected:
        needed |= _raw_inputs(name, derived)
    used_derived = {n: t for n, t in derived.items() if n in needed or n in card.selected}
    return CompiledScorecard(
        variables, a, scaling, {n: r for n, r in readers.items() if n in needed}, used_derived
    )


def _raw_inputs(name: str, derived: Mapping[str, str]) -> set[str]:
    from app.risk.expressions import parse_expression

    if name not in derived:
        return {name}
    out = {name}
    for c in parse_expression(derived[name]).columns:
        out |= _raw_inputs(c, derived)
    return out
