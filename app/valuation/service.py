"""Valuation service: train-and-register, value, explain, evaluate and reproduce.

A valuation cites ``name@version`` and the sha256 of its canonical inputs (the resolved request:
explicit valuation date, repair sums); :meth:`ValuationService.reproduce` loads that version,
recomputes from those inputs and compares value and hash exactly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from app.valuation.canonical import canonical_hash, sha256_hex
from app.valuation.errors import FieldProblem, InputError, ModelNotFoundError
from app.valuation.features import FEATURES, INPUT_FIELDS, FeatureSpace
from app.valuation.market_index import MarketIndex
from app.valuation.metrics import DepreciationTable, accuracy
from app.valuation.mileage import ROLLBACK_TOLERANCE_KM
from app.valuation.model import ResidualValueModel, TrainConfig, TrainingResult, train_model
from app.valuation.registry import ModelRegistry, RegisteredModel, parse_ref
from app.valuation.schemas import (
    Contribution,
    Interval,
    MarketIndexUsed,
    ModelRef,
    ReproduceResponse,
    ValuationResponse,
    VehicleInput,
)

logger = logging.getLogger(__name__)

MODEL_NAME = "residual-value"
LATEST_TTL_S = 2.0  # how stale "latest model" may be in a long-running service
RECENT_REPAIR_DAYS = 91  # "recent" maintenance: the last three months
_FLOAT_FIELDS = ("mileage_km", "repair_cost_recent_3m", "repair_cost_older", "new_price")
_INT_FIELDS = ("claims_count", "accident_severity", "condition_grade")


def today_utc() -> date:
    return datetime.now(UTC).date()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Hash of validated sales in canonical form (ISO dates, canonical column order)."""
    out = frame.copy()
    for col in ("first_registration", "sale_date"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return sha256_hex(out.to_csv(index=False, lineterminator="\n").encode())


def mileage_flags(vehicle: VehicleInput) -> list[str]:
    """Workshop odometer readings above the stated mileage: a possible rollback (advisory)."""
    flags: list[str] = []
    for rec in vehicle.maintenance_records or []:
        if rec.odometer_km is not None and rec.odometer_km > vehicle.mileage_km + ROLLBACK_TOLERANCE_KM:
            flags.append(
                f"mileage_km {vehicle.mileage_km:.0f} is below the {rec.odometer_km:.0f} km recorded at "
                f"maintenance on {rec.date}: possible odometer rollback (valued at the stated mileage)"
            )
    return flags


def canonical_inputs(vehicle: VehicleInput, today: date | None = None) -> dict[str, Any]:
    """Resolve defaults and maintenance records into the explicit inputs a valuation is hashed on."""
    today = today or today_utc()
    when = vehicle.valuation_date or today
    problems: list[FieldProblem] = []
    if when > today:
        problems.append(
            FieldProblem("valuation_date", f"is in the future (today is {today})", value=str(when))
        )
    if vehicle.first_registration > today:
        problems.append(
            FieldProblem(
                "first_registration",
                f"is in the future (today is {today})",
                value=str(vehicle.first_registration),
            )
        )
    sums_given = vehicle.repair_cost_recent_3m is not None or vehicle.repair_cost_older is not None
    recent, older = vehicle.repair_cost_recent_3m, vehicle.repair_cost_older
    if vehicle.maintenance_records is not None:
        if sums_given:
            problems.append(FieldProblem("maintenance_records", "give repair sums or records, not both"))
        recent, older = 0.0, 0.0
        for i, rec in enumerate(vehicle.maintenance_records):
            age_days = (when - rec.date).days
            if age_days < 0:
                problems.append(
                    FieldProblem(
                        f"maintenance_records[{i}].date", "is after the valuation date", value=str(rec.date)
                    )
                )
            elif age_days <= RECENT_REPAIR_DAYS:
                recent += rec.cost
            else:
                older += rec.cost
    else:
        for name, val in (("repair_cost_recent_3m", recent), ("repair_cost_older", older)):
            if val is None:
                problems.append(FieldProblem(name, "required (or give maintenance_records)"))
    if problems:
        raise InputError(problems)
    data = vehicle.model_dump(exclude={"maintenance_records", "repair_cost_recent_3m", "repair_cost_older"})
    data.update(valuation_date=when, repair_cost_recent_3m=recent, repair_cost_older=older)
    return normalise_inputs(data)


def normalise_inputs(data: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly the input fields, with fixed types (ISO dates, floats, ints) so hashing is stable."""
    missing = [f for f in INPUT_FIELDS if f not in data]
    extra = sorted(set(data) - set(INPUT_FIELDS))
    problems = [FieldProblem(f"inputs.{f}", "missing") for f in missing]
    problems += [FieldProblem(f"inputs.{f}", "not an input field") for f in extra]
    if problems:
        raise InputError(problems)
    out: dict[str, Any] = {}
    for name in INPUT_FIELDS:
        value = data[name]
        try:
            if name in ("first_registration", "valuation_date"):
                out[name] = (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
            elif name in _FLOAT_FIELDS:
                out[name] = float(value)
                if not np.isfinite(out[name]) or out[name] < 0:
                    raise ValueError("must be a finite, non-negative number")
            elif name in _INT_FIELDS:
                if isinstance(value, bool) or float(value) != int(value):
                    raise ValueError("must be a whole number")
                out[name] = int(value)
            else:
                out[name] = str(value)
        except (TypeError, ValueError) as exc:
            raise InputError.single(f"inputs.{name}", str(exc), value) from exc
    return out


def _record(inputs: Mapping[str, Any]) -> dict[str, object]:
    rec: dict[str, object] = dict(inputs)
    rec["first_registration"] = date.fromisoformat(str(inputs["first_registration"]))
    rec["valuation_date"] = date.fromisoformat(str(inputs["valuation_date"]))
    return rec


@dataclass
class LoadedModel:
    registered: RegisteredModel
    model: ResidualValueModel
    baseline: DepreciationTable

    @property
    def ref(self) -> ModelRef:
        r = self.registered
        return ModelRef(name=r.name, version=r.version, ref=r.ref, model_id=r.model_id)


class ValuationService:
    def __init__(self, registry: ModelRegistry | None = None, name: str = MODEL_NAME):
        self.registry = registry or ModelRegistry()
        self.name = name
        self._cache: dict[tuple[str, int], LoadedModel] = {}
        self._latest: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    # --- training ------------------------------------------------------------------------------
    def train_and_register(
        self,
        sales: pd.DataFrame,
        index: MarketIndex | None = None,
        config: TrainConfig | None = None,
        source: str = "csv",
        raw_sha256: str | None = None,
    ) -> tuple[RegisteredModel, TrainingResult]:
        config = config or TrainConfig()
        result = train_model(sales, index, config)
        baseline = result.baseline_table
        meta = {
            "kind": "lightgbm-residual-value",
            "target": "log(price / new_price)",
            "features": list(FEATURES),
            "feature_space": result.model.space.to_json(),
            "conformal": {"coverage": result.model.coverage, "half_width": result.model.half_width},
            "params": result.params,
            "num_boost_round": config.num_boost_round,
            "lightgbm_version": lgb.__version__,
            "training": {
                "source": source,
                "rows": len(sales),
                "data_sha256": frame_sha256(sales),
                "raw_sha256": raw_sha256,
                "split": result.split,
                "index_source": result.index_source,
            },
            "metrics": result.metrics,
            "baseline": {
                "kind": "depreciation table (segment × age year)",
                "ratios": baseline.ratios,
                "metrics": result.baseline_metrics,
            },
        }
        artefact = result.model.booster.model_to_string().encode()
        registered = self.registry.register(self.name, "model.txt", artefact, meta)
        self._latest.pop(self.name, None)
        return registered, result

    # --- loading -------------------------------------------------------------------------------
    def load(self, ref: str | None = None) -> LoadedModel:
        """The model for ``ref`` (latest when None). Versions are immutable, so a loaded one is kept;
        "latest" is re-resolved at most every LATEST_TTL_S seconds (a cheap directory listing)."""
        name, version = parse_ref(ref, self.name) if ref else (self.name, None)
        if version is None:
            now = time.monotonic()
            hit = self._latest.get(name)
            if hit is None or now - hit[1] > LATEST_TTL_S:
                versions = self.registry.versions(name)
                if not versions:
                    raise ModelNotFoundError(f"no model {name!r} registered under {self.registry.root}")
                hit = (versions[-1], now)
                self._latest[name] = hit
            version = hit[0]
        cached = self._cache.get((name, version))
        if cached is not None:
            return cached
        registered = self.registry.get(name, version)
        key = (registered.name, registered.version)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            meta = registered.meta
            if meta.get("kind") != "lightgbm-residual-value":
                raise ModelNotFoundError(f"{registered.ref} is not a residual-value model")
            booster = lgb.Booster(model_str=registered.artefact().decode())
            model = ResidualValueModel(
                booster,
                FeatureSpace.from_json(meta["feature_space"]),
                float(meta["conformal"]["coverage"]),
                float(meta["conformal"]["half_width"]),
            )
            loaded = LoadedModel(registered, model, DepreciationTable(meta["baseline"]["ratios"]))
            self._cache[key] = loaded
            return loaded

    # --- valuing ---------------------------------------------------------------------------------
    def value(
        self, vehicle: VehicleInput, ref: str | None = None, explain: bool = False, today: date | None = None
    ) -> ValuationResponse:
        result = self._value(canonical_inputs(vehicle, today), ref, explain)
        result.flags = mileage_flags(vehicle)
        return result

    def value_inputs(
        self, inputs: Mapping[str, Any], ref: str | None = None, explain: bool = False
    ) -> ValuationResponse:
        """Value recorded inputs (as a valuation's ``inputs``): normalised, then valued."""
        return self._value(normalise_inputs(inputs), ref, explain)

    def _value(self, inputs: dict[str, Any], ref: str | None, explain: bool) -> ValuationResponse:
        loaded = self.load(ref)
        space, model = loaded.model.space, loaded.model
        rec = _record(inputs)
        problems = space.check_record(rec)
        if problems:
            raise InputError(problems)
        x = space.row(rec)
        value, low, high = model.value_row(x)
        segment = space.segment_of(str(rec["make"]), str(rec["model"]))
        idx = space.index_for(rec)
        response = ValuationResponse(
            value=round(value, 2),
            interval=Interval(low=round(low, 2), high=round(high, 2), coverage=model.coverage),
            model=loaded.ref,
            input_hash=canonical_hash(inputs),
            inputs=dict(inputs),
            market_index=MarketIndexUsed(segment=segment, month=idx.month, value=idx.value, stale=idx.stale),
        )
        if explain:
            bias, contrib = model.contributions(x)
            shown: dict[str, float | str] = {
                **{f: float(v) for f, v in zip(FEATURES, x[0], strict=True)},
                "make": str(rec["make"]),
                "model": str(rec["model"]),
                "trim": str(rec["trim"]),
                "segment": segment,
                "powertrain": str(rec["powertrain"]),
                "transmission": str(rec["transmission"]),
            }
            response.base_value = round(float(rec["new_price"]) * float(np.exp(bias)), 2)  # type: ignore[arg-type]
            response.contributions = sorted(
                (
                    Contribution(
                        feature=f, feature_value=shown[f], log_contribution=c, effect_pct=float(np.expm1(c))
                    )
                    for f, c in contrib.items()
                ),
                key=lambda c: -abs(c.log_contribution),
            )
        return response

    def value_frame(
        self, frame: pd.DataFrame, ref: str | None = None, date_column: str = "valuation_date"
    ) -> pd.DataFrame:
        """Batch valuation (revaluing a portfolio): value, low, high per row."""
        loaded = self.load(ref)
        x = loaded.model.space.matrix(frame, date_column=date_column)
        value, low, high = loaded.model.value_matrix(x)
        return pd.DataFrame({"value": value, "low": low, "high": high}, index=frame.index)

    def evaluate(self, sales: pd.DataFrame, ref: str | None = None) -> dict[str, Any]:
        """Accuracy of a registered model on sales it may not have seen, beside its baseline table."""
        loaded = self.load(ref)
        space = loaded.model.space
        x = space.matrix(sales, date_column="sale_date")
        value, low, high = loaded.model.value_matrix(x)
        actual = sales["price"].to_numpy()
        segments = (sales["make"] + "|" + sales["model"]).map(space.model_segment).to_numpy()
        base = loaded.baseline.predict(
            segments, x[:, FEATURES.index("age_months")], x[:, FEATURES.index("new_price")]
        )
        return {
            "model": loaded.ref.model_dump(),
            "metrics": accuracy(actual, value, low, high),
            "baseline_metrics": accuracy(actual, base),
            "data_sha256": frame_sha256(sales),
        }

    def reproduce(
        self, ref: str, inputs: Mapping[str, Any], input_hash: str | None = None, value: float | None = None
    ) -> ReproduceResponse:
        recomputed = self.value_inputs(inputs, ref)
        hash_ok = None if input_hash is None else recomputed.input_hash == input_hash
        value_ok = None if value is None else recomputed.value == value
        match = hash_ok is not False and value_ok is not False
        if not match:
            logger.warning(
                "valuation reproduction mismatch for %s (hash ok: %s, value ok: %s)", ref, hash_ok, value_ok
            )
        return ReproduceResponse(
            match=match, input_hash_match=hash_ok, value_match=value_ok, recomputed=recomputed
        )


def chain_record(valuation: ValuationResponse, valuation_id: str, vin: str, valuer: str) -> dict[str, Any]:
    """The fields the mortgage contract's RecordValuation takes, from a valuation response.

    Only the hash of the inputs goes on chain; keep ``valuation.inputs`` (e.g. as an anchored
    document) so anyone can run ``reproduce`` and check it against ``inputs_hash``.
    """
    return {
        "valuation_id": valuation_id,
        "vin": vin,
        "value": f"{valuation.value:.2f}",
        "currency": valuation.currency,
        "interval_low": f"{valuation.interval.low:.2f}",
        "interval_high": f"{valuation.interval.high:.2f}",
        "coverage": valuation.interval.coverage,
        "model_id": valuation.model.model_id,
        "model_version": valuation.model.ref,
        "inputs_hash": valuation.input_hash,
        "valuer": valuer,
    }
