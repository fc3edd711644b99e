"""Valuation API: value, explain, forecast, reproduce, train, retrain, promote, evaluate, models, mileage.

Mounted by the gateway under /api/v1. Each bank has its own model versions (``residual-value-<bank>``)
and its own champion. Who may do what (``access.py`` holds the rules): a bank's model administrator
trains, retrains, evaluates and promotes its bank's models; its loan officers and model
administrators value with them; the regulator and auditors reproduce and list any bank's versions.
Promotion is explicit (``POST /valuation/models/promote``), never "newest wins"; uploads, rows and
boosting rounds are capped with 413/400 answers. The service is a dependency
(``get_valuation_service``) so an app can point it at another registry.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from app.api.deps import AuthUser, current_user
from app.api.request_limits import BODY_LIMIT_KEY, BodyLimitRoute
from app.services.errors import TooLarge, field_error
from app.services.model_registration import register_promoted
from app.services.valuation import valuation_service as get_valuation_service
from app.valuation.access import (
    MAX_TRAIN_ROWS,
    MAX_UPLOAD_BYTES,
    Action,
    authorise,
    bank_model_name,
)
from app.valuation.canonical import sha256_hex
from app.valuation.chain_registration import ChainRegistration
from app.valuation.dataset import read_sales
from app.valuation.errors import InputError
from app.valuation.forecast import LoanTerms
from app.valuation.lender_shapes import lender_sales
from app.valuation.mileage import Reading, TrackPoint, estimate_mileage
from app.valuation.model import MAX_ROUNDS_LIMIT, TrainConfig
from app.valuation.registry import RegisteredModel, parse_ref
from app.valuation.schemas import (
    EvaluateResponse,
    ForecastPoint,
    ForecastRequest,
    ForecastResponse,
    MileageRequest,
    MileageResponse,
    ModelRef,
    PromoteRequest,
    PromoteResponse,
    ReproduceRequest,
    ReproduceResponse,
    RollbackFlagOut,
    SyntheticTrainRequest,
    TrainResponse,
    ValuationResponse,
    ValueRequest,
)
from app.valuation.service import ValuationService
from app.valuation.synthetic import generate_market

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/valuation", tags=["valuation"], route_class=BodyLimitRoute)
UPLOAD_LIMIT = {BODY_LIMIT_KEY: MAX_UPLOAD_BYTES + 64 * 1024}  # the file plus the form's other fields
JSON_LIMIT = {BODY_LIMIT_KEY: 1024 * 1024}


Service = Annotated[ValuationService, Depends(get_valuation_service)]
User = Annotated[AuthUser, Depends(current_user)]


def parse_mapping(text: str | None) -> dict[str, str]:
    """The column-mapping form field: a JSON object of canonical name -> CSV column."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single("mapping", f"not JSON: {exc.msg}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InputError.single("mapping", "must be a JSON object of canonical name -> CSV column")
    return value


def _read_upload(file: UploadFile) -> bytes:
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise field_error(
            TooLarge, "file", "too large", f"file is over the {MAX_UPLOAD_BYTES} byte limit for training data"
        )
    return data


def _read_sales(raw: bytes, mapping: str | None, sale_date: date | None = None) -> Any:
    if raw.count(b"\n") > MAX_TRAIN_ROWS + 1:
        raise field_error(
            TooLarge,
            "file",
            "too large",
            f"file has more than {MAX_TRAIN_ROWS} rows, the limit for training here",
        )
    return read_sales(raw, parse_mapping(mapping), max_rows=MAX_TRAIN_ROWS, sale_date=sale_date)


SaleDate = Annotated[date | None, Form(description="collection date of a file whose rows carry no sale date")]


def _rounds(value: int) -> int:
    if not 10 <= value <= MAX_ROUNDS_LIMIT:
        raise InputError.single("num_boost_round", f"must be between 10 and {MAX_ROUNDS_LIMIT}", value)
    return value


def _actor(user: AuthUser) -> str:
    return f"{user.user.msp_id}/{user.user.username}"


