"""Model choice by cross-validation: the card, the borrower-only card and the challengers, all on
the same folds (repeated stratified, or time-ordered when application dates span long enough).

Every candidate is fitted inside each fold from scratch (bins included), so no fold's test rows
touch its training. The comparison of each challenger with the card is paired by fold, with the
Nadeau–Bengio corrected standard error so overlapping training sets do not make noise look real.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold

from app.risk.challengers import monotone_lightgbm, onehot_logistic
from app.risk.colspec import CvSpec, ScorecardSpec
from app.risk.metrics import calibration, evaluate
from app.risk.scorecard import CardOptions, fit_card

logger = logging.getLogger(__name__)

CARD, BORROWER, ONEHOT, LGBM = (
    "scorecard",
    "scorecard (borrower fields only)",
    "one-hot logistic",
    "monotone LightGBM",
)
MATERIAL_AUC = 0.015  # the tolerance: a challenger ahead by more than this is reported plainly


@dataclass
class Folds:
    kind: str  # "stratified" | "time-ordered"
    description: str
    splits: list[tuple[np.ndarray, np.ndarray]]
    first_repeat: int  # the first this many splits cover each row once (out-of-fold predictions)


def make_folds(y: np.ndarray, dates: pd.Series | None, cv: CvSpec) -> Folds:
    if dates is not None and dates.notna().mean() >= 0.9:
        span = (dates.max() - dates.min()).days / 30.44
        if span >= cv.time_ordered_min_months:
            order = np.argsort(dates.fillna(dates.max()).to_numpy(), kind="stable")
            blocks = np.array_split(order, cv.folds + 1)
            splits = [(np.concatenate(blocks[: k + 1]), blocks[k + 1]) for k in range(cv.folds)]
            if all(y[tr].sum() >= 30 and 5 <= y[te].sum() < len(te) - 5 for tr, te in splits):
                return Folds(
                    "time-ordered",
                    f"time-ordered expanding window over {span:.0f} months of "
                    f"application dates: {cv.folds} folds, each tested on the next later block",
                    splits,
                    0,
                )
    rskf = RepeatedStratifiedKFold(n_splits=cv.folds, n_repeats=cv.repeats, random_state=cv.seed)
    splits = list(rskf.split(np.zeros(len(y)), y))
    return Folds(
        "stratified",
        f"repeated stratified {cv.folds}-fold CV x {cv.repeats} repeats ({len(splits)} fits per candidate)",
        splits,
        cv.folds,
    )


@dataclass
class CandidateResult:
    name: str
    folds: list[dict[str, float]] = field(default_factory=list)
    oof: np.ndarray | None = None  # out-of-fold PDs of the first repeat (NaN where not tested)
    seconds: float = 0.0

    def mean(self, metric: str) -> float:
        values = [f[metric] for f in self.folds if not math.isnan(f.get(metric, math.nan))]
        return float(np.mean(values)) if values else math.nan

    def sd(self, metric: str) -> float:
        values = [f[metric] for f in self.folds if not math.isnan(f.get(metric, math.nan))]
        return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


@dataclass
class CvResult:
    folds: Folds
    candidates: dict[str, CandidateResult]
    pooled: dict[str, dict[str, float]]  # candidate -> figures on the pooled out-of-fold PDs
    comparisons: list[dict[str, Any]]
    statements: list[str]

    def summary(self) -> dict[str, Any]:
        out = {}
        for name, c in self.candidates.items():
            out[name] = {
                **{f"{m}_mean": c.mean(m) for m in ("auc", "ks", "brier", "gini")},
                **{f"{m}_sd": c.sd(m) for m in ("auc", "ks", "brier")},
                **{
                    k: v
                    for k, v in self.pooled.get(name, {}).items()
                    if k in ("calibration_slope", "calibration_intercept", "ece", "auc")
                },
                "seconds": c.seconds,
            }
        return out


Fitter = Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], np.ndarray]


def cross_validate(
    frame: pd.DataFrame,
    y: np.ndarray,
    kinds: Mapping[str, str],
    groups: Mapping[str, str],
    specials: Mapping[str, list[float]],
    spec: ScorecardSpec,
    folds: Folds,
) -> CvResult:
    options = card_options(spec)
    borrower = [n for n in kinds if groups.get(n) == "borrower"]
    with_borrower_only = 0 < len(borrower) < len(kinds)  # the book has loan and/or vehicle fields
    names = [CARD] + ([BORROWER] if with_borrower_only else [])
    if spec.challengers.enabled:
        names += [ONEHOT, LGBM]
    results = {n: CandidateResult(n, oof=np.full(len(y), np.nan)) for n in names}
    ch = spec.challengers
    for k, (tr, te) in enumerate(folds.splits):
        train, test, y_tr, y_te = frame.iloc[tr], frame.iloc[te], y[tr], y[te]
        preds: dict[str, np.ndarray] = {}
        t = time.perf_counter()
        card = fit_card(train, kinds, y_tr, specials, options)
        preds[CARD] = card.predict_pd(test)
        results[CARD].seconds += time.perf_counter() - t
        if with_borrower_only:
            t = time.perf_counter()
            sub = {n: card.bins[n] for n in borrower}
            small = fit_card(train, {n: kinds[n] for n in borrower}, y_tr, specials, options, bins=sub)
            preds[BORROWER] = small.predict_pd(test)
            results[BORROWER].seconds += time.perf_counter() - t
        if ch.enabled:
            seed = spec.cv.seed + k
            t = time.perf_counter()
            preds[ONEHOT] = onehot_logistic(train, y_tr, test, kinds, seed=seed, inner_folds=ch.inner_folds)
            results[ONEHOT].seconds += time.perf_counter() - t
            t = time.perf_counter()
            preds[LGBM] = monotone_lightgbm(
                train,
                y_tr,
                test,
                kinds,
                seed=seed,
                inner_folds=ch.inner_folds,
                max_rounds=ch.lightgbm_max_rounds,
            )
            results[LGBM].seconds += time.perf_counter() - t
        for name, p in preds.items():
            results[name].folds.append(evaluate(y_te, p))
            if folds.kind == "time-ordered" or k < folds.first_repeat:
                results[name].oof[te] = p  # type: ignore[index]
    pooled = {}
    for name, r in results.items():
        mask = ~np.isnan(r.oof)  # type: ignore[arg-type]
        pooled[name] = evaluate(y[mask], r.oof[mask])  # type: ignore[index]
    comparisons, statements = compare(results, folds, len(y))
    return CvResult(folds, results, pooled, comparisons, statements)


def card_options(spec: ScorecardSpec, target_rate: float | None = None) -> CardOptions:
    return CardOptions(
        min_iv=spec.min_iv,
        max_correlation=spec.max_correlation,
        max_variables=spec.max_variables,
        rare_share=spec.rare_share,
        target_rate=target_rate,
    )


def compare(
    results: Mapping[str, CandidateResult], folds: Folds, n: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Paired AUC differences (challenger − card) by fold; plain statements for the report."""
    card = results[CARD]
    k = len(card.folds)
    test_share = float(np.mean([len(te) for _, te in folds.splits])) / n
    ratio = test_share / max(1 - test_share, 1e-9)
    rows, statements = [], []
    for name, r in results.items():
        if name == CARD:
            continue
        d = np.array([a["auc"] - b["auc"] for a, b in zip(r.folds, card.folds, strict=True)])
        d = d[~np.isnan(d)]
        mean = float(d.mean()) if len(d) else math.nan
        se = float(np.std(d, ddof=1) * math.sqrt(1 / k + ratio)) if len(d) > 1 else math.nan
        beats = bool(mean > 2 * se) if not math.isnan(se) else False
        rows.append(
            {
                "candidate": name,
                "auc_minus_card": mean,
                "corrected_se": se,
                "beats_card_beyond_noise": beats and name != BORROWER,
                "within_tolerance": bool(mean <= MATERIAL_AUC),
            }
        )
        if name == BORROWER:
            statements.append(
                f"Vehicle and loan fields add {-mean:+.3f} AUC over the borrower-only card on the same folds "
                f"(± {2 * se:.3f})."
                if not math.isnan(se)
                else "Borrower-only card compared on the same folds."
            )
            continue
        if beats:
            statements.append(
                f"{name} beats the scorecard by {mean:.3f} AUC, more than noise "
                f"(2 × corrected SE = {2 * se:.3f})."
            )
        if mean > MATERIAL_AUC:
            statements.append(
                f"The scorecard is NOT within {MATERIAL_AUC} AUC of {name} "
                f"({card.mean('auc'):.3f} vs {r.mean('auc'):.3f})."
            )
    challengers = [r for n, r in results.items() if n not in (CARD, BORROWER)]
    if challengers:
        best = max(challengers, key=lambda r: r.mean("auc"))
        gap = best.mean("auc") - card.mean("auc")
        if gap <= MATERIAL_AUC and not any(r["beats_card_beyond_noise"] for r in rows):
            statements.insert(
                0,
                f"The scorecard is within {MATERIAL_AUC} AUC of the best challenger ({best.name}: "
                f"{card.mean('auc'):.3f} vs {best.mean('auc'):.3f}); no challenger beats it "
                "beyond noise.",
            )
    return rows, statements


def pooled_calibration(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return calibration(y, p)
