"""Request and response models at the API/CLI edge (pydantic), with examples."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.valuation.chain_registration import ChainRegistration

# The documented example vehicle (OpenAPI examples); the valuation benchmark values it too.
VEHICLE_EXAMPLE: dict[str, Any] = {
    "make": "Toyota",
    "model": "Camry",
    "trim": "2.5HG",
    "powertrain": "hybrid",
    "transmission": "automatic",
    "first_registration": "2021-05-12",
    "valuation_date": "2024-11-30",
    "mileage_km": 52_000,
    "region": "HZ",
    "repair_cost_recent_3m": 0,
    "repair_cost_older": 3_200,
    "claims_count": 0,
    "accident_severity": 0,
    "condition_grade": 4,
    "new_price": 219_800,
}


class MaintenanceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    cost: float = Field(ge=0, le=5_000_000, allow_inf_nan=False)
    odometer_km: float | None = Field(default=None, ge=0, le=2_000_000, allow_inf_nan=False)


ExtraValue = Annotated[str, StringConstraints(max_length=128)] | float | bool | None


class VehicleInput(BaseModel):
    """A vehicle to value, in the columns the model was trained on.

    Every field is optional here; the model version says which it needs (its age: ``age_months``,
    or ``first_registration`` with the valuation date; its list price if it was trained with one).
    Other columns of the training file (equipment flags, colour, …) go in as extra fields; a field
    the model does not know is refused (400 naming it), an unseen category falls back to the
    pooled level. Give repair costs as two sums or as dated maintenance records, not both.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [VEHICLE_EXAMPLE]})

    make: str | None = Field(default=None, min_length=1, max_length=64)
    model: str | None = Field(default=None, min_length=1, max_length=64)
    segment: str | None = Field(default=None, min_length=1, max_length=64, description="segment or body type")
    trim: str | None = Field(default=None, min_length=1, max_length=64)
    powertrain: str | None = Field(default=None, min_length=1, max_length=16)
    transmission: str | None = Field(default=None, min_length=1, max_length=16)
    first_registration: date | None = None
    age_months: float | None = Field(default=None, ge=0, le=1200, allow_inf_nan=False)
    valuation_date: date | None = Field(
        default=None, description="defaults to today (UTC); never in the future"
    )
    mileage_km: float | None = Field(default=None, ge=0, le=5_000_000, allow_inf_nan=False)
    region: str | None = Field(default=None, min_length=1, max_length=64)
    repair_cost_recent_3m: float | None = Field(default=None, ge=0, le=5_000_000, allow_inf_nan=False)
    repair_cost_older: float | None = Field(default=None, ge=0, le=5_000_000, allow_inf_nan=False)
    maintenance_records: list[MaintenanceRecord] | None = Field(default=None, max_length=1000)
    claims_count: int | None = Field(default=None, ge=0, le=50)
    accident_severity: int | None = Field(
        default=None, ge=0, le=3, description="worst accident: 0 none, 1 minor, 2 major, 3 structural"
    )
    condition_grade: int | None = Field(
        default=None, ge=1, le=10, description="inspection grade, higher is better"
    )
    new_price: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check_extras(self) -> VehicleInput:
        extras = self.model_extra or {}
        if len(extras) > 100:
            raise ValueError("at most 100 extra fields")
        for key, value in extras.items():
            if len(key) > 64 or not key.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"{key[:64]!r}: field names are letters, digits, '_' or '-' (at most 64)")
            if isinstance(value, str) and (len(value) > 128 or any(ord(c) < 32 for c in value)):
                raise ValueError(f"{key}: text up to 128 characters, no control characters")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key}: not a finite number")
            if not isinstance(value, str | int | float | bool) and value is not None:
                raise ValueError(f"{key}: must be text, a number or true/false")
        return self


class ValueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"vehicle": VEHICLE_EXAMPLE}]})
    vehicle: VehicleInput
    model: str | None = Field(
        default=None, description="'residual-value@3'; the promoted version when omitted"
    )
    explain: bool = False


class Interval(BaseModel):
    low: float
    high: float
    coverage: float = Field(description="stated coverage (cross-conformal on the training folds)")


class ModelRef(BaseModel):
    name: str
    version: int
    ref: str
    model_id: str


class MarketIndexUsed(BaseModel):
    segment: str
    month: str
    value: float
    stale: bool


class Contribution(BaseModel):
    feature: str
    feature_value: float | str
    log_contribution: float = Field(description="additive in log(price/new price)")
    effect_pct: float = Field(description="exp(log_contribution) - 1: the multiplicative effect")


