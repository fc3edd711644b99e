"""Request and response models at the API/CLI edge (pydantic), with examples."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_VEHICLE_EXAMPLE: dict[str, Any] = {
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


class VehicleInput(BaseModel):
    """A vehicle to value. Give repair costs as two sums or as dated maintenance records, not both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_VEHICLE_EXAMPLE]})

    make: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=64)
    trim: str = Field(min_length=1, max_length=64)
    powertrain: str = Field(min_length=1, max_length=16, description="petrol, diesel, hybrid, phev or ev")
    transmission: str = Field(min_length=1, max_length=16, description="manual or automatic")
    first_registration: date
    valuation_date: date | None = Field(
        default=None, description="defaults to today (UTC); never in the future"
    )
    mileage_km: float = Field(ge=0, le=2_000_000, allow_inf_nan=False)
    region: str = Field(
        min_length=1, max_length=16, description="region code of the regional correction table"
    )
    repair_cost_recent_3m: float | None = Field(default=None, ge=0, le=5_000_000, allow_inf_nan=False)
    repair_cost_older: float | None = Field(default=None, ge=0, le=5_000_000, allow_inf_nan=False)
    maintenance_records: list[MaintenanceRecord] | None = None
    claims_count: int = Field(ge=0, le=50)
    accident_severity: int = Field(
        ge=0, le=3, description="worst accident: 0 none, 1 minor, 2 major, 3 structural"
    )
    condition_grade: int = Field(ge=1, le=5, description="inspection grade, 5 best")
    new_price: float = Field(gt=0, le=20_000_000, allow_inf_nan=False)


class ValueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"vehicle": _VEHICLE_EXAMPLE}]})
    vehicle: VehicleInput
    model: str | None = Field(default=None, description="'residual-value@3'; latest version when omitted")
    explain: bool = False


class Interval(BaseModel):
    low: float
    high: float
    coverage: float = Field(description="stated coverage, from split-conformal calibration on later sales")


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
    rows: int = Field(default=5_000, ge=500, le=200_000)
    seed: int = 7
    num_boost_round: int = Field(default=200, ge=10, le=5_000)
    coverage: float = Field(default=0.9, gt=0.5, lt=1.0)


class TrainResponse(BaseModel):
    model: ModelRef
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    split: dict[str, Any]
    training_data_sha256: str
    index_source: str


class EvaluateResponse(BaseModel):
    model: ModelRef
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] = Field(description="the model's registered depreciation table")
    data_sha256: str


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
