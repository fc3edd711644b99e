"""Request and response models of the risk API/CLI (pydantic), with examples."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.valuation.schemas import ModelRef, VehicleInput

_APPLICATION_EXAMPLE: dict[str, Any] = {
    "age_years": 34, "monthly_income": 12_500, "debt_to_income": 0.32, "credit_history_months": 84,
    "delinquencies_24m": 0, "employment_years": 6, "inquiries_6m": 1, "ltv": 0.78, "vehicle_age_months": 0,
    "vehicle_mileage_km": 20, "maintenance_ratio": 0.0, "loan_term_months": 36,
}  # fmt: skip


class ApplicationInput(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_APPLICATION_EXAMPLE]})
    age_years: float = Field(ge=18, le=100, allow_inf_nan=False)
    monthly_income: float = Field(ge=0, le=10_000_000, allow_inf_nan=False)
    debt_to_income: float = Field(ge=0, le=5, allow_inf_nan=False)
    credit_history_months: float = Field(ge=0, le=1200, allow_inf_nan=False)
    delinquencies_24m: float = Field(ge=0, le=100, allow_inf_nan=False)
    employment_years: float = Field(ge=0, le=80, allow_inf_nan=False)
    inquiries_6m: float = Field(ge=0, le=100, allow_inf_nan=False)
    ltv: float = Field(gt=0, le=3, allow_inf_nan=False)
    vehicle_age_months: float = Field(ge=0, le=600, allow_inf_nan=False)
    vehicle_mileage_km: float = Field(ge=0, le=2_000_000, allow_inf_nan=False)
    maintenance_ratio: float = Field(
        ge=0, le=5, description="weighted repair cost / vehicle value", allow_inf_nan=False
    )
    loan_term_months: float = Field(ge=1, le=120, allow_inf_nan=False)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"application": _APPLICATION_EXAMPLE}]}
    )
    application: ApplicationInput
    model: str | None = Field(default=None, description="'application-scorecard@2'; latest when omitted")


class ReasonOut(BaseModel):
    variable: str
    value: float
    bin: str
    points: float
    points_below_best: float


class ScoreResponse(BaseModel):
    points: float = Field(
        description="higher is safer; 600 points at 50:1 good:bad odds, 20 points double the odds"
    )
    pd: float = Field(description="probability of default from the logistic model")
    band: str
    reasons: list[ReasonOut] = Field(
        description="variables that cost the most points (adverse-action reasons)"
    )
    model: ModelRef
    input_hash: str


class ScorecardTrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=10_000, ge=1_000, le=500_000)
    seed: int = 7


class ScorecardTrainResponse(BaseModel):
    model: ModelRef
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]


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
    "loan": {"loan_id": "LN-2024-0001", "vin": "LSVAB2180E2100001",
             "permitted_region": {"lat": 30.27, "lon": 120.15, "radius_km": 250},
             "outstanding_balance": 98_000, "vehicle_value": 92_000},
    "start": "2024-06-01", "as_of": "2024-06-20",
    "telematics": [{"day": "2024-06-01", "km": 42.5, "max_dist_km": 18.0, "odometer_km": 35_120}],
    "insurance_events": [{"day": "2024-06-05", "kind": "lapse"}],
}  # fmt: skip


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
