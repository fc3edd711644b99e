"""The residual-value model: LightGBM on log(price / new price) with a split-conformal interval.

Modelling the log of the price relative to the new price is modelling log price with the new
price as an offset: the trees learn depreciation, which transfers across price levels. Age and
mileage are monotone non-increasing (as are accident severity and claims; condition is
non-decreasing). Training is deterministic: fixed seed, ``deterministic=True``, one thread.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from app.valuation.errors import InputError
from app.valuation.features import CATEGORICAL, FEATURES, MONOTONE, FeatureSpace
from app.valuation.market_index import MarketIndex, derive_market_index
from app.valuation.metrics import DepreciationTable, accuracy

logger = logging.getLogger(__name__)

MIN_TRAINING_ROWS = 200
BATCH_THREADS = max(os.cpu_count() or 1, 1)


@dataclass(frozen=True)
class TrainConfig:
    num_boost_round: int = 200
    learning_rate: float = 0.1
    num_leaves: int = 15
    min_data_in_leaf: int = 20
    lambda_l2: float = 1.0
    coverage: float = 0.90  # stated coverage of the interval
    calibration_share: float = 0.15
    test_share: float = 0.15
    seed: int = 7
    num_threads: int = 1

    def lgb_params(self) -> dict[str, object]:
        return {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "lambda_l2": self.lambda_l2,
            "max_cat_to_onehot": 8,
            "cat_smooth": 10.0,
            "monotone_constraints": [MONOTONE.get(f, 0) for f in FEATURES],
            "monotone_constraints_method": "advanced",
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "verbosity": -1,
        }


@dataclass
class ResidualValueModel:
    booster: lgb.Booster
    space: FeatureSpace
    coverage: float
    half_width: float  # conformal quantile of |log residual|

    def predict_log_ratio(self, x: np.ndarray) -> np.ndarray:
        """Batch prediction on every core: rows are independent, so the result does not depend on
        the thread count (training, where it would, is single-threaded)."""
        return np.asarray(self.booster.predict(x, num_threads=BATCH_THREADS), dtype=np.float64)

    def value_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point value, low and high for each row of features (new price is the last column)."""
        new_price = x[:, FEATURES.index("new_price")]
        log_ratio = self.predict_log_ratio(x)
        return (
            new_price * np.exp(log_ratio),
            new_price * np.exp(log_ratio - self.half_width),
            new_price * np.exp(log_ratio + self.half_width),
        )

    def value_row(self, x: np.ndarray) -> tuple[float, float, float]:
        new_price = float(x[0, FEATURES.index("new_price")])
        log_ratio = float(self.booster.predict(x, num_threads=1)[0])
        return (
            new_price * math.exp(log_ratio),
            new_price * math.exp(log_ratio - self.half_width),
            new_price * math.exp(log_ratio + self.half_width),
        )

    def contributions(self, x: np.ndarray) -> tuple[float, dict[str, float]]:
        """(bias, per-feature contribution) in log(price/new price) units; they sum to the prediction."""
        contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1))[0]
        return float(contrib[-1]), {name: float(c) for name, c in zip(FEATURES, contrib[:-1], strict=True)}


@dataclass
class TrainingResult:
    model: ResidualValueModel
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    split: dict[str, object]
    baseline_table: DepreciationTable  # fitted on the same training rows as the model
    params: dict[str, object] = field(default_factory=dict)
    index_source: str = "published"


def time_split(
    sales: pd.DataFrame, calibration_share: float, test_share: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Oldest sales train, the next ones calibrate the interval, the newest are the holdout."""
    dates = sales["sale_date"].sort_values(kind="mergesort")
    cal_start = dates.iloc[int(len(dates) * (1 - calibration_share - test_share))]
    test_start = dates.iloc[int(len(dates) * (1 - test_share))]
    train = sales[sales["sale_date"] < cal_start]
    cal = sales[(sales["sale_date"] >= cal_start) & (sales["sale_date"] < test_start)]
    test = sales[sales["sale_date"] >= test_start]
    return train, cal, test


def conformal_half_width(abs_residuals: np.ndarray, coverage: float) -> float:
    """Split-conformal quantile: the ceil((n+1)·coverage)-th smallest |residual|."""
    n = len(abs_residuals)
    rank = min(math.ceil((n + 1) * coverage), n)
    return float(np.sort(abs_residuals)[rank - 1])


def train_model(
    sales: pd.DataFrame, index: MarketIndex | None = None, config: TrainConfig | None = None
) -> TrainingResult:
    """Split by time, train, calibrate the interval, evaluate against the depreciation table."""
    config = config or TrainConfig()
    if len(sales) < MIN_TRAINING_ROWS:
        raise InputError.single("csv", f"need at least {MIN_TRAINING_ROWS} sales to train, got {len(sales)}")
    sales = sales.sort_values("sale_date", kind="mergesort").reset_index(drop=True)
    train, cal, test = time_split(sales, config.calibration_share, config.test_share)
    if min(len(train), len(cal), len(test)) < 30:
        raise InputError.single(
            "sale_date", "too few distinct sale dates to split train/calibration/holdout by time"
        )
    index_source = "published"
    if index is None:
        index_source = "derived from training sales"
        ratio = np.log(train["price"].to_numpy() / train["new_price"].to_numpy())
        when, first = train["sale_date"], train["first_registration"]
        index = derive_market_index(
            train["segment"].to_numpy(),
            (when.dt.year * 12 + when.dt.month - 1).to_numpy(),
            ratio,
            ((when - first).dt.days / 30.4375).to_numpy(),
            train["mileage_km"].to_numpy(),
        )
    space = FeatureSpace.learn(sales, index)

    def xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return space.matrix(frame), np.log(frame["price"].to_numpy() / frame["new_price"].to_numpy())

    x_train, y_train = xy(train)
    params = config.lgb_params()
    dataset = lgb.Dataset(
        x_train,
        y_train,
        feature_name=list(FEATURES),
        categorical_feature=list(CATEGORICAL),
        free_raw_data=True,
    )
    booster = lgb.train(params, dataset, num_boost_round=config.num_boost_round)
    # round-trip through text so the trained model is exactly the one that will be stored and loaded
    booster = lgb.Booster(model_str=booster.model_to_string())

    x_cal, y_cal = xy(cal)
    cal_pred = np.asarray(booster.predict(x_cal, num_threads=1))
    half_width = conformal_half_width(np.abs(y_cal - cal_pred), config.coverage)
    model = ResidualValueModel(booster, space, config.coverage, half_width)

    x_test, _ = xy(test)
    value, low, high = model.value_matrix(x_test)
    actual = test["price"].to_numpy()
    metrics = accuracy(actual, value, low, high)
    table = DepreciationTable.fit(
        train["segment"].to_numpy(),
        x_train[:, FEATURES.index("age_months")],
        train["price"].to_numpy() / train["new_price"].to_numpy(),
    )
    baseline = accuracy(
        actual,
        table.predict(
            test["segment"].to_numpy(), x_test[:, FEATURES.index("age_months")], test["new_price"].to_numpy()
        ),
    )
    split = {
        "train_rows": len(train),
        "calibration_rows": len(cal),
        "holdout_rows": len(test),
        "calibration_from": str(cal["sale_date"].min().date()),
        "holdout_from": str(test["sale_date"].min().date()),
        "holdout_to": str(test["sale_date"].max().date()),
    }
    logger.info(
        "trained residual-value model: holdout MAPE %.4f (baseline %.4f)", metrics["mape"], baseline["mape"]
    )
    return TrainingResult(model, metrics, baseline, split, table, params, index_source)
