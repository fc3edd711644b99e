"""Valuation service: train-and-register, promote, value, explain, forecast, evaluate, reproduce.

Versions are registered per model name (the gateway names one per bank); the version valuations
use by default is the *champion*, set only by an explicit promotion (the first version of a name
becomes champion, a later one only when promoted — retraining promotes a challenger only when it
beats the champion on the same folds). A valuation cites ``name@version`` and the sha256 of its
canonical inputs; :meth:`ValuationService.reproduce` recomputes from them and compares exactly.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import sklearn

from app.valuation.canonical import canonical_hash, canonical_json, sha256_hex
from app.valuation.dataset import ALIASES, SalesData, min_level_count, norm_name, validate_sales_frame
from app.valuation.design import Design, Rows
from app.valuation.drift import drift, profile
from app.valuation.errors import FieldProblem, InputError, ModelNotFoundError
from app.valuation.forecast import ForecastPoint, LoanTerms, forecast
from app.valuation.market_index import MarketIndex
from app.valuation.mileage import ROLLBACK_TOLERANCE_KM
from app.valuation.model import (
    TrainConfig,
    TrainingResult,
    ValuationModel,
    prepare_training,
    train_model,
    vehicle_frame,
    vehicle_record,
)
from app.valuation.registry import ModelRegistry, RegisteredModel, check_name, parse_ref
from app.valuation.schemas import (
    Contribution,
    Interval,
    MarketIndexUsed,
    ModelRef,
    ReproduceResponse,
    ValuationResponse,
    VehicleInput,
)
from app.valuation.selection import pct_errors

logger = logging.getLogger(__name__)

MODEL_NAME = "residual-value"
KIND = "cv-selected-residual-value"
RECENT_REPAIR_DAYS = 91  # "recent" maintenance: the last three months
_INT_FIELDS = ("claims_count", "accident_severity", "condition_grade")
_DATE_FIELDS = ("first_registration", "valuation_date")
_FIXED = ("valuation_date", "first_registration", "repair_cost_recent_3m", "repair_cost_older")


def today_utc() -> date:
    return datetime.now(UTC).date()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Hash of validated sales in canonical form (ISO dates, sorted columns)."""
    out = frame[sorted(frame.columns)].copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return sha256_hex(out.to_csv(index=False, lineterminator="\n").encode())


def mileage_flags(vehicle: VehicleInput) -> list[str]:
    """Workshop odometer readings above the stated mileage: a possible rollback (advisory)."""
    flags: list[str] = []
    for rec in vehicle.maintenance_records or []:
        if (
            rec.odometer_km is not None
            and vehicle.mileage_km is not None
            and rec.odometer_km > vehicle.mileage_km + ROLLBACK_TOLERANCE_KM
        ):
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
    if vehicle.first_registration is not None:
        if vehicle.first_registration > today:
            problems.append(
                FieldProblem(
                    "first_registration",
                    f"is in the future (today is {today})",
                    value=str(vehicle.first_registration),
                )
            )
        elif vehicle.first_registration > when:
            problems.append(
                FieldProblem(
                    "first_registration", "is after the valuation date", value=str(vehicle.first_registration)
                )
            )
    recent, older = vehicle.repair_cost_recent_3m, vehicle.repair_cost_older
    if vehicle.maintenance_records is not None:
        if recent is not None or older is not None:
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
    if problems:
        raise InputError(problems)
    data = vehicle.model_dump(exclude={"maintenance_records"})
    data.update(valuation_date=when, repair_cost_recent_3m=recent, repair_cost_older=older)
    return normalise_inputs(data)


