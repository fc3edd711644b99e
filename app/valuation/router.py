"""Valuation API: value, explain, reproduce, train, evaluate, list models, estimate mileage.

Mounted by the gateway under /api/v1. The service is a dependency (``get_valuation_service``)
so an app can point it at another registry with ``dependency_overrides``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from app.valuation.canonical import sha256_hex
from app.valuation.errors import InputError
from app.valuation.http import FieldErrorRoute
from app.valuation.mileage import Reading, TrackPoint, estimate_mileage
from app.valuation.model import TrainConfig
from app.valuation.records import read_sales_csv
from app.valuation.registry import ModelRegistry, default_root
from app.valuation.schemas import (
    EvaluateResponse,
    MileageRequest,
    MileageResponse,
    ModelRef,
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

router = APIRouter(prefix="/valuation", tags=["valuation"], route_class=FieldErrorRoute)


@lru_cache(maxsize=4)
def _service_for(root: str) -> ValuationService:
    return ValuationService(ModelRegistry(root))


def get_valuation_service() -> ValuationService:
    return _service_for(str(default_root()))


Service = Annotated[ValuationService, Depends(get_valuation_service)]


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


def _train_response(registered: Any, result: Any) -> TrainResponse:
    return TrainResponse(
        model=ModelRef(
            name=registered.name, version=registered.version, ref=registered.ref, model_id=registered.model_id
        ),
        metrics=result.metrics,
        baseline_metrics=result.baseline_metrics,
        split=result.split,
        training_data_sha256=registered.meta["training"]["data_sha256"],
        index_source=result.index_source,
    )


@router.post("/value", response_model=ValuationResponse, summary="Value a vehicle (with interval)")
def value(body: ValueRequest, service: Service) -> ValuationResponse:
    return service.value(body.vehicle, body.model, explain=body.explain)


@router.post(
    "/explain", response_model=ValuationResponse, summary="Value a vehicle with per-feature contributions"
)
def explain(body: ValueRequest, service: Service) -> ValuationResponse:
    return service.value(body.vehicle, body.model, explain=True)


@router.post("/reproduce", response_model=ReproduceResponse, summary="Recompute a recorded valuation")
def reproduce(body: ReproduceRequest, service: Service) -> ReproduceResponse:
    return service.reproduce(body.model, body.inputs, body.input_hash, body.value)


@router.post("/train", response_model=TrainResponse, summary="Train on an uploaded sales CSV and register")
def train(
    service: Service,
    file: Annotated[UploadFile, File(description="sales CSV")],
    mapping: Annotated[str | None, Form(description='JSON {"canonical": "CSV column"}')] = None,
    coverage: Annotated[float, Form(gt=0.5, lt=1.0)] = 0.9,
    num_boost_round: Annotated[int, Form(ge=10, le=5000)] = 200,
) -> TrainResponse:
    raw = file.file.read()
    sales = read_sales_csv(raw, parse_mapping(mapping))
    registered, result = service.train_and_register(
        sales,
        None,
        TrainConfig(num_boost_round=num_boost_round, coverage=coverage),
        source=f"upload:{file.filename}",
        raw_sha256=sha256_hex(raw),
    )
    return _train_response(registered, result)


@router.post("/train/synthetic", response_model=TrainResponse, summary="Train on the seeded synthetic market")
def train_synthetic(body: SyntheticTrainRequest, service: Service) -> TrainResponse:
    market = generate_market(body.rows, seed=body.seed)
    registered, result = service.train_and_register(
        market.sales,
        market.index,
        TrainConfig(num_boost_round=body.num_boost_round, coverage=body.coverage),
        source=f"synthetic(rows={body.rows}, seed={body.seed})",
    )
    return _train_response(registered, result)


@router.post(
    "/evaluate",
    response_model=EvaluateResponse,
    summary="Accuracy of a registered model on an uploaded sales CSV",
)
def evaluate(
    service: Service,
    file: Annotated[UploadFile, File(description="sales CSV")],
    mapping: Annotated[str | None, Form()] = None,
    model: Annotated[str | None, Form(description="name@version; latest when omitted")] = None,
) -> EvaluateResponse:
    report = service.evaluate(read_sales_csv(file.file.read(), parse_mapping(mapping)), model)
    return EvaluateResponse.model_validate(report)


@router.get("/models", summary="Registered residual-value model versions")
def models(service: Service) -> list[dict[str, Any]]:
    return [
        {
            "ref": m.ref,
            "model_id": m.model_id,
            "registered_at": m.meta.get("registered_at"),
            "training": m.meta.get("training"),
            "metrics": m.meta.get("metrics"),
            "baseline_metrics": m.meta.get("baseline", {}).get("metrics"),
        }
        for m in service.registry.list(service.name)
    ]


@router.post("/mileage", response_model=MileageResponse, summary="Estimate current mileage; flag rollbacks")
def mileage(body: MileageRequest) -> MileageResponse:
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
