"""Model choice by cross-validation on the user's own data, and intervals from the same folds.

Folds are time-ordered (contiguous blocks of sale dates, a date never split) when the sales span
enough time, random and repeated otherwise. Every candidate is fitted and scored on the same
folds; the boosting model is tuned inside each outer training fold (nested), and the blend's
weights for a fold come from the other folds' out-of-fold predictions (cross-fitted), so no figure
in the table has seen the rows it scores. The choice is the lowest CV MAPE; the *selection
procedure's* own error is estimated too (choose on the other folds, score on this one).

Intervals are cross-conformal: every row's out-of-fold residual (no rows set aside) is divided
by a difficulty scale — the mean absolute residual of its segment node, shrunk toward the parent
node — and the interval half-width is the ⌈(n+1)·coverage⌉-th of those scores times the scale.
The CV coverage reported beside the target is measured the same way, fold by fold, with the
scale and quantile learned on the other folds only.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from app.valuation.candidates import BASE_FAMILIES, make_candidate
from app.valuation.design import Design

logger = logging.getLogger(__name__)

N_FOLDS = 5
SCALE_PRIOR_ROWS = 30.0
MIN_TIME_SPAN_DAYS = 180
MIN_DISTINCT_MONTHS = 6


@dataclass
class Folds:
    kind: str  # "time-ordered" | "random"
    assignments: list[np.ndarray]  # one per repeat: fold number of each row
    n_folds: int

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "folds": self.n_folds, "repeats": len(self.assignments)}


def make_folds(frame: pd.DataFrame, seed: int, n_folds: int = N_FOLDS, repeats: int | None = None) -> Folds:
    """Time-ordered blocks when sale dates span ≥ 180 days over ≥ 6 months; random otherwise."""
    n = len(frame)
    dates = (
        pd.to_datetime(frame["sale_date"]) if "sale_date" in frame else pd.Series(pd.NaT, index=frame.index)
    )
    if dates.notna().all():
        span = (dates.max() - dates.min()).days
        months = (dates.dt.year * 12 + dates.dt.month).nunique()
        if span >= MIN_TIME_SPAN_DAYS and months >= MIN_DISTINCT_MONTHS:
            order = np.argsort(dates.to_numpy(), kind="mergesort")
            fold = np.empty(n, dtype=int)
            sorted_dates = dates.to_numpy()[order]
            cut = np.floor(np.arange(n) * n_folds / n).astype(int)
            for i in range(1, n):  # never split one date across folds
                if sorted_dates[i] == sorted_dates[i - 1]:
                    cut[i] = cut[i - 1]
            fold[order] = cut
            if len(np.unique(fold)) == n_folds:
                return Folds("time-ordered", [fold], n_folds)
    repeats = repeats if repeats is not None else (3 if n < 1000 else 1)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repeats):
        fold = np.empty(n, dtype=int)
        fold[rng.permutation(n)] = np.arange(n) % n_folds
        out.append(fold)
    return Folds("random", out, n_folds)


def pct_errors(log_pred: np.ndarray, log_price: np.ndarray) -> np.ndarray:
    """(predicted − actual) / actual, from log predictions."""
    return np.expm1(log_pred - log_price)


@dataclass
class CVResult:
    folds: Folds
    oof: dict[str, list[np.ndarray]]  # family -> per repeat, full-log-price out-of-fold predictions
    fold_mape: dict[str, list[float]]  # family -> per (repeat, fold)
    blend_weights: dict[str, float]
    table: list[dict[str, Any]]
    chosen: str
    selection_mape: float
    seconds: dict[str, float] = field(default_factory=dict)


def run_cv(
    frame: pd.DataFrame,
    design_for: Any,
    folds: Folds,
    seed: int,
    max_rounds: int,
    families: tuple[str, ...] = BASE_FAMILIES,
) -> CVResult:
    """Fit every candidate on every fold; the CV table, the choice and the out-of-fold predictions."""
    log_price = np.log(frame["price"].to_numpy(dtype=np.float64))
    n = len(frame)
    oof: dict[str, list[np.ndarray]] = {f: [] for f in families}
    seconds = dict.fromkeys(families, 0.0)
    for fold in folds.assignments:
        preds = {f: np.full(n, np.nan) for f in families}
        for k in range(folds.n_folds):
            test = fold == k
            train_frame, test_frame = frame[~test], frame[test]
            design: Design = design_for(train_frame)
            y_train = log_price[~test] - design.offset(train_frame)
            base = design.offset(test_frame)
            for fam in families:
                t0 = time.process_time()
                model = make_candidate(fam, seed=seed, max_rounds=max_rounds).fit(
                    design, train_frame, y_train
                )
                preds[fam][test] = base + model.predict(design, test_frame)
                seconds[fam] += time.process_time() - t0
        for fam in families:
            oof[fam].append(preds[fam])
    # blend: cross-fitted non-negative weights
    oof["blend"] = []
    for r, fold in enumerate(folds.assignments):
        stack = np.column_stack([oof[f][r] for f in families])
        blend = np.empty(n)
        for k in range(folds.n_folds):
            test = fold == k
            w = blend_weights(stack[~test], log_price[~test])
            blend[test] = stack[test] @ w
        oof["blend"].append(blend)
    all_stack = np.vstack(
        [np.column_stack([oof[f][r] for f in families]) for r in range(len(folds.assignments))]
    )
    weights = blend_weights(all_stack, np.tile(log_price, len(folds.assignments)))
    blend_map = {f: float(w) for f, w in zip(families, weights, strict=True) if w > 1e-6}

    fold_mape: dict[str, list[float]] = {}
    for fam, per_repeat in oof.items():
        fold_mape[fam] = [
            float(np.mean(np.abs(pct_errors(per_repeat[r][fold == k], log_price[fold == k]))))
            for r, fold in enumerate(folds.assignments)
            for k in range(folds.n_folds)
        ]
    names = list(oof)
    mean = {f: float(np.mean(fold_mape[f])) for f in names}
    chosen = min(names, key=lambda f: (mean[f], names.index(f)))
    # the selection procedure's own error: choose on the other folds, score on this one
    sel: list[float] = []
    for r, fold in enumerate(folds.assignments):
        for k in range(folds.n_folds):
            others = fold != k
            pick = min(
                names,
                key=lambda f: float(np.mean(np.abs(pct_errors(oof[f][r][others], log_price[others])))),
            )
            sel.append(fold_mape[pick][r * folds.n_folds + k])
    table = []
    for f in names:
        errs = np.concatenate([pct_errors(p, log_price) for p in oof[f]])
        diff = np.asarray(fold_mape[f]) - np.asarray(fold_mape[chosen])
        table.append(
            {
                "family": f,
                "cv_mape": mean[f],
                "cv_mape_se": float(np.std(fold_mape[f], ddof=1) / math.sqrt(len(fold_mape[f]))),
                "vs_chosen_se": float(np.std(diff, ddof=1) / math.sqrt(len(diff))) if f != chosen else 0.0,
                "within_8pct": float(np.mean(np.abs(errs) <= 0.08)),
                "within_15pct": float(np.mean(np.abs(errs) <= 0.15)),
                "median_error": float(np.median(errs)),
                "fold_mape": fold_mape[f],
                "cpu_seconds": round(seconds.get(f, 0.0), 3),
            }
        )
    return CVResult(folds, oof, fold_mape, blend_map, table, chosen, float(np.mean(sel)), seconds)


def blend_weights(stack: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to one (least squares on log price)."""
    w, _ = nnls(stack, y)
    total = w.sum()
    if total <= 0:
        w = np.zeros(stack.shape[1])
        w[int(np.argmin(np.mean((stack - y[:, None]) ** 2, axis=0)))] = 1.0
        return w
    return w / total


