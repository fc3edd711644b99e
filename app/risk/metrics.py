"""Discrimination and calibration figures for one set of predictions (AUC, KS, Brier, slope, ECE)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(q / (1 - q))


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, float]:
    """Calibration slope and intercept (y ~ a + b·logit p; ideal 0 and 1), calibration-in-the-large
    (observed minus mean predicted) and expected calibration error over equal-count bins."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    x = _logit(p).reshape(-1, 1)
    slope = intercept = math.nan
    if 0 < y.sum() < len(y) and np.std(x) > 1e-9:
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
        slope, intercept = float(fit.coef_[0][0]), float(fit.intercept_[0])
    order = np.argsort(p, kind="stable")
    ece = 0.0
    for chunk in np.array_split(order, min(bins, len(p))):
        if len(chunk):
            ece += len(chunk) / len(p) * abs(float(y[chunk].mean()) - float(p[chunk].mean()))
    return {
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "calibration_in_the_large": float(y.mean() - p.mean()),
        "ece": float(ece),
    }


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, Gini, KS and Brier of PDs against outcomes, with the calibration figures."""
    y = np.asarray(y, dtype=int)
    if y.min() == y.max():
        return {"auc": math.nan, "gini": math.nan, "ks": math.nan, "brier": math.nan, "n": float(len(y))}
    auc = float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "auc": auc,
        "gini": 2 * auc - 1,
        "ks": float(np.max(tpr - fpr)),
        "brier": float(brier_score_loss(y, p)),
        "n": float(len(y)),
        "bad_rate": float(y.mean()),
        "mean_pd": float(np.mean(p)),
        **calibration(y, p),
    }


def curve_points(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean predicted, observed, loans) per equal-count bin, for the calibration plot."""
    order = np.argsort(p, kind="stable")
    return [(float(p[c].mean()), float(y[c].mean()), len(c)) for c in np.array_split(order, bins) if len(c)]
