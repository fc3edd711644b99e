"""From validated sales (or one vehicle to value) to model inputs, per the column plans.

One ``Design`` is learned from the training data and stored with the model. It gives every
candidate the same view: the target offset (log list price, when the data have one), the segment
hierarchy keys (coarse to fine), a numeric matrix for trees (categoricals as pooled integer codes,
missing kept as NaN) and a dense matrix for linear models (standardised numbers, one-hot levels).
Unseen or rare categories map to the pooled level, never to an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from app.valuation.dataset import MONOTONE_DOWN, MONOTONE_UP, ColumnPlan

OTHER = "(other)"


class Rows:
    """A few vehicles as plain column arrays: all that :class:`Design` and the candidates read.

    The single-valuation path uses it instead of a DataFrame, whose construction and per-column
    access cost about 2 ms a valuation; the values, and so the predictions, are the same.
    """

    __slots__ = ("columns", "n")

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self.columns = columns
        self.n = len(next(iter(columns.values()))) if columns else 0

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Rows:
        """One vehicle (a :func:`~app.valuation.model.vehicle_record`) → one row of arrays."""
        out: dict[str, np.ndarray] = {}
        for name, value in record.items():
            if isinstance(value, pd.Timestamp):
                out[name] = np.array([value.to_datetime64()])
            elif isinstance(value, float | int) and not isinstance(value, bool):
                out[name] = np.array([value], dtype=np.float64)
            else:
                out[name] = np.array([value], dtype=object)
        return cls(out)

    def __len__(self) -> int:
        return self.n

    def __contains__(self, col: object) -> bool:
        return col in self.columns

    def __getitem__(self, col: str) -> np.ndarray:
        return self.columns[col]


Frame: TypeAlias = pd.DataFrame | Rows


def column(frame: Frame, col: str, dtype: Any = None) -> np.ndarray:
    """A column's values as an array (a DataFrame's as ``to_numpy`` gives them)."""
    values = frame[col]
    if isinstance(values, np.ndarray):
        return values if dtype is None else values.astype(dtype, copy=False)
    return values.to_numpy(dtype=dtype)


def _to_float(values: Any) -> np.ndarray:
    """Numbers as float64, anything unparseable as NaN (``pd.to_numeric(errors="coerce")``)."""
    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)


@dataclass
class Design:
    plans: list[ColumnPlan]
    has_list_price: bool
    hierarchy: list[str]  # hierarchy columns present, coarse to fine
    numeric: list[str]  # numeric and boolean feature columns (age first)
    categorical: list[str]  # categorical feature columns incl. hierarchy columns
    levels: dict[str, list[str]]
    fills: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]
    time_origin: float | None  # first sale month number, when the trend is a feature
    time_span: float = 0.0  # months from the first to the last sale (later dates are clipped to it)

    @classmethod
    def learn(
        cls, plans: list[ColumnPlan], frame: pd.DataFrame, has_list_price: bool, use_time: bool
    ) -> Design:
        by_name = {p.name: p for p in plans}
        present: list[str] = [
            h for h in ("make", "model", "segment") if h in by_name and by_name[h].kind == "hierarchy"
        ]
        # price level is set by make and model; a body type/segment refines make when models are absent
        hierarchy = [h for h in present if h != "segment" or "model" not in present]
        numeric = ["age_months"] + [p.name for p in plans if p.kind in ("numeric", "boolean")]
        if has_list_price:
            numeric = [c for c in numeric if c != "new_price"] + ["log_new_price"]
        categorical = present + [p.name for p in plans if p.kind == "categorical"]
        levels = {c: list(by_name[c].levels) for c in categorical}
        time_origin = None
        if use_time:
            months = _months(frame["sale_date"])
            time_origin = float(np.nanmin(months))
            time_span = float(np.nanmax(months) - time_origin)
            numeric.append("sale_month")
        else:
            time_span = 0.0
        design = cls(
            plans, has_list_price, hierarchy, numeric, categorical, levels, {}, {}, {}, time_origin, time_span
        )
        raw = design._numeric_raw(frame)
        for j, col in enumerate(numeric):
            v = raw[:, j]
            good = np.isfinite(v)
            design.fills[col] = float(np.median(v[good])) if good.any() else 0.0
            filled = np.where(good, v, design.fills[col])
            design.means[col] = float(filled.mean())
            design.scales[col] = float(filled.std()) or 1.0
        return design

    # --- views -------------------------------------------------------------------------------
    def offset(self, frame: Frame) -> np.ndarray:
        if self.has_list_price:
            return np.log(column(frame, "new_price", np.float64))
        return np.zeros(len(frame))

    def hierarchy_keys(self, frame: Frame) -> list[np.ndarray]:
        """Node keys per level: level 0 is everything, then make ⊃ model (or make ⊃ segment) paths."""
        keys = [np.full(len(frame), "*", dtype=object)]
        path = ["*"] * len(frame)
        for col in self.hierarchy:
            path = [f"{p}|{v}" for p, v in zip(path, column(frame, col), strict=True)]
            keys.append(np.array(path, dtype=object))
        return keys

    def _numeric_raw(self, frame: Frame) -> np.ndarray:
        cols = []
        for col in self.numeric:
            if col == "log_new_price":
                cols.append(np.log(column(frame, "new_price", np.float64)))
            elif col == "sale_month":
                months = _months(frame["sale_date"]) - float(self.time_origin or 0.0)
                cols.append(np.clip(months, 0.0, self.time_span))
            elif col in frame:
                values = column(frame, col)
                try:
                    cols.append(values.astype(np.float64))
                except (TypeError, ValueError):
                    cols.append(_to_float(frame[col]))
            else:
                cols.append(np.full(len(frame), np.nan))
        return np.column_stack(cols) if cols else np.zeros((len(frame), 0))

    def codes(self, frame: Frame) -> np.ndarray:
        """Categorical columns as integer codes; rare, unseen and missing share the pooled code 0."""
        out = []
        lookups = self._lookups()
        for col in self.categorical:
            lookup = lookups[col]
            values = column(frame, col) if col in frame else [OTHER] * len(frame)
            out.append(np.array([lookup.get(str(v), 0) for v in values], dtype=np.float64))
        return np.column_stack(out) if out else np.zeros((len(frame), 0))

    def _lookups(self) -> dict[str, dict[str, int]]:
        cached: dict[str, dict[str, int]] | None = getattr(self, "_lookup_cache", None)
        if cached is None:
            cached = {c: {v: i + 1 for i, v in enumerate(self.levels[c])} for c in self.categorical}
            self._lookup_cache = cached
        return cached

    def tree_matrix(self, frame: Frame) -> np.ndarray:
        return np.column_stack([self._numeric_raw(frame), self.codes(frame)])

    def tree_features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def monotone(self) -> list[int]:
        return [(-1 if c in MONOTONE_DOWN else 1 if c in MONOTONE_UP else 0) for c in self.numeric] + [
            0
        ] * len(self.categorical)

    def linear_matrix(self, frame: Frame) -> np.ndarray:
        """Standardised numbers (missing → median, plus age², √age for the curve's bend) and one-hot
        levels (the pooled level is the reference)."""
        raw = self._numeric_raw(frame)
        cols = []
        for j, col in enumerate(self.numeric):
            v = np.where(np.isfinite(raw[:, j]), raw[:, j], self.fills[col])
            cols.append((v - self.means[col]) / self.scales[col])
        age = np.maximum(raw[:, 0], 0.0) / 120.0
        cols.extend([age**2, np.sqrt(age)])
        codes = self.codes(frame)
        for j, col in enumerate(self.categorical):
            levels = np.arange(1, len(self.levels[col]) + 1, dtype=np.float64)
            cols.append((codes[:, j : j + 1] == levels).astype(np.float64))
        return np.column_stack(cols)

    def linear_features(self) -> list[str]:
        names = [*self.numeric, "age_squared", "age_sqrt"]
        for col in self.categorical:
            names.extend(f"{col}={v}" for v in self.levels[col])
        return names

    def curve_matrix(self, frame: Frame) -> np.ndarray:
        """Intercept, age in years, mileage in 100k km (missing → median), for the depreciation curve."""
        age = column(frame, "age_months", np.float64) / 12.0
        cols = [np.ones(len(frame)), age]
        if "mileage_km" in self.numeric:
            km = _to_float(frame["mileage_km"]) if "mileage_km" in frame else np.full(len(frame), np.nan)
            cols.append(np.where(np.isfinite(km), km, self.fills["mileage_km"]) / 1e5)
        return np.column_stack(cols)

    # --- serialisation -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [p.to_json() for p in self.plans],
            "has_list_price": self.has_list_price,
            "hierarchy": self.hierarchy,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "levels": self.levels,
            "fills": self.fills,
            "means": self.means,
            "scales": self.scales,
            "time_origin": self.time_origin,
            "time_span": self.time_span,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Design:
        return cls(
            [ColumnPlan.from_json(p) for p in d["columns"]],
            bool(d["has_list_price"]),
            list(d["hierarchy"]),
            list(d["numeric"]),
            list(d["categorical"]),
            {k: list(v) for k, v in d["levels"].items()},
            {k: float(v) for k, v in d["fills"].items()},
            {k: float(v) for k, v in d["means"].items()},
            {k: float(v) for k, v in d["scales"].items()},
            None if d.get("time_origin") is None else float(d["time_origin"]),
            float(d.get("time_span", 0.0)),
        )

    def input_columns(self) -> list[str]:
        """The columns a vehicle to value may carry (besides the valuation date)."""
        return [p.name for p in self.plans if p.kind not in ("target", "dropped", "date")]


def _months(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Months since year 0 (consecutive calendar months differ by one), with the day as a fraction."""
    values = dates if isinstance(dates, np.ndarray) else dates.to_numpy()
    if values.dtype.kind != "M":
        values = pd.to_datetime(dates).to_numpy()
    day = values.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    frac = (day - month).astype(np.float64) / 31.0
    out = month.astype(np.float64) + 1970 * 12 + frac
    return np.where(np.isnat(values), np.nan, out)