def _model_ref(service: ValuationService, user: AuthUser, requested: str | None, action: Action) -> str:
    """The model a request may use: the caller's bank's name (champion unless a version is named)."""
    if requested is None:
        authorise(user, action, None)
        return bank_model_name(user.user.msp_id)
    name, version = parse_ref(
        requested, bank_model_name(user.user.msp_id) if _is_bank(user) else "residual-value"
    )
    authorise(user, action, name)
    return name if version is None else f"{name}@{version}"


def _is_bank(user: AuthUser) -> bool:
    try:
        bank_model_name(user.user.msp_id)
    except ValueError:
        return False
    return True


def _on_chain(request: Request, user: AuthUser, registered: RegisteredModel) -> ChainRegistration:
    """Register a just-promoted version on chain as the promoting model administrator (from this worker
    thread, on the app's loop); pending when this app has no gateway ledger or serves another org."""
    state = getattr(request.app.state, "gw", None)
    ledger = None
    if state is not None and not state.settings.read_only and user.user.msp_id in state.settings.orgs:
        ledger = state.ledger
    url = state.settings.public_base_url if state is not None else None
    return anyio.from_thread.run(register_promoted, ledger, user.caller, registered, url)


def _train_response(
    request: Request, user: AuthUser, service: ValuationService, registered: Any, result: Any, **extra: Any
) -> TrainResponse:
    champion = service.champion_ref(registered.name)
    promoted = champion == registered.ref
    return TrainResponse(
        chain_registration=_on_chain(request, user, registered) if promoted else None,
        model=ModelRef(
            name=registered.name, version=registered.version, ref=registered.ref, model_id=registered.model_id
        ),
        promoted=promoted,
        champion=champion,
        chosen_family=result.cv.chosen,
        metrics=result.metrics,
        baseline_metrics=result.baseline_metrics,
        cv_table=[{k: v for k, v in row.items() if k != "fold_mape"} for row in result.cv.table],
        intervals=result.intervals,
        folds=result.split,
        columns=[p.to_json() for p in result.data.columns],
        flagged_rows=len({f["row"] for f in result.data.flags}),
        warnings=result.warnings,
        training_data_sha256=registered.meta["training"]["data_sha256"],
        index_source=result.index_source,
        **extra,
    )


@router.post(
    "/value",
    response_model=ValuationResponse,
    summary="Value a vehicle (with interval)",
    openapi_extra=JSON_LIMIT,
)
def value(body: ValueRequest, service: Service, user: User) -> ValuationResponse:
    ref = _model_ref(service, user, body.model, Action.value)
    return service.value(body.vehicle, ref, explain=body.explain)


@router.post(
    "/explain",
    response_model=ValuationResponse,
    summary="Value a vehicle with per-feature contributions",
    openapi_extra=JSON_LIMIT,
)
def explain(body: ValueRequest, service: Service, user: User) -> ValuationResponse:
    ref = _model_ref(service, user, body.model, Action.value)
    return service.value(body.vehicle, ref, explain=True)


@router.post(
    "/forecast",
    response_model=ForecastResponse,
    summary="Residual value month by month over a loan's term, with projected LTV",
    openapi_extra=JSON_LIMIT,
)
def forecast(body: ForecastRequest, service: Service, user: User) -> ForecastResponse:
    ref = _model_ref(service, user, body.model, Action.value)
    loan = None
    if body.loan_balance is not None:
        loan = LoanTerms(body.loan_balance, body.annual_rate, body.remaining_months or body.months)
    loaded, points = service.forecast(body.vehicle, ref, body.months, loan)
    out = [
        ForecastPoint(
            month=p.month,
            date=p.date.isoformat(),
            value=p.value,
            low=p.low,
            high=p.high,
            balance=p.balance,
            ltv=p.ltv,
            ltv_high=p.ltv_high,
        )
        for p in points
    ]
    breach = next((p for p in out if p.ltv_high is not None and p.ltv_high > body.ltv_limit), None)
    return ForecastResponse(
        model=loaded.ref,
        trend_per_month=loaded.model.trend_per_month,
        km_per_month=loaded.model.km_per_month,
        points=out,
        first_breach=breach,
    )


