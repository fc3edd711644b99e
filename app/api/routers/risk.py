"""Risk API: application score, scorecard training and promotion, monitoring, early-warning alerts.

Mounted by the gateway under /api/v1 behind authentication. Each bank has its own scorecard
(``application-scorecard-<bank>``); who may do what (see docs/risk-scorecard.md):

- train, promote, evaluate a non-promoted version, simulate: the bank's ``model_admin`` only;
- score: the bank's loan officers, model administrators and auditors, with the promoted card;
- read versions, model cards, reports, promotions: the bank's model administrators and auditors,
  and the regulator (any bank, named by ``?bank=``);
- monitor: the bank's model administrators and auditors;
- alerts: the bank's loan officers, model administrators and auditors.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import HTMLResponse, Response

from app.api.deps import AuthUser, current_user
from app.api.errors import ApiError
from app.api.request_limits import BodyLimitRoute
from app.risk.book import read_csv_text
from app.risk.books import BookShape, generate_book
from app.risk.colspec import parse_spec
from app.risk.live import loan_alerts
from app.risk.monitoring import MonitorReport, backtest, outcome_labels, population_stability, prometheus_text
from app.risk.portfolio import PortfolioMonitor, evaluate_warnings, simulate_portfolio
from app.risk.schemas import (
    AlertsRequest,
    AlertsResponse,
    PromoteRequest,
    PromotionOut,
    ReasonOut,
    ScorecardTrainResponse,
    ScoreRequest,
    ScoreResponse,
    SimulateRequest,
    SyntheticTrainRequest,
)
from app.risk.scoring import API_LIMITS, ScorecardService
from app.risk.training import TrainingResult
from app.services import risk
from app.services.risk import scorecard_name as scorecard_name  # the bank scorecard names, for callers
from app.services.valuation import registry_for, valuation_service
from app.users.roles import Role
from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.registry import ModelRegistry, RegisteredModel, default_root
from app.valuation.schemas import ModelRef
from app.valuation.service import ValuationService

router = APIRouter(prefix="/risk", tags=["risk"], route_class=BodyLimitRoute)

BANKS = risk.BANKS
SCORERS = frozenset({Role.loan_officer, Role.model_admin, Role.auditor})
READERS = frozenset({Role.model_admin, Role.auditor})
_training = threading.BoundedSemaphore(1)  # one training per process: each takes a core for minutes


def get_registry() -> ModelRegistry:
    return registry_for(str(default_root()))


User = Annotated[AuthUser, Depends(current_user)]
Registry = Annotated[ModelRegistry, Depends(get_registry)]
Valuations = Annotated[ValuationService, Depends(valuation_service)]


def _refuse(user: AuthUser, what: str) -> Exception:
    return risk.refused(user.user.msp_id, user.role, what)


def _bank_service(
    user: AuthUser, registry: ModelRegistry, roles: frozenset[Role], what: str
) -> ScorecardService:
    return risk.bank_scorecard(registry, user.user.msp_id, user.role, roles, what)


def model_admin_service(user: User, registry: Registry) -> ScorecardService:
    return _bank_service(user, registry, frozenset({Role.model_admin}), "training and promoting scorecards")


def scorer_service(user: User, registry: Registry) -> ScorecardService:
    return _bank_service(user, registry, SCORERS, "scoring applications")


def reader_service(
    user: User,
    registry: Registry,
    bank: Annotated[str | None, Query(description="the regulator names the bank")] = None,
) -> ScorecardService:
    if user.user.msp_id == "RegulatorMSP":
        if bank not in BANKS:
            raise InputError.single("bank", f"name the bank whose scorecards to read: one of {sorted(BANKS)}")
        return risk.scorecard_of(registry, bank)
    if bank is not None and bank != user.user.msp_id:
        raise _refuse(user, "a bank reads only its own scorecards")
    return _bank_service(user, registry, READERS, "reading scorecard versions")


def monitor_service(user: User, registry: Registry) -> ScorecardService:
    return _bank_service(user, registry, READERS, "monitoring a scorecard")


def bank_user(user: User) -> AuthUser:
    if user.user.msp_id not in BANKS or user.role not in SCORERS:
        raise _refuse(user, "early-warning alerts need a bank's loan_officer, model_admin or auditor")
    return user


AdminService = Annotated[ScorecardService, Depends(model_admin_service)]
ScorerService = Annotated[ScorecardService, Depends(scorer_service)]
ReaderService = Annotated[ScorecardService, Depends(reader_service)]
MonitorService = Annotated[ScorecardService, Depends(monitor_service)]


def _ref(r: RegisteredModel) -> ModelRef:
    return ModelRef(name=r.name, version=r.version, ref=r.ref, model_id=r.model_id)


def _who(user: AuthUser) -> str:
    return f"{user.user.msp_id}/{user.user.username}"


@router.post(
    "/score", response_model=ScoreResponse, summary="Score an application with the bank's promoted card"
)
def score(body: ScoreRequest, service: ScorerService, user: User) -> ScoreResponse:
    if body.model is not None and user.role != Role.model_admin:
        raise _refuse(user, "only a model administrator scores with a version other than the promoted one")
    registered, card, result, input_hash = service.score(body.application, body.model)
    given = {k for k, v in body.application.items() if v is not None and str(v).strip() != ""}
    band = next((b for b in card.bands if b.name == result.band), None)
    return ScoreResponse(
        points=round(result.points, 2),
        pd=result.pd,
        band=result.band,
        band_pd=band.pd if band else None,
        reasons=[ReasonOut(**r.__dict__) for r in result.reasons],
        missing=sorted(set(card.readers) - given),
        ignored=sorted(set(body.application) - set(card.readers)),
        model=_ref(registered),
        input_hash=input_hash,
    )


def _train_response(registered: RegisteredModel, result: TrainingResult) -> ScorecardTrainResponse:
    mc = result.model_card
    return ScorecardTrainResponse(
        model=_ref(registered),
        promoted=False,
        model_card_sha256=result.model_card_sha256,
        cross_validation=mc["cross_validation"],
        statements=mc["cross_validation"]["statements"],
        calibration=mc["calibration"],
        master_scale=mc["master_scale"],
        exclusions=mc["exclusions"],
        warnings=mc["warnings"],
        variables=mc["model"]["variables"],
    )


class _OneTraining:
    def __enter__(self) -> None:
        if not _training.acquire(blocking=False):
            raise ApiError(
                409, "a scorecard training is already running on this gateway; try again when it ends"
            )

    def __exit__(self, *_: object) -> None:
        _training.release()


@router.post(
    "/scorecard/train",
    response_model=ScorecardTrainResponse,
    summary="Train a scorecard on the bank's loan book (CSV + column spec); registered, not promoted",
)
def train_csv(
    service: AdminService,
    user: User,
    file: Annotated[UploadFile, File(description="the loan book as CSV (one row per loan)")],
    spec: Annotated[str, Form(max_length=200_000, description="column spec, JSON or YAML (see docs)")],
) -> ScorecardTrainResponse:
    data = file.file.read(API_LIMITS.max_bytes + 1)
    parsed = parse_spec(spec)
    with _OneTraining():
        registered, result = service.train_csv(
            data, parsed, f"upload:{file.filename}", API_LIMITS, _who(user)
        )
    return _train_response(registered, result)


@router.post(
    "/scorecard/train/synthetic",
    response_model=ScorecardTrainResponse,
    summary="Train on a generated loan book (to try the pipeline); registered, not promoted",
)
def train_synthetic(body: SyntheticTrainRequest, service: AdminService, user: User) -> ScorecardTrainResponse:
    shape = BookShape(
        body.loans,
        body.bad_rate,
        body.text_outcome,
        body.high_cardinality,
        body.missing_income,
        body.vehicle,
        seed=body.seed,
    )
    frame, spec = generate_book(shape)
    spec["challengers"] = {"enabled": body.challengers}
    with _OneTraining():
        registered, result = service.train_frame(
            frame.astype(str),
            parse_spec(spec),
            f"synthetic({shape.label}, seed={body.seed})",
            API_LIMITS,
            _who(user),
        )
    return _train_response(registered, result)


@router.post(
    "/scorecard/promote",
    response_model=PromotionOut,
    summary="Serve a registered version from now on (explicit; training never promotes)",
)
def promote(body: PromoteRequest, service: AdminService, user: User) -> PromotionOut:
    p = service.promote(body.version, _who(user), body.reason)
    return PromotionOut(model=service.name, **p.__dict__)


@router.get("/scorecard/promotions", response_model=list[PromotionOut], summary="Promotion history")
def promotions(service: ReaderService) -> list[PromotionOut]:
    return [PromotionOut(model=service.name, **p.__dict__) for p in service.promotions()]


@router.get("/scorecard/models", summary="Registered scorecard versions of the bank")
def scorecard_models(service: ReaderService) -> list[dict[str, Any]]:
    promoted = service.promoted()
    return [
        {
            "ref": m.ref,
            "version": m.version,
            "model_id": m.model_id,
            "kind": m.meta.get("kind"),
            "promoted": promoted is not None and promoted.version == m.version,
            "metrics": m.meta.get("metrics"),
            "training": m.meta.get("training"),
            "registered_at": m.meta.get("registered_at"),
        }
        for m in service.registry.list(service.name)
    ]


@router.get("/scorecard/models/{version}", summary="One version's model card")
def scorecard_model(version: int, service: ReaderService) -> dict[str, Any]:
    m = service.registry.get(service.name, version)
    return {
        "ref": m.ref,
        "model_id": m.model_id,
        "model_card": m.meta.get("model_card"),
        "model_card_sha256": m.meta.get("model_card_sha256"),
    }


@router.get(
    "/scorecard/models/{version}/report",
    response_class=HTMLResponse,
    summary="One version's HTML training report",
)
def scorecard_report(version: int, service: ReaderService) -> HTMLResponse:
    return HTMLResponse(service.report(version).read_text(encoding="utf-8"))


@router.post(
    "/scorecard/monitor", summary="PSI of new applications; back-test by band when outcomes are given"
)
def monitor(
    service: MonitorService,
    user: User,
    file: Annotated[
        UploadFile, File(description="applications CSV; with the outcome column for a back-test")
    ],
    model: Annotated[str | None, Form(max_length=80, description="name@version (model admins)")] = None,
    format: Annotated[Literal["json", "prometheus"], Form()] = "json",
) -> Any:
    if model is not None and user.role != Role.model_admin:
        raise _refuse(user, "only a model administrator monitors a version other than the promoted one")
    data = file.file.read(API_LIMITS.max_bytes + 1)
    API_LIMITS.check_csv(data)
    raw = read_csv_text(data)
    API_LIMITS.check_frame(raw)
    registered, card = service.load(model)
    report = MonitorReport(model=registered.ref)
    population_stability(card, raw, report, card.score_reference)
    outcome = registered.meta.get("model_card", {}).get("data", {}).get("outcome") or {}
    column = outcome.get("column")
    if column and column in raw.columns:
        y, keep, problems = outcome_labels(raw[column], outcome)
        if problems:
            raise InputError(problems)
        backtest(card, raw.loc[keep].reset_index(drop=True), y, report)
    if format == "prometheus":
        return Response(prometheus_text(report), media_type="text/plain; version=0.0.4")
    return report.to_dict()


@router.post(
    "/alerts",
    response_model=AlertsResponse,
    response_model_by_alias=True,
    summary="Early-warning alerts for one live loan",
)
def alerts(
    body: AlertsRequest, valuations: Valuations, _: Annotated[AuthUser, Depends(bank_user)]
) -> AlertsResponse:
    value = body.loan.vehicle_value
    if body.loan.vehicle is not None:
        if value is not None:
            raise InputError.single("loan.vehicle", "give vehicle or vehicle_value, not both")
        vehicle = body.loan.vehicle.model_copy(update={"valuation_date": body.as_of})
        value = valuations.value(vehicle).value
    return loan_alerts(body, value)


@router.post("/portfolio/simulate", summary="Run the monitor on a seeded simulated portfolio and report")
def simulate(body: SimulateRequest, valuations: Valuations, _: AdminService) -> dict[str, Any]:
    portfolio = simulate_portfolio(body.loans, body.days, seed=body.seed)
    try:
        valuations.load()
        valuation: ValuationService | None = valuations
    except ModelNotFoundError:
        valuation = None
    result = PortfolioMonitor(valuation=valuation, anomaly=body.anomaly).run(portfolio)
    report = evaluate_warnings(portfolio, result.alerts)
    report["notes"] = list(result.notes)
    report["alerts"] = len(result.alerts)
    report["sample_alerts"] = [a.to_dict() for a in result.alerts if a.severity != "low"][:20]
    return json.loads(json.dumps(report, default=str))
