"""Consortium configuration held by the chaincode: LTV cap and maximum valuation age."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.deps import CurrentUser, State
from app.api.models import ConfigIn, TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx

router = APIRouter(prefix="/config", tags=["config"])


@router.get("", summary="The LTV cap and maximum valuation age")
async def get_config(state: State, user: CurrentUser) -> Any:
    return await evaluate(state, user.caller, "GetConfig")


@router.put("", response_model=TxResponse, summary="Change the configuration (TrafficAuthority admin)")
async def set_config(body: ConfigIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SetConfig", [body.chaincode_json()])