@router.post(
    "/reproduce",
    response_model=ReproduceResponse,
    summary="Recompute a recorded valuation",
    openapi_extra=JSON_LIMIT,
)
def reproduce(body: ReproduceRequest, service: Service, user: User) -> ReproduceResponse:
    name, _ = parse_ref(body.model, "residual-value")
    authorise(user, Action.reproduce, name)
    return service.reproduce(body.model, body.inputs, body.input_hash, body.value)


@router.post(
    "/train",
    response_model=TrainResponse,
    summary="Train on an uploaded sales CSV and register",
    openapi_extra=UPLOAD_LIMIT,
)
def train(
    request: Request,
    service: Service,
    user: User,
    file: Annotated[UploadFile, File(description="sales CSV")],
    mapping: Annotated[
        str | None, Form(description='JSON {"canonical": "CSV column"}', max_length=4096)
    ] = None,
    coverage: Annotated[float, Form(gt=0.5, lt=1.0)] = 0.9,
    num_boost_round: Annotated[int, Form(description=f"most boosting rounds (≤ {MAX_ROUNDS_LIMIT})")] = 1000,
    sale_date: SaleDate = None,
) -> TrainResponse:
    """Registers a new version of the caller's bank's model. It is *not* promoted (unless the bank
    has no champion yet): promote it explicitly."""
    authorise(user, Action.train, None)
    config = TrainConfig(num_boost_round=_rounds(num_boost_round), coverage=coverage)
    raw = _read_upload(file)
    sales = _read_sales(raw, mapping, sale_date)
    registered, result = service.train_and_register(
        sales,
        None,
        config,
        source=f"upload:{(file.filename or 'file')[:100]}",
        raw_sha256=sha256_hex(raw),
        name=bank_model_name(user.user.msp_id),
        actor=_actor(user),
    )
    return _train_response(request, user, service, registered, result)


@router.post(
    "/retrain",
    response_model=TrainResponse,
    summary="Train a challenger on new sales; compare with the champion on the same folds",
    openapi_extra=UPLOAD_LIMIT,
)
def retrain(
    request: Request,
    service: Service,
    user: User,
    file: Annotated[UploadFile, File(description="sales CSV")],
    mapping: Annotated[str | None, Form(max_length=4096)] = None,
    coverage: Annotated[float, Form(gt=0.5, lt=1.0)] = 0.9,
    num_boost_round: Annotated[int, Form()] = 1000,
    promote_if_better: Annotated[bool, Form()] = True,
    sale_date: SaleDate = None,
) -> TrainResponse:
    authorise(user, Action.train, None)
    config = TrainConfig(num_boost_round=_rounds(num_boost_round), coverage=coverage)
    raw = _read_upload(file)
    sales = _read_sales(raw, mapping, sale_date)
    registered, result, comparison, drift_rows = service.retrain(
        sales,
        config,
        source=f"upload:{(file.filename or 'file')[:100]}",
        raw_sha256=sha256_hex(raw),
        name=bank_model_name(user.user.msp_id),
        promote_if_better=promote_if_better,
        actor=_actor(user),
    )
    return _train_response(
        request, user, service, registered, result, comparison=comparison, drift=drift_rows
    )


@router.post(
    "/train/synthetic",
    response_model=TrainResponse,
    summary="Train on generated sales (demo data)",
    openapi_extra=JSON_LIMIT,
)
def train_synthetic(
    request: Request, body: SyntheticTrainRequest, service: Service, user: User
) -> TrainResponse:
    authorise(user, Action.train, None)
    config = TrainConfig(
        num_boost_round=_rounds(body.num_boost_round), coverage=body.coverage, seed=body.seed
    )
    if body.rows >= 500:
        market = generate_market(body.rows, seed=body.seed)
        sales, index, source = market.sales, market.index, f"synthetic(rows={body.rows}, seed={body.seed})"
    else:
        sales, index = lender_sales("no_list_price", body.rows, seed=body.seed), None
        source = f"synthetic-lender(rows={body.rows}, seed={body.seed})"
        sales = read_sales(sales.to_csv(index=False))
    registered, result = service.train_and_register(
        sales, index, config, source=source, name=bank_model_name(user.user.msp_id), actor=_actor(user)
    )
    return _train_response(request, user, service, registered, result)


