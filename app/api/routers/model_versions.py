"""Valuation model versions registered on chain (a bank's model_admin registers; readers list them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CurrentUser, State
from app.api.models import TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from chaincode.mortgage.law_models import ModelVersionIn

router = APIRouter(prefix="/model-versions", tags=["valuations"])


@router.post(
    "",
    status_code=201,
    response_model=TxResponse,
    summary="Register a valuation model version on chain (a bank's model_admin)",
)
async def register_model_version(body: ModelVersionIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RegisterModelVersion", [body.model_dump_json(exclude_none=True)], status_code=201)


@router.get("", summary="Model versions registered on chain")
async def model_versions(state: State, user: CurrentUser) -> Any:
    return await evaluate(state, user.caller, "GetModelVersions")
