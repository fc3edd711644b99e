"""From vehicle records to the model's feature matrix, with the vocabulary learned at training.

Trees are invariant to monotone transforms, so features stay in natural units (no logs): the same
arithmetic in the batch path (numpy) and the single-record path (plain Python) gives the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from app.valuation.catalog import POWERTRAINS, REGIONS, TRANSMISSIONS
from app.valuation.errors import FieldProblem, InputError
from app.valuation.market_index import IndexLookup, MarketIndex, month_number

DAYS_PER_MONTH = 30.4375
OLDER_REPAIR_WEIGHT = 0.35  # an older repair says less about today's condition than a recent one

FEATURES: tuple[str, ...] = (
    "make",
    "model",
    "trim",
    "segment",
    "powertrain",
    "transmission",
    "city_tier",
    "region_correction",
    "age_months",
    "mileage_km",
    "market_index",
    "maintenance_weighted_ratio",
    "repair_recent_ratio",
    "claims_count",
    "accident_severity",
    "condition_grade",
    "new_price",
)
CATEGORICAL: tuple[str, ...] = FEATURES[:6]
MONOTONE: dict[str, int] = {
    "age_months": -1,
    "mileage_km": -1,
    "condition_grade": 1,
    "accident_severity": -1,
    "claims_count": -1,
}
BATCH_NUMERIC: tuple[str, ...] = (
    "mileage_km", "repair_cost_recent_3m", "repair_cost_older", "claims_count", "accident_severity",
    "condition_grade", "new_price",
)  # fmt: skip
# fields a valuation request carries (the canonical inputs, besides the model version)
INPUT_FIELDS: tuple[str, ...] = (
    "make",
    "model",
    "trim",
    "powertrain",
    "transmission",
    "first_registration",
    "valuation_date",
    "mileage_km",
    "region",
    "repair_cost_recent_3m",
    "repair_cost_older",
    "claims_count",
    "accident_severity",
    "condition_grade",
    "new_price",
)


def _num(rec: dict[str, object], key: str) -> float:
    value: Any = rec[key]
    return float(value)


def _vocab(values: pd.Series) -> list[str]:
    return sorted({str(v) for v in values})


@dataclass
class FeatureSpace:
    """Everything needed to turn a record into features; stored with the model for reproduction."""

    makes: list[str]
    models: list[str]  # "make|model"
    trims: list[str]  # "make|model|trim"
    segments: list[str]
    model_segment: dict[str, str]
    regions: dict[str, tuple[int, float]]  # code -> (city tier, correction)
    market_index: MarketIndex
    powertrains: list[str] = field(default_factory=lambda: list(POWERTRAINS))
    transmissions: list[str] = field(default_factory=lambda: list(TRANSMISSIONS))

    def __post_init__(self) -> None:
        self._codes = {
            "make": {v: i for i, v in enumerate(self.makes)},
            "model": {v: i for i, v in enumerate(self.models)},
            "trim": {v: i for i, v in enumerate(self.trims)},
            "segment": {v: i for i, v in enumerate(self.segments)},
            "powertrain": {v: i for i, v in enumerate(self.powertrains)},
            "transmission": {v: i for i, v in enumerate(self.transmissions)},
        }

    @classmethod
    def learn(cls, sales: pd.DataFrame, market_index: MarketIndex) -> FeatureSpace:
        model_key = sales["make"] + "|" + sales["model"]
        seg_by_model = (
            pd.DataFrame({"k": model_key, "s": sales["segment"]})
            .groupby("k")["s"]
            .agg(lambda s: s.value_counts().sort_index().idxmax())
        )
        missing = sorted(set(sales["segment"]) - set(market_index.segments()))
        if missing:
            raise InputError.single("segment", f"no market index for segment(s) {', '.join(missing)}")
        return cls(
            makes=_vocab(sales["make"]),
            models=_vocab(model_key),
            trims=_vocab(model_key + "|" + sales["trim"]),
            segments=_vocab(sales["segment"]),
            model_segment={str(k): str(v) for k, v in seg_by_model.items()},
            regions={r.code: (r.city_tier, r.correction) for r in REGIONS},
            market_index=market_index,
        )

    # --- serialisation -------------------------------------------------------------------------
    def to_json(self) -> dict[str, object]:
        return {
            "makes": self.makes,
            "models": self.models,
            "trims": self.trims,
            "segments": self.segments,
            "model_segment": dict(sorted(self.model_segment.items())),
            "regions": {k: [t, c] for k, (t, c) in sorted(self.regions.items())},
            "market_index": self.market_index.to_json(),
            "powertrains": self.powertrains,
            "transmissions": self.transmissions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureSpace:
        regions = {str(k): (int(v[0]), float(v[1])) for k, v in data["regions"].items()}
        return cls(
            makes=list(data["makes"]),
            models=list(data["models"]),
            trims=list(data["trims"]),
            segments=list(data["segments"]),
            model_segment=dict(data["model_segment"]),
            regions=regions,
            market_index=MarketIndex.from_json(data["market_index"]),
            powertrains=list(data["powertrains"]),
            transmissions=list(data["transmissions"]),
        )

    # --- single record (fast path) ---------------------------------------------------------------
    def check_record(self, rec: dict[str, object]) -> list[FieldProblem]:
        """Vocabulary and date checks a typed request cannot make by itself."""
        problems: list[FieldProblem] = []
        make, model, trim = str(rec["make"]), str(rec["model"]), str(rec["trim"])
        if make not in self._codes["make"]:
            problems.append(FieldProblem("make", "unknown make for this model version", value=make))
        elif f"{make}|{model}" not in self._codes["model"]:
            problems.append(FieldProblem("model", f"unknown model for make {make!r}", value=model))
        elif f"{make}|{model}|{trim}" not in self._codes["trim"]:
            problems.append(FieldProblem("trim", f"unknown trim for {make} {model}", value=trim))
        if rec["powertrain"] not in self._codes["powertrain"]:
            problems.append(FieldProblem("powertrain", "unknown powertrain", value=str(rec["powertrain"])))
        if rec["transmission"] not in self._codes["transmission"]:
            problems.append(
                FieldProblem("transmission", "unknown transmission", value=str(rec["transmission"]))
            )
        if rec["region"] not in self.regions:
            problems.append(FieldProblem("region", "unknown region code", value=str(rec["region"])))
        first, when = rec["first_registration"], rec["valuation_date"]
        assert isinstance(first, date) and isinstance(when, date)
        if first > when:
            problems.append(
                FieldProblem("first_registration", "is after the valuation date", value=str(first))
            )
        return problems

    def segment_of(self, make: str, model: str) -> str:
        return self.model_segment[f"{make}|{model}"]

    def index_for(self, rec: dict[str, object]) -> IndexLookup:
        when = rec["valuation_date"]
        assert isinstance(when, date)
        return self.market_index.lookup(
            self.segment_of(str(rec["make"]), str(rec["model"])), month_number(when)
        )

    def row(self, rec: dict[str, object]) -> np.ndarray:
        """One record (already checked) as a 1×F float64 matrix."""
        make, model, trim = str(rec["make"]), str(rec["model"]), str(rec["trim"])
        segment = self.model_segment[f"{make}|{model}"]
        first, when = rec["first_registration"], rec["valuation_date"]
        assert isinstance(first, date) and isinstance(when, date)
        tier, correction = self.regions[str(rec["region"])]
        new_price = _num(rec, "new_price")
        recent, older = _num(rec, "repair_cost_recent_3m"), _num(rec, "repair_cost_older")
        values = (
            self._codes["make"][make],
            self._codes["model"][f"{make}|{model}"],
            self._codes["trim"][f"{make}|{model}|{trim}"],
            self._codes["segment"][segment],
            self._codes["powertrain"][str(rec["powertrain"])],
            self._codes["transmission"][str(rec["transmission"])],
            tier,
            correction,
            (when - first).days / DAYS_PER_MONTH,
            _num(rec, "mileage_km"),
            self.market_index.lookup(segment, month_number(when)).value,
            (recent + OLDER_REPAIR_WEIGHT * older) / new_price,
            recent / new_price,
            _num(rec, "claims_count"),
            _num(rec, "accident_severity"),
            _num(rec, "condition_grade"),
            new_price,
        )
        return np.array([values], dtype=np.float64)

    # --- batch path ----------------------------------------------------------------------------------
    def check_frame(self, frame: pd.DataFrame, date_column: str = "sale_date") -> list[FieldProblem]:
        """Unknown vocabulary, and missing or non-finite numbers/dates (never passed on as NaN)."""
        problems: list[FieldProblem] = []
        for name in (*BATCH_NUMERIC, "first_registration", date_column):
            if name not in frame.columns:
                problems.append(FieldProblem(name, "column missing"))
                continue
            col = frame[name]
            bad = col.isna().to_numpy().copy()
            if col.dtype.kind in "fi":
                bad |= ~np.isfinite(col.to_numpy(dtype=np.float64))
            for i in np.flatnonzero(bad)[:50]:
                problems.append(
                    FieldProblem(name, "missing or not a finite number", int(i) + 1, str(col.iloc[i]))
                )
        if problems:
            return problems
        checks = (
            ("make", frame["make"], self._codes["make"]),
            ("model", frame["make"] + "|" + frame["model"], self._codes["model"]),
            ("trim", frame["make"] + "|" + frame["model"] + "|" + frame["trim"], self._codes["trim"]),
            ("region", frame["region"], self.regions),
        )
        for name, keys, vocab in checks:
            bad = ~keys.isin(list(vocab)).to_numpy()
            for i in np.flatnonzero(bad)[:50]:
                problems.append(
                    FieldProblem(name, "unknown for this model version", int(i) + 1, str(keys.iloc[i]))
                )
        return problems

    def matrix(self, frame: pd.DataFrame, date_column: str = "sale_date") -> np.ndarray:
        """Features for many records; ``date_column`` holds each record's valuation/sale date."""
        problems = self.check_frame(frame, date_column)
        if problems:
            raise InputError(problems)
        model_key = frame["make"] + "|" + frame["model"]
        segment = model_key.map(self.model_segment).to_numpy()
        when = pd.to_datetime(frame[date_column])
        first = pd.to_datetime(frame["first_registration"])
        months = (when.dt.year * 12 + when.dt.month - 1).to_numpy()
        tier = frame["region"].map({k: v[0] for k, v in self.regions.items()}).to_numpy(dtype=np.float64)
        correction = (
            frame["region"].map({k: v[1] for k, v in self.regions.items()}).to_numpy(dtype=np.float64)
        )
        new_price = frame["new_price"].to_numpy(dtype=np.float64)
        recent = frame["repair_cost_recent_3m"].to_numpy(dtype=np.float64)
        older = frame["repair_cost_older"].to_numpy(dtype=np.float64)
        cols = [
            frame["make"].map(self._codes["make"]).to_numpy(dtype=np.float64),
            model_key.map(self._codes["model"]).to_numpy(dtype=np.float64),
            (model_key + "|" + frame["trim"]).map(self._codes["trim"]).to_numpy(dtype=np.float64),
            pd.Series(segment).map(self._codes["segment"]).to_numpy(dtype=np.float64),
            frame["powertrain"].map(self._codes["powertrain"]).to_numpy(dtype=np.float64),
            frame["transmission"].map(self._codes["transmission"]).to_numpy(dtype=np.float64),
            tier,
            correction,
            (when - first).dt.days.to_numpy(dtype=np.float64) / DAYS_PER_MONTH,
            frame["mileage_km"].to_numpy(dtype=np.float64),
            self.market_index.lookup_many(segment, months),
            (recent + OLDER_REPAIR_WEIGHT * older) / new_price,
            recent / new_price,
            frame["claims_count"].to_numpy(dtype=np.float64),
            frame["accident_severity"].to_numpy(dtype=np.float64),
            frame["condition_grade"].to_numpy(dtype=np.float64),
            new_price,
        ]
        return np.column_stack(cols)