@router.post(
    "/models/promote",
    response_model=PromoteResponse,
    summary="Make a registered version the one the bank's valuations use",
    openapi_extra=JSON_LIMIT,
)
def promote(request: Request, body: PromoteRequest, service: Service, user: User) -> PromoteResponse:
    authorise(user, Action.promote, None)
    name = bank_model_name(user.user.msp_id)
    record = service.promote(body.version, _actor(user), body.reason, name=name)
    registered = service.registry.get(name, body.version)
    return PromoteResponse(
        champion=ModelRef(
            name=name, version=registered.version, ref=registered.ref, model_id=registered.model_id
        ),
        promoted_by=record["promoted_by"],
        promoted_at=record["promoted_at"],
        previous=None if record["previous"] is None else f"{name}@{record['previous']}",
        chain_registration=_on_chain(request, user, registered),
    )


@router.post(
    "/evaluate",
    response_model=EvaluateResponse,
    summary="Accuracy of a registered model on uploaded sales",
    openapi_extra=UPLOAD_LIMIT,
)
def evaluate(
    service: Service,
    user: User,
    file: Annotated[UploadFile, File(description="sales CSV")],
    mapping: Annotated[str | None, Form(max_length=4096)] = None,
    model: Annotated[
        str | None, Form(description="name@version; the champion when omitted", max_length=80)
    ] = None,
) -> EvaluateResponse:
    ref = _model_ref(service, user, model, Action.train)
    report = service.evaluate(_read_sales(_read_upload(file), mapping), ref)
    return EvaluateResponse.model_validate(report)


@router.get(
    "/models", summary="Registered versions (the caller's bank; every bank for regulator and auditors)"
)
def models(service: Service, user: User) -> list[dict[str, Any]]:
    names = authorise(user, Action.list_models, None) or []
    out = []
    for name in names:
        champion = service.registry.champion(name)
        for m in service.registry.list(name):
            out.append(
                {
                    "ref": m.ref,
                    "model_id": m.model_id,
                    "registered_at": m.meta.get("registered_at"),
                    "champion": champion is not None and int(champion["version"]) == m.version,
                    "chosen_family": m.meta.get("card", {}).get("chosen_family"),
                    "training": m.meta.get("training"),
                    "metrics": m.meta.get("metrics"),
                    "baseline_metrics": m.meta.get("baseline", {}).get("metrics"),
                }
            )
    return out


@router.post(
    "/mileage",
    response_model=MileageResponse,
    summary="Estimate current mileage; flag rollbacks",
    openapi_extra=JSON_LIMIT,
)
def mileage(body: MileageRequest, user: User) -> MileageResponse:
    authorise(user, Action.mileage, None)
    if body.as_of > datetime.now(UTC):
        raise InputError.single("as_of", "is in the future", body.as_of.isoformat())
    est = estimate_mileage(
        body.as_of,
        [Reading(r.ts, r.km, r.source) for r in body.readings],
        [TrackPoint(p.ts, p.lat, p.lon) for p in body.gps],
    )
    return MileageResponse(
        estimated_km=est.estimated_km,
        method=est.method,
        anchor_km=est.anchor.km if est.anchor else None,
        anchor_ts=est.anchor.ts if est.anchor else None,
        anchor_source=est.anchor.source if est.anchor else None,
        distance_since_anchor_km=est.distance_since_anchor_km,
        road_factor=est.road_factor,
        rollback_suspected=est.rollback_suspected,
        flags=[
            RollbackFlagOut(
                ts=f.ts,
                source=f.source,
                reading_km=f.reading_km,
                expected_min_km=f.expected_min_km,
                reason=f.reason,
                severity=f.severity,
            )
            for f in est.flags
        ],
    )
