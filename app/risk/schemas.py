"""Request and response models of the risk API/CLI (pydantic), with examples."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from app.valuation.schemas import ModelRef, VehicleInput

_APPLICATION_EXAMPLE: dict[str, Any] = {
    "age": 34,
    "monthly_income": 12_500,
    "employment_years": 6,
    "home_ownership": "RENT",
    "purpose": "car",
    "checking_account": "0<=X<200",
    "credit_history_months": 84,
    "delinquencies_2y": 0,
    "inquiries_6m": 1,
    "loan_amount": 90_000,
    "term_months": 36,
    "monthly_debt_payments": 3_100,
    "vehicle_price": 118_000,
}
MAX_FIELDS = 300
Cell = float | int | str | bool | None


class ScoreRequest(BaseModel):
    """One application as the lender's book names its fields; absent fields are scored as missing."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"application": _APPLICATION_EXAMPLE}]}
    )
    application: dict[str, Cell] = Field(
        description="field -> value, named as in the training book's columns"
    )
    model: str | None = Field(
        default=None,
        max_length=80,
        description="'name@version' (model administrators only); the promoted version when omitted",
    )

    @field_validator("application")
    @classmethod
    def _bounded(cls, value: dict[str, Cell]) -> dict[str, Cell]:
        if len(value) > MAX_FIELDS:
            raise ValueError(f"{len(value)} fields; the limit is {MAX_FIELDS}")
        for key, cell in value.items():
            if len(key) > 100:
                raise ValueError(f"field name {key[:40]!r}... is longer than 100 characters")
            if isinstance(cell, str) and len(cell) > 200:
                raise ValueError(f"field {key!r}: value longer than 200 characters")
            if isinstance(cell, float) and not math.isfinite(cell):
                raise ValueError(f"field {key!r}: not a finite number")
        return value


class ReasonOut(BaseModel):
    variable: str
    value: float | str | None = Field(description="the applicant's value (None: missing)")
    bin: str
    points: float
    points_below_best: float = Field(description="points lost against the variable's best bin")


class ScoreResponse(BaseModel):
    points: float = Field(
        description="higher is safer; 600 points at 50:1 good:bad odds, 20 points double the odds"
    )
    pd: float = Field(description="probability of default, calibrated to the training book")
    band: str = Field(description="master-scale band built from the training book (A safest)")
    band_pd: float | None = Field(default=None, description="the band's mean PD on the training book")
    reasons: list[ReasonOut] = Field(
        description="variables that cost the most points (adverse-action reasons)"
    )
    missing: list[str] = Field(
        default_factory=list, description="card fields absent: scored in their Missing bin"
    )
    ignored: list[str] = Field(default_factory=list, description="fields the card does not use")
    model: ModelRef
    input_hash: str


class SyntheticTrainRequest(BaseModel):
    """A generated book (for trying the pipeline; figures describe the pipeline, not a lender)."""

    model_config = ConfigDict(extra="forbid")
    loans: int = Field(default=2000, ge=300, le=20_000)
    bad_rate: float = Field(default=0.2, ge=0.01, le=0.5)
    vehicle: bool = True
    text_outcome: bool = False
    missing_income: bool = True
    high_cardinality: bool = False
    challengers: bool = Field(default=False, description="also cross-validate the challengers (slower)")
    seed: int = Field(default=7, ge=0, le=2**31 - 1)


class ScorecardTrainResponse(BaseModel):
    model: ModelRef
    promoted: bool = Field(description="training never promotes: a model administrator promotes explicitly")
    model_card_sha256: str
    cross_validation: dict[str, Any]
    statements: list[str]
    calibration: dict[str, Any]
    master_scale: list[dict[str, Any]]
    exclusions: dict[str, Any]
    warnings: list[str]
    variables: list[dict[str, Any]]


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=1_000_000)
    reason: str = Field(default="", max_length=500, description="why (committee minute, ticket)")


class PromotionOut(BaseModel):
    model: str
    version: int
    model_id: str
    by: str
    at: str
    reason: str


class PermittedRegion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_km: float = Field(gt=0, le=5000, allow_inf_nan=False)


class LoanInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loan_id: str = Field(min_length=1, max_length=64)
    vin: str = Field(min_length=1, max_length=32)
    permitted_region: PermittedRegion
    outstanding_balance: float | None = Field(default=None, ge=0, le=100_000_000, allow_inf_nan=False)
    vehicle_value: float | None = Field(default=None, gt=0, le=100_000_000, allow_inf_nan=False)
    vehicle: VehicleInput | None = Field(default=None, description="revalued with the latest valuation model")


class TelematicsDay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    km: float = Field(ge=0, le=3000, allow_inf_nan=False)
    max_dist_km: float | None = Field(
        default=None, ge=0, le=20_000, description="farthest from home", allow_inf_nan=False
    )
    odometer_km: float | None = Field(default=None, ge=0, le=2_000_000, allow_inf_nan=False)
    night_share: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    harsh_events: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False)


class GpsFix(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ts: AwareDatetime
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class InsuranceEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    kind: str = Field(pattern="^(lapse|cancellation|renewal|claim)$")


_ALERTS_EXAMPLE: dict[str, Any] = {
    "loan": {
        "loan_id": "LN-2024-0001",
        "vin": "LSVAB2180E2100001",
        "permitted_region": {"lat": 30.27, "lon": 120.15, "radius_km": 250},
        "outstanding_balance": 98_000,
        "vehicle_value": 92_000,
    },
    "start": "2024-06-01",
    "as_of": "2024-06-20",
    "telematics": [{"day": "2024-06-01", "km": 42.5, "max_dist_km": 18.0, "odometer_km": 35_120}],
    "insurance_events": [{"day": "2024-06-05", "kind": "lapse"}],
}


class AlertsRequest(BaseModel):
    """One live loan's recent history; give telematics as daily summaries or raw GPS fixes."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_ALERTS_EXAMPLE]})
    loan: LoanInput
    start: date
    as_of: date
    telematics: list[TelematicsDay] = Field(default_factory=list)
    gps: list[GpsFix] = Field(default_factory=list)
    insurance_events: list[InsuranceEvent] = Field(default_factory=list)
    insured_at_start: bool = True
    explained_days: list[date] = Field(default_factory=list, description="declared workshop/storage days")


class AlertOut(BaseModel):
    schema_: str = Field(alias="schema")
    alert_id: str
    loan_id: str
    vin: str
    rule: str
    severity: str
    observed_at: date
    reason: str
    evidence: dict[str, Any]

    model_config = ConfigDict(populate_by_name=True)


class AlertsResponse(BaseModel):
    alerts: list[AlertOut]
    event_name: str = Field(description="chaincode event name; payload = canonical JSON of each alert")
    rules_evaluated: list[str]
    notes: list[str]


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loans: int = Field(default=500, ge=50, le=5000)
    days: int = Field(default=180, ge=60, le=365)
    seed: int = 7
    anomaly: bool = True