class ValuationResponse(BaseModel):
    value: float
    currency: str = "CNY"
    interval: Interval
    model: ModelRef
    input_hash: str = Field(description="sha256 of the canonical JSON of `inputs`")
    inputs: dict[str, Any]
    market_index: MarketIndexUsed
    base_value: float | None = Field(default=None, description="new price × exp(bias): the average vehicle")
    contributions: list[Contribution] | None = None
    flags: list[str] = Field(
        default_factory=list,
        description="advisory findings about the request (e.g. mileage below a workshop odometer reading); "
        "not part of the hashed inputs",
    )


class ReproduceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="the model reference the valuation names, e.g. 'residual-value@3'")
    inputs: dict[str, Any] = Field(description="the canonical inputs recorded with the valuation")
    input_hash: str | None = None
    value: float | None = None


class ReproduceResponse(BaseModel):
    match: bool
    input_hash_match: bool | None
    value_match: bool | None
    recomputed: ValuationResponse


class SyntheticTrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=5_000, ge=30, le=50_000)
    seed: int = Field(default=7, ge=0, le=2**31 - 1)
    num_boost_round: int = Field(
        default=1000, ge=10, le=2000, description="most boosting rounds early stopping may reach"
    )
    coverage: float = Field(default=0.9, gt=0.5, lt=1.0)


class TrainResponse(BaseModel):
    model: ModelRef
    promoted: bool = Field(description="whether this version is now the one valuations use")
    champion: str | None = Field(description="the promoted version's ref after this call")
    chosen_family: str
    metrics: dict[str, float] = Field(description="the chosen model's cross-validated figures")
    baseline_metrics: dict[str, Any] = Field(description="the best simple reference on the same folds")
    cv_table: list[dict[str, Any]]
    intervals: dict[str, float]
    folds: dict[str, Any]
    columns: list[dict[str, Any]]
    flagged_rows: int
    warnings: list[str]
    training_data_sha256: str
    index_source: str
    comparison: dict[str, Any] | None = Field(default=None, description="retrain: challenger vs champion")
    drift: list[dict[str, Any]] | None = Field(default=None, description="retrain: PSI per feature")
    chain_registration: ChainRegistration | None = Field(
        default=None, description="when this call promoted the version: its registration on chain"
    )


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=1_000_000)
    reason: str = Field(default="", max_length=500)


class PromoteResponse(BaseModel):
    champion: ModelRef
    promoted_by: str
    promoted_at: str
    previous: str | None
    chain_registration: ChainRegistration | None = Field(
        default=None, description="the champion's registration on chain (valuations need it)"
    )


class EvaluateResponse(BaseModel):
    model: ModelRef
    metrics: dict[str, float]
    baseline_metrics: dict[str, Any] = Field(
        description="the model's best simple reference, refitted on its data"
    )
    data_sha256: str
    fallbacks: dict[str, int] = Field(
        default_factory=dict, description="rows per column valued with the pooled level"
    )


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vehicle: VehicleInput
    model: str | None = None
    months: int = Field(default=36, ge=1, le=120)
    loan_balance: float | None = Field(default=None, ge=0, le=1e10, allow_inf_nan=False,
                                       description="outstanding principal today")  # fmt: skip
    annual_rate: float = Field(default=0.0, ge=0, le=1.0, allow_inf_nan=False)
    remaining_months: int | None = Field(default=None, ge=1, le=600, description="annuity months left")
    ltv_limit: float = Field(default=0.8, gt=0, le=5)


class ForecastPoint(BaseModel):
    month: int
    date: str
    value: float
    low: float
    high: float
    balance: float | None = None
    ltv: float | None = None
    ltv_high: float | None = Field(default=None, description="balance over the interval's low value")


class ForecastResponse(BaseModel):
    model: ModelRef
    trend_per_month: float
    km_per_month: float
    points: list[ForecastPoint]
    first_breach: ForecastPoint | None = Field(
        default=None, description="first month the pessimistic LTV passes the limit"
    )


class GpsPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ts: AwareDatetime = Field(description="ISO 8601 timestamp with offset")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class OdometerReading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ts: AwareDatetime = Field(description="ISO 8601 timestamp with offset")
    km: float = Field(ge=0, le=2_000_000, allow_inf_nan=False)
    source: str = Field(default="obd", description="obd, maintenance or registry")


class MileageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: AwareDatetime = Field(description="ISO 8601 timestamp with offset")
    gps: list[GpsPoint] = Field(default_factory=list)
    readings: list[OdometerReading] = Field(default_factory=list)


class RollbackFlagOut(BaseModel):
    ts: AwareDatetime
    source: str
    reading_km: float
    expected_min_km: float
    reason: str
    severity: str


class MileageResponse(BaseModel):
    estimated_km: float
    method: str
    anchor_km: float | None
    anchor_ts: AwareDatetime | None
    anchor_source: str | None
    distance_since_anchor_km: float
    road_factor: float
    rollback_suspected: bool
    flags: list[RollbackFlagOut]
