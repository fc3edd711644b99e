"""Training: choose the model family by cross-validation, refit it on every row, attach intervals.

``train_model`` validates the size, makes the folds, scores every candidate on them
(:mod:`app.valuation.selection`), refits the chosen one on all rows, calibrates the cross-conformal
interval from the out-of-fold residuals and fits the depreciation curve and market trend used for
the value-over-term forecast. The result is a :class:`ValuationModel`, stored as plain JSON.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from app.valuation.candidates import (
    BASE_FAMILIES,
    Blend,
    DepreciationCurve,
    candidate_from_json,
    make_candidate,
)
from app.valuation.dataset import DAYS_PER_MONTH, FALSE_WORDS, TRUE_WORDS, SalesData, sales_from_frame
from app.valuation.design import Design, Frame
from app.valuation.errors import InputError
from app.valuation.market_index import MarketIndex
from app.valuation.selection import (
    CVResult,
    ScaleTable,
    conformal_quantile,
    interval_cv,
    make_folds,
    run_cv,
)

logger = logging.getLogger(__name__)

MIN_TRAINING_ROWS = 30
SMALL_DATA_ROWS = 200
MAX_ROUNDS_LIMIT = 2000
TREND_DAMPING = 0.5  # the recent market trend is halved before it is carried forward
TREND_CAP_PER_MONTH = 0.01
MARKET_VOL_PER_YEAR = 0.06  # uncertainty the forecast adds per year ahead (log scale)
DEFAULT_KM_PER_MONTH = 1250.0


@dataclass(frozen=True)
class TrainConfig:
    num_boost_round: int = 1000  # the most boosting rounds early stopping may reach
    coverage: float = 0.90  # stated coverage of the interval
    seed: int = 7
    folds: int = 5
    repeats: int | None = None  # random folds: 3 below 1,000 rows, else 1
    families: tuple[str, ...] = BASE_FAMILIES

    def check(self) -> None:
        if not 10 <= self.num_boost_round <= MAX_ROUNDS_LIMIT:
            raise InputError.single(
                "num_boost_round", f"must be between 10 and {MAX_ROUNDS_LIMIT}", self.num_boost_round
            )
        if not 0.5 < self.coverage < 1.0:
            raise InputError.single("coverage", "must be between 0.5 and 1 (exclusive)", self.coverage)


@dataclass
class ValuationModel:
    """The chosen, refitted model with everything needed to value, explain and forecast."""

    design: Design
    family: str
    model: Any
    curve: DepreciationCurve
    scales: ScaleTable
    q: float  # conformal quantile of |residual| / scale
    coverage: float
    trend_per_month: float
    km_per_month: float
    last_sale: str | None

    def predict_log(self, frame: Frame) -> np.ndarray:
        return self.design.offset(frame) + self.model.predict(self.design, frame)

    def half_width(self, frame: Frame) -> np.ndarray:
        return self.q * self.scales.scale(self.design.hierarchy_keys(frame))

    def value_frame(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        log_v = self.predict_log(frame)
        h = self.half_width(frame)
        return np.exp(log_v), np.exp(log_v - h), np.exp(log_v + h)

    def contributions(self, frame: Frame) -> tuple[float, dict[str, float]]:
        """(bias, per-column contribution) in log price for one row; they sum to the prediction."""
        bias, contrib = _contributions(self.model, self.design, frame)
        return float(self.design.offset(frame)[0] + bias), contrib

    def to_json(self) -> dict[str, Any]:
        return {
            "design": self.design.to_json(),
            "family": self.family,
            "model": self.model.to_json(),
            "curve": self.curve.to_json(),
            "scales": self.scales.tables,
            "q": self.q,
            "coverage": self.coverage,
            "trend_per_month": self.trend_per_month,
            "km_per_month": self.km_per_month,
            "last_sale": self.last_sale,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ValuationModel:
        return cls(
            Design.from_json(d["design"]),
            str(d["family"]),
            candidate_from_json(d["model"]),
            DepreciationCurve.from_json(d["curve"]),
            ScaleTable([{str(k): float(v) for k, v in t.items()} for t in d["scales"]]),
            float(d["q"]),
            float(d["coverage"]),
            float(d["trend_per_month"]),
            float(d["km_per_month"]),
            d.get("last_sale"),
        )


def _contributions(model: Any, design: Design, frame: Frame) -> tuple[float, dict[str, float]]:
    family = model.family
    out: dict[str, float]
    if family == "boosting":
        raw = model.contributions(design, frame)[0]
        bias, out = _contributions(model.curve, design, frame)
        for f, c in zip(design.tree_features(), raw[:-1], strict=True):
            out[f] = out.get(f, 0.0) + float(c)
        return bias + float(raw[-1]), out
    if family == "linear":
        x = design.linear_matrix(frame)[0]
        out = {}
        for name, c, v in zip(design.linear_features(), model.coef, x, strict=True):
            col = "age_months" if name in ("age_squared", "age_sqrt") else name.split("=", 1)[0]
            out[col] = out.get(col, 0.0) + float(c * v)
        return float(model.intercept), out
    if family == "depreciation-curve":
        beta = model.coefficients(design, frame)[0]
        x = design.curve_matrix(frame)[0]
        out = {"age_months": float(beta[1] * x[1])}
        if len(beta) > 2:
            out["mileage_km"] = float(beta[2] * x[2])
        root = float(model.tables[0]["*"][0])
        out["segment"] = float(beta[0] - root)
        return root, out
    if family == "segment-median":
        root = float(model.tables[0]["*"])
        return root, {"segment": float(model.predict(design, frame)[0] - root)}
    if family == "blend":
        bias, total = 0.0, dict[str, float]()
        for name, w in model.weights.items():
            b, c = _contributions(model.parts[name], design, frame)
            bias += w * b
            for k, v in c.items():
                total[k] = total.get(k, 0.0) + w * v
        return bias, total
    raise ValueError(f"no contributions for family {family!r}")


@dataclass
class TrainingResult:
    model: ValuationModel
    cv: CVResult
    metrics: dict[str, float]  # the chosen model's CV figures (kept under the old name)
    baseline_metrics: dict[str, float]  # the best simple reference's CV figures
    intervals: dict[str, float]
    data: SalesData
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    index_source: str = "none"

    @property
    def split(self) -> dict[str, Any]:
        return self.cv.folds.describe()

    def cv_table(self) -> list[dict[str, Any]]:
        return self.cv.table


def prepare_training(sales: SalesData | pd.DataFrame) -> SalesData:
    if isinstance(sales, SalesData):
        return sales
    return sales_from_frame(sales)


def train_model(
    sales: SalesData | pd.DataFrame, index: MarketIndex | None = None, config: TrainConfig | None = None
) -> TrainingResult:
    """Choose by CV, refit on all rows, calibrate intervals; refuses below 30 sales."""
    config = config or TrainConfig()
    config.check()
    started = time.perf_counter()
    data = prepare_training(sales)
    n = len(data)
    if n < MIN_TRAINING_ROWS:
        raise InputError.single(
            "csv",
            f"need at least {MIN_TRAINING_ROWS} sales to train, got {n} "
            f"({MIN_TRAINING_ROWS - n} more needed)",
        )
    warnings: list[str] = []
    if n < SMALL_DATA_ROWS:
        warnings.append(
            f"only {n} sales: the model is chosen and calibrated on little data, so its 90 % interval is "
            f"wide and its figures uncertain (see the CV standard errors); {SMALL_DATA_ROWS}+ sales narrow it"
        )
    frame = data.frame
    folds = make_folds(frame, config.seed, config.folds, config.repeats)
    use_time = folds.kind == "time-ordered"

    def design_for(train: pd.DataFrame) -> Design:
        return Design.learn(data.columns, train, data.has_list_price, use_time)

    cv = run_cv(frame, design_for, folds, config.seed, config.num_boost_round, config.families)
    log_price = np.log(frame["price"].to_numpy(dtype=np.float64))

    design = design_for(frame)
    y = log_price - design.offset(frame)
    fitted: dict[str, Any] = {}
    needed = list(cv.blend_weights) if cv.chosen == "blend" else [cv.chosen]
    for fam in {*needed, "depreciation-curve"}:
        fitted[fam] = make_candidate(fam, seed=config.seed, max_rounds=config.num_boost_round).fit(
            design, frame, y
        )
    if cv.chosen == "blend":
        model: Any = Blend(weights=dict(cv.blend_weights), parts={k: fitted[k] for k in cv.blend_weights})
    else:
        model = fitted[cv.chosen]

    keys = design.hierarchy_keys(frame)
    oof = cv.oof[cv.chosen][0]
    abs_resid = np.abs(log_price - oof)
    scales = ScaleTable.fit(keys, abs_resid)
    q = conformal_quantile(abs_resid / scales.scale(keys), config.coverage)
    intervals = interval_cv(keys, oof, log_price, cv.folds.assignments[0], cv.folds.n_folds, config.coverage)
    if not math.isfinite(q):
        raise InputError.single("csv", f"too few sales for a {config.coverage:.0%} interval")

    trend, index_source = _market_trend(
        frame,
        index,
        log_price - design.offset(frame) - fitted["depreciation-curve"].predict(design, frame),
        keys,
    )
    km_per_month = DEFAULT_KM_PER_MONTH
    if "mileage_km" in frame:
        km = pd.to_numeric(frame["mileage_km"], errors="coerce").to_numpy(dtype=np.float64)
        rate = km / np.maximum(frame["age_months"].to_numpy(dtype=np.float64), 1.0)
        good = np.isfinite(rate)
        if good.any():
            km_per_month = float(np.median(rate[good]))
    last_sale = None
    if frame["sale_date"].notna().any():
        last_sale = str(pd.to_datetime(frame["sale_date"]).max().date())

    vm = ValuationModel(
        design,
        cv.chosen,
        model,
        fitted["depreciation-curve"],
        scales,
        q,
        config.coverage,
        trend,
        km_per_month,
        last_sale,
    )
    by_family = {row["family"]: row for row in cv.table}
    chosen_row = by_family[cv.chosen]
    simple = [f for f in ("segment-median", "depreciation-curve", "linear", "boosting") if f in by_family]
    best_ref = min(simple, key=lambda f: by_family[f]["cv_mape"])
    metrics = {
        "n": float(n),
        "mape": chosen_row["cv_mape"],
        "mape_se": chosen_row["cv_mape_se"],
        "selection_mape": cv.selection_mape,
        "within_8pct": chosen_row["within_8pct"],
        "within_15pct": chosen_row["within_15pct"],
        "median_error": chosen_row["median_error"],
        "interval_coverage": intervals["cv_coverage"],
        "mean_interval_width_pct": intervals["cv_mean_width_pct"],
    }
    baseline = {k: by_family[best_ref][k] for k in ("cv_mape", "within_8pct", "within_15pct", "median_error")}
    baseline = {"mape" if k == "cv_mape" else k: v for k, v in baseline.items()}
    baseline["family"] = best_ref  # type: ignore[assignment]
    seconds = time.perf_counter() - started
    logger.info(
        "valuation trained on %d sales: chose %s (CV MAPE %.4f; best reference %s %.4f) in %.1f s",
        n,
        cv.chosen,
        metrics["mape"],
        best_ref,
        baseline["mape"],
        seconds,
    )
    return TrainingResult(vm, cv, metrics, baseline, intervals, data, warnings, seconds, index_source)


def _market_trend(
    frame: pd.DataFrame, index: MarketIndex | None, resid: np.ndarray, keys: list[np.ndarray]
) -> tuple[float, str]:
    """Recent monthly log trend of the market (damped, capped); zero when the dates do not span a year."""
    dates = pd.to_datetime(frame["sale_date"])
    if index is not None:
        # a published index: the mean over segments of its last 12 months' slope
        slopes = []
        for seg in index.segments():
            v = np.log(np.asarray(index.values[seg][-12:]))
            if len(v) >= 3:
                slopes.append(float(np.polyfit(np.arange(len(v)), v, 1)[0]))
        raw = float(np.mean(slopes)) if slopes else 0.0
        source = "published index"
    elif dates.notna().all() and (dates.max() - dates.min()).days >= 365:
        months = (dates.dt.year * 12 + dates.dt.month - 1).to_numpy()
        recent = months >= months.max() - 11
        design = np.column_stack([np.ones(recent.sum()), months[recent]])
        coef, *_ = np.linalg.lstsq(design, resid[recent], rcond=None)
        raw = float(coef[1])
        source = "derived from sales (residuals of the depreciation curve, last 12 months)"
    else:
        return 0.0, "none (sale dates span less than a year)"
    return float(np.clip(raw * TREND_DAMPING, -TREND_CAP_PER_MONTH, TREND_CAP_PER_MONTH)), source


def vehicle_record(rec: dict[str, Any], design: Design) -> dict[str, Any]:
    """One vehicle (plain values) → one row of the frame :func:`vehicle_frame` makes (no pandas per field)."""
    out = dict(rec)
    when = rec.get("valuation_date")
    when_d = date.fromisoformat(str(when)) if when is not None else None
    if out.get("age_months") is None:
        first = rec.get("first_registration")
        if first is None or when_d is None:
            raise InputError.single("first_registration", "required (or age_months)")
        out["age_months"] = (when_d - date.fromisoformat(str(first))).days / DAYS_PER_MONTH
    out["age_months"] = max(float(out["age_months"]), 0.0)
    out["sale_date"] = pd.Timestamp(when_d if when_d is not None else date.today())
    for col in design.categorical:
        value = out.get(col)
        out[col] = "(missing)" if value is None else str(value)
    for plan in design.plans:
        if plan.name not in out or plan.kind not in ("boolean", "numeric"):
            continue
        value = out[plan.name]
        if plan.kind == "boolean":
            word = str(value).strip().lower()
            out[plan.name] = 1.0 if word in TRUE_WORDS else 0.0 if word in FALSE_WORDS else np.nan
        else:
            try:
                out[plan.name] = float(value) if value is not None and not isinstance(value, bool) else np.nan
            except (TypeError, ValueError):
                out[plan.name] = np.nan
    if design.has_list_price and out.get("new_price") is None:
        raise InputError.single("new_price", "required by this model (it was trained with list prices)")
    return out


def vehicle_frame(records: list[dict[str, Any]] | pd.DataFrame, design: Design) -> pd.DataFrame:
    """Vehicles to value as a frame of the training columns (age from dates when not given)."""
    if not isinstance(records, pd.DataFrame):
        return pd.DataFrame([vehicle_record(r, design) for r in records])
    frame = records.copy()
    if "age_months" not in frame or frame["age_months"].isna().any():
        first = pd.to_datetime(frame["first_registration"]) if "first_registration" in frame else None
        if first is None:
            raise InputError.single("first_registration", "required (or age_months)")
        when = pd.to_datetime(frame["valuation_date"])
        age = (when - first).dt.days / DAYS_PER_MONTH
        frame["age_months"] = frame["age_months"].fillna(age) if "age_months" in frame else age
    frame["age_months"] = pd.to_numeric(frame["age_months"]).clip(lower=0.0)
    frame["sale_date"] = pd.to_datetime(frame["valuation_date"]) if "valuation_date" in frame else pd.NaT
    if design.time_origin is not None and frame["sale_date"].isna().any():
        frame["sale_date"] = frame["sale_date"].fillna(pd.Timestamp(date.today()))
    for col in design.categorical:
        if col not in frame:
            frame[col] = "(missing)"
        frame[col] = frame[col].where(frame[col].notna(), "(missing)").astype(str)
    for plan in design.plans:
        if plan.name not in frame or plan.kind not in ("boolean", "numeric"):
            continue
        if plan.kind == "boolean":
            words = frame[plan.name].map(lambda v: str(v).strip().lower())
            frame[plan.name] = np.where(
                words.isin(TRUE_WORDS), 1.0, np.where(words.isin(FALSE_WORDS), 0.0, np.nan)
            )
        else:
            frame[plan.name] = pd.to_numeric(frame[plan.name], errors="coerce")
    if design.has_list_price and ("new_price" not in frame or frame["new_price"].isna().any()):
        raise InputError.single("new_price", "required by this model (it was trained with list prices)")
    return frame
