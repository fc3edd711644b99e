"""Floor plan: a core enterprise's whitelist of dealers eligible for floor-plan credit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from app.api.deps import CurrentUser, State
from app.api.models import Strict, TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from app.services.floorplan import as_json
from chaincode.mortgage.models.floorplan import WhitelistIn

router = APIRouter(prefix="/floor-plan/whitelist", tags=["floor plan"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class DelistIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.post("", response_model=TxResponse, summary="Whitelist a dealer (core enterprise)")
async def whitelist_dealer(body: WhitelistIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("WhitelistDealer", [as_json(body)])


@router.post("/{dealer_id}/delist", response_model=TxResponse, summary="Take a dealer off the whitelist")
async def delist_dealer(dealer_id: IdPath, body: DelistIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("DelistDealer", [dealer_id, body.reason])


@router.get("/{core_msp_id}", summary="A core enterprise's whitelist")
async def get_whitelist(state: State, user: CurrentUser, core_msp_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetDealerWhitelist", core_msp_id)