def normalise_inputs(data: Mapping[str, Any]) -> dict[str, Any]:
    """The given (non-null) fields with fixed types (ISO dates, floats, ints) so hashing is stable."""
    out: dict[str, Any] = {}
    for name, value in sorted(data.items()):
        if value is None:
            continue
        try:
            if name in _DATE_FIELDS:
                out[name] = (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
            elif name in _INT_FIELDS:
                if isinstance(value, bool) or float(value) != int(value):
                    raise ValueError("must be a whole number")
                out[name] = int(value)
            elif isinstance(value, bool):
                out[name] = value
            elif isinstance(value, int | float) or name in ("mileage_km", "new_price", "age_months"):
                out[name] = float(value)
                if not math.isfinite(out[name]):
                    raise ValueError("must be a finite number")
            else:
                out[name] = str(value)
        except (TypeError, ValueError) as exc:
            raise InputError.single(f"inputs.{name}", str(exc), value) from exc
    if "valuation_date" not in out:
        raise InputError.single("inputs.valuation_date", "missing")
    return out


@dataclass
class LoadedModel:
    registered: RegisteredModel
    model: ValuationModel

    @property
    def ref(self) -> ModelRef:
        r = self.registered
        return ModelRef(name=r.name, version=r.version, ref=r.ref, model_id=r.model_id)

    @property
    def card(self) -> dict[str, Any]:
        return dict(self.registered.meta.get("card", {}))


def model_card(
    result: TrainingResult, source: str, data_sha256: str, raw_sha256: str | None
) -> dict[str, Any]:
    """What a version is, in one JSON document: data, columns, choice, CV figures, intervals."""
    data = result.data
    return {
        "schema": "mledger.valuation.model-card/v1",
        "kind": KIND,
        "training": {
            "source": source,
            "rows": len(data),
            "data_sha256": data_sha256,
            "raw_sha256": raw_sha256,
            "flagged_rows": len({f["row"] for f in data.flags}),
            "sale_dates": _date_range(data.frame),
        },
        "columns": [p.to_json() for p in data.columns],
        "chosen_family": result.cv.chosen,
        "blend_weights": result.cv.blend_weights,
        "folds": result.cv.folds.describe(),
        "cv": [{k: v for k, v in row.items() if k != "fold_mape"} for row in result.cv.table],
        "metrics": result.metrics,
        "baseline": result.baseline_metrics,
        "intervals": result.intervals,
        "forecast": {
            "trend_per_month": result.model.trend_per_month,
            "trend_source": result.index_source,
            "km_per_month": result.model.km_per_month,
        },
        "warnings": result.warnings,
        "software": {
            "lightgbm": lgb.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
        },
    }


def _date_range(frame: pd.DataFrame) -> dict[str, str | int] | None:
    dates = pd.to_datetime(frame["sale_date"])
    if dates.isna().all():
        return None
    return {"from": str(dates.min().date()), "to": str(dates.max().date()), "distinct": int(dates.nunique())}


RECENT_INPUTS = 500


class ValuationService:
    def __init__(self, registry: ModelRegistry | None = None, name: str = MODEL_NAME):
        self.registry = registry or ModelRegistry()
        self.name = name
        self._cache: dict[tuple[str, int], LoadedModel] = {}
        self._lock = threading.Lock()
        #: the inputs of the last valuations served (the input-drift SLI compares them with training data)
        self.recent_inputs: deque[dict[str, Any]] = deque(maxlen=RECENT_INPUTS)

    # --- training ------------------------------------------------------------------------------
    def train_and_register(
        self,
        sales: SalesData | pd.DataFrame,
        index: MarketIndex | None = None,
        config: TrainConfig | None = None,
        source: str = "csv",
        raw_sha256: str | None = None,
        *,
        name: str | None = None,
        promote: bool | None = None,
        actor: str = "local",
    ) -> tuple[RegisteredModel, TrainingResult]:
        """Train and register a version. ``promote=None``: promoted only if the name has no champion."""
        name = check_name(name or self.name)
        config = config or TrainConfig()
        data = prepare_training(sales)
        result = train_model(data, index, config)
        registered = self._register(name, result, config, source, raw_sha256)
        if promote or (promote is None and self.registry.champion(name) is None):
            self.registry.promote(name, registered.version, actor, "first version" if promote is None else "")
        return registered, result

    def _register(
        self, name: str, result: TrainingResult, config: TrainConfig, source: str, raw_sha256: str | None
    ) -> RegisteredModel:
        data_sha = frame_sha256(result.data.frame)
        card = model_card(result, source, data_sha, raw_sha256)
        card["profile"] = profile(result.model.design, result.data.frame)
        meta = {
            "kind": KIND,
            "card": card,
            "params": {
                "coverage": config.coverage,
                "seed": config.seed,
                "max_rounds": config.num_boost_round,
                "folds": config.folds,
            },
            "training": card["training"],
            "metrics": result.metrics,
            "baseline": {"metrics": result.baseline_metrics},
        }
        artefact = canonical_json(result.model.to_json())
        return self.registry.register(name, "model.json", artefact, meta)

    def retrain(
        self,
        sales: SalesData | pd.DataFrame,
        config: TrainConfig | None = None,
        source: str = "csv",
        raw_sha256: str | None = None,
        *,
        name: str | None = None,
        promote_if_better: bool = True,
        actor: str = "local",
    ) -> tuple[RegisteredModel, TrainingResult, dict[str, Any], list[dict[str, Any]]]:
        """Challenger (trained on ``sales``) vs champion on the same folds; promote only when better."""
        name = check_name(name or self.name)
        config = config or TrainConfig()
        data = prepare_training(sales)
        champion = self.load(name)
        result = train_model(data, None, config)
        registered = self._register(name, result, config, source, raw_sha256)
        comparison = self._compare(champion, result, data)
        comparison["challenger"] = registered.ref
        promoted = False
        if promote_if_better and comparison["challenger_better"]:
            self.registry.promote(
                name,
                registered.version,
                actor,
                f"retrain: CV MAPE {comparison['challenger_mape']:.4f} < champion "
                f"{comparison['champion_mape']:.4f} on the same folds",
            )
            promoted = True
        comparison["promoted"] = promoted
        rows = drift(champion.card.get("profile", {}), data.frame)
        return registered, result, comparison, rows

    def _compare(self, champion: LoadedModel, result: TrainingResult, data: SalesData) -> dict[str, Any]:
        """Per-fold MAPE of the champion (which never saw these sales) and the challenger's out-of-fold
        predictions, on the challenger's folds; better = lower mean and lower on most folds."""
        frame = data.frame
        log_price = np.log(frame["price"].to_numpy(dtype=np.float64))
        champ_pred = np.log(self._value_arrays(champion, frame.assign(valuation_date=frame["sale_date"]))[0])
        folds = result.cv.folds
        chal_fold, champ_fold = [], []
        for r, fold in enumerate(folds.assignments):
            oof = result.cv.oof[result.cv.chosen][r]
            for k in range(folds.n_folds):
                m = fold == k
                chal_fold.append(float(np.mean(np.abs(pct_errors(oof[m], log_price[m])))))
                champ_fold.append(float(np.mean(np.abs(pct_errors(champ_pred[m], log_price[m])))))
        wins = int(sum(c < h for c, h in zip(chal_fold, champ_fold, strict=True)))
        chal, champ = float(np.mean(chal_fold)), float(np.mean(champ_fold))
        return {
            "champion": champion.registered.ref,
            "champion_mape": champ,
            "challenger_mape": chal,
            "challenger_fold_wins": wins,
            "folds": len(chal_fold),
            "challenger_better": chal < champ and wins * 2 > len(chal_fold),
        }

    def promote(self, version: int, actor: str, reason: str = "", name: str | None = None) -> dict[str, Any]:
        name = check_name(name or self.name)
        return self.registry.promote(name, version, actor, reason)

    # --- loading -------------------------------------------------------------------------------
    def champion_ref(self, name: str | None = None) -> str | None:
        champ = self.registry.champion(name or self.name)
        return None if champ is None else f"{name or self.name}@{champ['version']}"

    def load(self, ref: str | None = None) -> LoadedModel:
        """The model for ``ref``; without a version, the name's promoted champion (never "newest")."""
        name, version = parse_ref(ref, self.name) if ref else (self.name, None)
        if version is None:
            champ = self.registry.champion(name)
            if champ is None:
                if self.registry.versions(name):
                    raise ModelNotFoundError(f"model {name!r} has versions but none is promoted; promote one")
                raise ModelNotFoundError(f"no model {name!r} registered under {self.registry.root}")
            version = int(champ["version"])
        cached = self._cache.get((name, version))
        if cached is not None:
            return cached
        registered = self.registry.get(name, version)
        with self._lock:
            meta = registered.meta
            if meta.get("kind") != KIND:
                raise ModelNotFoundError(f"{registered.ref} is not a residual-value model of this release")
            model = ValuationModel.from_json(json.loads(registered.artefact()))
            loaded = LoadedModel(registered, model)
            self._cache[(name, version)] = loaded
            return loaded

    # --- valuing ---------------------------------------------------------------------------------
    def value(
        self, vehicle: VehicleInput, ref: str | None = None, explain: bool = False, today: date | None = None
    ) -> ValuationResponse:
        result = self._value(canonical_inputs(vehicle, today), ref, explain)
        result.flags = mileage_flags(vehicle) + result.flags
        return result

    def value_inputs(
        self, inputs: Mapping[str, Any], ref: str | None = None, explain: bool = False
    ) -> ValuationResponse:
        """Value recorded inputs (as a valuation's ``inputs``): normalised, then valued."""
        return self._value(normalise_inputs(inputs), ref, explain)

    def _check_inputs(self, loaded: LoadedModel, inputs: Mapping[str, Any]) -> list[str]:
        design = loaded.model.design
        known = set(design.input_columns()) | {"valuation_date", "first_registration", "age_months"}
        problems = [
            FieldProblem(
                k, f"not a column of model {loaded.registered.ref} (it knows: {', '.join(sorted(known))})"
            )
            for k in inputs
            if k not in known and k not in ("repair_cost_recent_3m", "repair_cost_older")
        ]
        if "age_months" not in inputs and "first_registration" not in inputs:
            problems.append(FieldProblem("first_registration", "required (or age_months)"))
        if design.has_list_price and "new_price" not in inputs:
            problems.append(
                FieldProblem(
                    "new_price", f"required by model {loaded.registered.ref} (trained on list prices)"
                )
            )
        if problems:
            raise InputError(problems)
        notes = []
        for col in design.categorical:
            value = inputs.get(col)
            if value is not None and str(value) not in design.levels[col]:
                notes.append(
                    f"{col} {value!r} was not among the training data's frequent values: valued with "
                    "the pooled level"
                )
        return notes

    def _value(self, inputs: dict[str, Any], ref: str | None, explain: bool) -> ValuationResponse:
        loaded = self.load(ref)
        inputs = rename_inputs(loaded.model.design, inputs)
        notes = self._check_inputs(loaded, inputs)
        model = loaded.model
        record = vehicle_record(dict(inputs), model.design)  # model columns, age_months included
        frame = Rows.from_record(record)  # arrays, not a DataFrame: ~2 ms less a valuation
        value, low, high = (float(a[0]) for a in model.value_frame(frame))
        keys = model.design.hierarchy_keys(frame)
        self.recent_inputs.append(record)
        response = ValuationResponse(
            value=round(value, 2),
            interval=Interval(low=round(low, 2), high=round(high, 2), coverage=model.coverage),
            model=loaded.ref,
            input_hash=canonical_hash(inputs),
            inputs=dict(inputs),
            market_index=MarketIndexUsed(
                segment=str(keys[-1][0]),
                month=str(inputs["valuation_date"])[:7],
                value=round(math.exp(model.trend_per_month), 6),
                stale=model.last_sale is not None and str(inputs["valuation_date"]) > model.last_sale,
            ),
            flags=notes,
        )
        if explain:
            bias, contrib = model.contributions(frame)
            response.base_value = round(math.exp(bias), 2)
            response.contributions = sorted(
                (
                    Contribution(
                        feature=f,
                        feature_value=_shown(inputs, f),
                        log_contribution=c,
                        effect_pct=float(np.expm1(c)),
                    )
                    for f, c in contrib.items()
                ),
                key=lambda c: -abs(c.log_contribution),
            )
        return response

    def _value_arrays(
        self, loaded: LoadedModel, frame: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vf = frame.copy()
        if "valuation_date" not in vf and "sale_date" in vf:
            vf["valuation_date"] = vf["sale_date"]
        vf = vehicle_frame(vf, loaded.model.design)
        return loaded.model.value_frame(vf)

    def value_frame(
        self, frame: pd.DataFrame, ref: str | None = None, date_column: str = "valuation_date"
    ) -> pd.DataFrame:
        """Batch valuation (revaluing a portfolio): value, low, high per row."""
        loaded = self.load(ref)
        vf = frame.copy()
        vf["valuation_date"] = pd.to_datetime(vf[date_column])
        if "first_registration" in vf:
            vf["first_registration"] = pd.to_datetime(vf["first_registration"])
            vf = vf.drop(columns=["age_months"], errors="ignore")
        value, low, high = self._value_arrays(loaded, vf.drop(columns=["sale_date"], errors="ignore"))
        return pd.DataFrame({"value": value, "low": low, "high": high}, index=frame.index)

    def forecast(
        self, vehicle: VehicleInput, ref: str | None, months: int, loan: LoanTerms | None = None
    ) -> tuple[LoadedModel, list[ForecastPoint]]:
        inputs = canonical_inputs(vehicle)
        loaded = self.load(ref)
        inputs = rename_inputs(loaded.model.design, inputs)
        self._check_inputs(loaded, inputs)
        frame = vehicle_frame([dict(inputs)], loaded.model.design)
        start = date.fromisoformat(str(inputs["valuation_date"]))
        return loaded, forecast(loaded.model, frame, start, months, loan)

    def evaluate(self, sales: SalesData | pd.DataFrame, ref: str | None = None) -> dict[str, Any]:
        """Accuracy of a registered model on sales it may not have seen; unseen levels fall back."""
        loaded = self.load(ref)
        data = prepare_training(sales)
        frame = data.frame
        value, low, high = self._value_arrays(loaded, frame)
        actual = frame["price"].to_numpy(dtype=np.float64)
        design = loaded.model.design
        fallbacks = {}
        for col in design.categorical:
            if col in frame:
                unseen = int((~frame[col].astype(str).isin(design.levels[col])).sum())
                if unseen:
                    fallbacks[col] = unseen
        return {
            "model": loaded.ref.model_dump(),
            "metrics": accuracy(actual, value, low, high),
            "baseline_metrics": loaded.registered.meta.get("baseline", {}).get("metrics", {}),
            "data_sha256": frame_sha256(frame),
            "fallbacks": fallbacks,
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


def rename_inputs(design: Design, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Fields named as in the training file (its column names, or their usual aliases) → canonical."""
    known = {p.name for p in design.plans}
    by_source: dict[str, str] = {}
    for plan in design.plans:
        by_source[plan.source] = plan.name
        by_source[norm_name(plan.source)] = plan.name
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        name = key
        if key not in known and key not in _FIXED:
            norm = norm_name(key)
            alias = ALIASES.get(norm)
            name = by_source.get(key) or by_source.get(norm) or (alias if alias in known else key)
        if name in out and name != key:
            raise InputError.single(key, f"gives {name!r} a second time")
        out[name] = value
    return dict(sorted(out.items()))


def _shown(inputs: Mapping[str, Any], feature: str) -> float | str:
    value = inputs.get(feature, "")
    return value if isinstance(value, float | int) and not isinstance(value, bool) else str(value)


def accuracy(
    actual: np.ndarray, predicted: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None
) -> dict[str, float]:
    """MAPE, share within ±8% and ±15%, median error; interval coverage and width when given."""
    err = (predicted - actual) / actual
    out = {
        "n": float(len(actual)),
        "mape": float(np.mean(np.abs(err))),
        "within_8pct": float(np.mean(np.abs(err) <= 0.08)),
        "within_15pct": float(np.mean(np.abs(err) <= 0.15)),
        "median_error": float(np.median(err)),
    }
    if low is not None and high is not None:
        out["interval_coverage"] = float(np.mean((actual >= low) & (actual <= high)))
        out["mean_interval_width_pct"] = float(np.mean((high - low) / predicted))
    return out


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


__all__ = ["ValuationService", "canonical_inputs", "chain_record", "min_level_count", "validate_sales_frame"]
