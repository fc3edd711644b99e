"""Insurance (InsurerMSP underwriters), maintenance and odometer (dealers), valuations (banks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.models import (
    ClaimIn,
    InsurancePolicyIn,
    LapseIn,
    Line,
    MaintenanceIn,
    OdometerIn,
    TxResponse,
    ValuationIn,
)
from app.api.writes import WriteCtx

router = APIRouter()

PolicyPath = Annotated[str, Path(min_length=1, max_length=64, examples=["P-2026-001"]), Line]


@router.post(
    "/insurance/policies",
    status_code=201,
    response_model=TxResponse,
    tags=["insurance"],
    summary="Record an insurance policy (underwriter)",
)
async def record_policy(body: InsurancePolicyIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordInsurancePolicy", [body.chaincode_json()], status_code=201)


@router.post(
    "/insurance/policies/{policy_id}/lapse",
    response_model=TxResponse,
    tags=["insurance"],
    summary="Lapse a policy (underwriter; final)",
)
async def lapse_policy(policy_id: PolicyPath, body: LapseIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("LapseInsurancePolicy", [policy_id, body.reason])


@router.post(
    "/insurance/claims",
    status_code=201,
    response_model=TxResponse,
    tags=["insurance"],
    summary="File a claim under a policy (underwriter)",
)
async def file_claim(body: ClaimIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("FileInsuranceClaim", [body.chaincode_json()], status_code=201)


@router.post(
    "/maintenance",
    status_code=201,
    response_model=TxResponse,
    tags=["records"],
    summary="Record maintenance (dealer)",
)
async def record_maintenance(body: MaintenanceIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordMaintenance", [body.chaincode_json()], status_code=201)


@router.post(
    "/odometer",
    status_code=201,
    response_model=TxResponse,
    tags=["records"],
    summary="Record an odometer reading (dealer); a lower one is kept as an anomaly",
)
async def record_odometer(body: OdometerIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordOdometer", [body.chaincode_json()], status_code=201)


@router.post(
    "/valuations",
    status_code=201,
    response_model=TxResponse,
    tags=["valuations"],
    summary="Record a valuation with its model version and inputs hash (bank)",
)
async def record_valuation(body: ValuationIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordValuation", [body.chaincode_json()], status_code=201)
