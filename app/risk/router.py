"""Risk API: application score, scorecard training, early-warning alerts, portfolio simulation.

Mounted by the gateway under /api/v1. Services are dependencies (``get_scorecard_service``, and
the valuation router's ``get_valuation_service`` for revaluation) so tests can swap registries.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from app.risk.applications import read_applications_csv
from app.risk.borrowers import generate_applications
from app.risk.live import loan_alerts
from app.risk.portfolio import PortfolioMonitor, evaluate_warnings, simulate_portfolio
from app.risk.schemas import (
    AlertsRequest,
    AlertsResponse,
    ReasonOut,
    ScorecardTrainRequest,
    ScorecardTrainResponse,
    ScoreRequest,
    ScoreResponse,
    SimulateRequest,
)
from app.risk.scoring import ScorecardService
from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.http import FieldErrorRoute
from app.valuation.registry import ModelRegistry, RegisteredModel, default_root
from app.valuation.router import get_valuation_service, parse_mapping
from app.valuation.schemas import ModelRef
from app.valuation.service import ValuationService

router = APIRouter(prefix="/risk", tags=["risk"], route_class=FieldErrorRoute)


@lru_cache(maxsize=4)
def _service_for(root: str) -> ScorecardService:
    return ScorecardService(ModelRegistry(root))


def get_scorecard_service() -> ScorecardService:
    return _service_for(str(default_root()))


Scorecards = Annotated[ScorecardService, Depends(get_scorecard_service)]
Valuations = Annotated[ValuationService, Depends(get_valuation_service)]


def _ref(r: RegisteredModel) -> ModelRef:
    return ModelRef(name=r.name, version=r.version, ref=r.ref, model_id=r.model_id)


@router.post("/score", response_model=ScoreResponse, summary="Score a loan application (points, PD, reasons)")
def score(body: ScoreRequest, service: Scorecards) -> ScoreResponse:
    registered, result, input_hash = service.score(body.application.model_dump(), body.model)
    return ScoreResponse(
        points=round(result.points, 2),
        pd=result.pd,
        band=result.band,
        reasons=[ReasonOut(**r.__dict__) for r in result.reasons],
        model=_ref(registered),
        input_hash=input_hash,
    )


@router.post(
    "/scorecard/train/synthetic",
    response_model=ScorecardTrainResponse,
    summary="Train the scorecard on seeded synthetic applications and register it",
)
def train_synthetic(body: ScorecardTrainRequest, service: Scorecards) -> ScorecardTrainResponse:
    registered, result = service.train_and_register(
        generate_applications(body.rows, seed=body.seed),
        seed=body.seed,
        source=f"synthetic(rows={body.rows}, seed={body.seed})",
    )
    return ScorecardTrainResponse(
        model=_ref(registered), metrics=result.metrics, baseline_metrics=result.baseline_metrics
    )


@router.post(
    "/scorecard/train",
    response_model=ScorecardTrainResponse,
    summary="Train the scorecard on an uploaded CSV of past applications (0/1 `default` column)",
)
def train_csv(
    service: Scorecards,
    file: Annotated[UploadFile, File(description="applications CSV")],
    mapping: Annotated[str | None, Form(description='JSON {"canonical": "CSV column"}')] = None,
    seed: Annotated[int, Form()] = 7,
) -> ScorecardTrainResponse:
    frame = read_applications_csv(file.file.read(), parse_mapping(mapping))
    registered, result = service.train_and_register(frame, seed=seed, source=f"upload:{file.filename}")
    return ScorecardTrainResponse(
        model=_ref(registered), metrics=result.metrics, baseline_metrics=result.baseline_metrics
    )


@router.get("/scorecard/models", summary="Registered scorecard versions")
def scorecard_models(service: Scorecards) -> list[dict[str, Any]]:
    return [
        {
            "ref": m.ref,
            "model_id": m.model_id,
            "metrics": m.meta.get("metrics"),
            "baseline_metrics": m.meta.get("baseline", {}).get("metrics"),
            "training": m.meta.get("training"),
        }
        for m in service.registry.list(service.name)
    ]


@router.post(
    "/alerts",
    response_model=AlertsResponse,
    response_model_by_alias=True,
    summary="Early-warning alerts for one live loan",
)
def alerts(body: AlertsRequest, valuations: Valuations) -> AlertsResponse:
    value = body.loan.vehicle_value
    if body.loan.vehicle is not None:
        if value is not None:
            raise InputError.single("loan.vehicle", "give vehicle or vehicle_value, not both")
        vehicle = body.loan.vehicle.model_copy(update={"valuation_date": body.as_of})
        value = valuations.value(vehicle).value
    return loan_alerts(body, value)


@router.post("/portfolio/simulate", summary="Run the monitor on a seeded simulated portfolio and report")
def simulate(body: SimulateRequest, valuations: Valuations) -> dict[str, Any]:
    portfolio = simulate_portfolio(body.loans, body.days, seed=body.seed)
    notes: list[str] = []
    try:
        valuations.load()
        valuation: ValuationService | None = valuations
    except ModelNotFoundError:
        valuation = None
    result = PortfolioMonitor(valuation=valuation, anomaly=body.anomaly).run(portfolio)
    notes += result.notes
    report = evaluate_warnings(portfolio, result.alerts)
    report["notes"] = notes
    report["alerts"] = len(result.alerts)
    report["sample_alerts"] = [a.to_dict() for a in result.alerts if a.severity != "low"][:20]
    return report
