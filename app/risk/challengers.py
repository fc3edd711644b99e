"""Challenger models run on the same folds as the card: one-hot penalised logistic regression and
monotone LightGBM tuned by inner cross-validation. They are yardsticks, never served: if one beats
the card by more than noise, the report says so and the lender decides.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder

logger = logging.getLogger(__name__)

MISSING = "__missing__"


def _categorical_frame(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    for name, kind in kinds.items():
        if kind == "categorical":
            out[name] = out[name].map(lambda v: MISSING if v is None or v != v else str(v)).astype(object)
    return out


def onehot_logistic(
    train: pd.DataFrame,
    y: np.ndarray,
    test: pd.DataFrame,
    kinds: Mapping[str, str],
    seed: int = 7,
    inner_folds: int = 3,
) -> np.ndarray:
    """Quantile bins (one-hot) of numeric columns + missing flags + one-hot categoricals;
    L2 logistic regression with C chosen by inner CV."""
    numeric = [n for n, k in kinds.items() if k == "numeric"]
    categorical = [n for n, k in kinds.items() if k == "categorical"]
    min_freq = max(10, int(0.01 * len(train)))
    parts = []
    if numeric:
        parts.append(
            (
                "bins",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median")),
                        (
                            "bin",
                            KBinsDiscretizer(n_bins=8, encode="onehot", strategy="quantile", subsample=None),
                        ),
                    ]
                ),
                numeric,
            )
        )
        parts.append(("missing", MissingIndicator(features="all", error_on_new=False), numeric))
    if categorical:
        parts.append(
            ("cats", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_freq), categorical)
        )
    model = Pipeline(
        [
            ("x", ColumnTransformer(parts, sparse_threshold=0.0)),
            (
                "lr",
                LogisticRegressionCV(
                    Cs=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
                    cv=StratifiedKFold(inner_folds, shuffle=True, random_state=seed),
                    scoring="neg_log_loss",
                    max_iter=3000,
                ),
            ),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_categorical_frame(train, kinds), y)
        return model.predict_proba(_categorical_frame(test, kinds))[:, 1]


@dataclass
class LgbmChoice:
    params: dict[str, float | int]
    rounds: int


GRID: tuple[dict[str, float | int], ...] = (
    {"num_leaves": 4, "min_child_samples": 40},
    {"num_leaves": 8, "min_child_samples": 30},
    {"num_leaves": 16, "min_child_samples": 20},
)


def _lgbm_frame(
    frame: pd.DataFrame, kinds: Mapping[str, str], levels: Mapping[str, list[str]]
) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for name, kind in kinds.items():
        if kind == "categorical":
            values = frame[name].map(lambda v: None if v is None or v != v else str(v))
            out[name] = pd.Categorical(values, categories=levels[name])  # unseen -> NaN
        else:
            out[name] = frame[name].astype(float)
    return out


def monotone_lightgbm(
    train: pd.DataFrame,
    y: np.ndarray,
    test: pd.DataFrame,
    kinds: Mapping[str, str],
    seed: int = 7,
    inner_folds: int = 3,
    max_rounds: int = 400,
) -> np.ndarray:
    """LightGBM with each numeric variable's direction fixed by its rank correlation with bad on the
    training rows; leaves/min-leaf and rounds picked by inner CV with early stopping."""
    import lightgbm as lgb  # heavy import: only when training

    levels = {
        n: sorted({str(v) for v in train[n] if v is not None and v == v})
        for n, k in kinds.items()
        if k == "categorical"
    }
    x_train, x_test = _lgbm_frame(train, kinds, levels), _lgbm_frame(test, kinds, levels)
    constraints = []
    for name, kind in kinds.items():
        direction = 0
        if kind == "numeric":
            v = x_train[name].to_numpy()
            ok = np.isfinite(v)
            if ok.sum() > 20 and np.std(v[ok]) > 0:
                rho = spearmanr(v[ok], y[ok]).statistic
                direction = int(np.sign(rho)) if abs(rho) > 0.02 else 0
        constraints.append(direction)
    base = {
        "objective": "binary",
        "learning_rate": 0.05,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "min_data_per_group": 20,
        "cat_smooth": 10,
        "monotone_constraints": constraints,
        "verbose": -1,
        "num_threads": 1,
        "seed": seed,
    }
    best: tuple[float, LgbmChoice] | None = None
    folds = StratifiedKFold(inner_folds, shuffle=True, random_state=seed)
    for params in GRID:
        losses, rounds = [], []
        for tr, va in folds.split(x_train, y):
            booster = lgb.train(
                {**base, **params},
                lgb.Dataset(x_train.iloc[tr], y[tr]),
                num_boost_round=max_rounds,
                valid_sets=[lgb.Dataset(x_train.iloc[va], y[va])],
                callbacks=[lgb.early_stopping(30, verbose=False)],
            )
            losses.append(booster.best_score["valid_0"]["binary_logloss"])
            rounds.append(booster.best_iteration or max_rounds)
        loss = float(np.mean(losses))
        if best is None or loss < best[0]:
            best = (loss, LgbmChoice(params, max(10, int(np.mean(rounds)))))
    assert best is not None
    choice = best[1]
    booster = lgb.train({**base, **choice.params}, lgb.Dataset(x_train, y), num_boost_round=choice.rounds)
    return np.asarray(booster.predict(x_test), dtype=float)
