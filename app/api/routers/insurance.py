"""Insurance (InsurerMSP underwriters): policies, lapses and claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.models import ClaimIn, InsurancePolicyIn, LapseIn, Line, TxResponse
from app.api.writes import WriteCtx

router = APIRouter(prefix="/insurance", tags=["insurance"])

PolicyPath = Annotated[str, Path(min_length=1, max_length=64, examples=["P-2026-001"]), Line]


@router.post(
    "/policies",
    status_code=201,
    response_model=TxResponse,
    summary="Record an insurance policy (underwriter)",
)
async def record_policy(body: InsurancePolicyIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordInsurancePolicy", [body.chaincode_json()], status_code=201)


@router.post(
    "/policies/{policy_id}/lapse", response_model=TxResponse, summary="Lapse a policy (underwriter; final)"
)
async def lapse_policy(policy_id: PolicyPath, body: LapseIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("LapseInsurancePolicy", [policy_id, body.reason])


@router.post(
    "/claims", status_code=201, response_model=TxResponse, summary="File a claim under a policy (underwriter)"
)
async def file_claim(body: ClaimIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("FileInsuranceClaim", [body.chaincode_json()], status_code=201)