# --- intervals ---------------------------------------------------------------------------------
@dataclass
class ScaleTable:
    """Difficulty scale per segment node: mean |log residual|, shrunk toward the parent node."""

    tables: list[dict[str, float]]

    @classmethod
    def fit(
        cls, keys: list[np.ndarray], abs_resid: np.ndarray, prior_rows: float = SCALE_PRIOR_ROWS
    ) -> ScaleTable:
        root = float(np.mean(abs_resid)) or 1e-3
        tables = [{"*": root}]
        parent = {"*": root}
        for level in range(1, len(keys)):
            frame = pd.DataFrame({"k": keys[level], "p": keys[level - 1], "r": abs_resid})
            table: dict[str, float] = {}
            for node, grp in frame.groupby("k"):
                par = parent[str(grp["p"].iloc[0])]
                table[str(node)] = float((grp["r"].sum() + prior_rows * par) / (len(grp) + prior_rows))
            tables.append(table)
            parent = table
        return cls(tables)

    def scale(self, keys: list[np.ndarray]) -> np.ndarray:
        n = len(keys[0])
        out = np.full(n, self.tables[0]["*"])
        for level in range(1, len(self.tables)):
            table, col = self.tables[level], keys[level]
            hits = np.array([table.get(str(k), np.nan) for k in col], dtype=np.float64)
            out = np.where(np.isfinite(hits), hits, out)
        return np.maximum(out, 1e-4)


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The ⌈(n+1)·coverage⌉-th smallest score (infinite when there are too few)."""
    n = len(scores)
    rank = math.ceil((n + 1) * coverage)
    if rank > n:
        return float("inf")
    return float(np.sort(scores)[rank - 1])


def interval_cv(
    keys: list[np.ndarray],
    log_pred: np.ndarray,
    log_price: np.ndarray,
    fold: np.ndarray,
    n_folds: int,
    coverage: float,
) -> dict[str, float]:
    """Coverage and mean relative width measured fold by fold, scale and quantile from the other folds."""
    resid = np.abs(log_price - log_pred)
    covered = np.zeros(len(resid), dtype=bool)
    width = np.zeros(len(resid))
    for k in range(n_folds):
        test = fold == k
        other = ~test
        table = ScaleTable.fit([c[other] for c in keys], resid[other])
        q = conformal_quantile(resid[other] / table.scale([c[other] for c in keys]), coverage)
        half = q * table.scale([c[test] for c in keys])
        covered[test] = resid[test] <= half
        width[test] = np.exp(half) - np.exp(-half)
    return {
        "target": coverage,
        "cv_coverage": float(covered.mean()),
        "cv_mean_width_pct": float(width.mean()),
        "cv_median_width_pct": float(np.median(width)),
    }
