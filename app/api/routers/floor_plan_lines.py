"""Floor plan: dealer credit lines — open, stock with curtailments due, the curtailment check, alerts,
pledged receivables, exposure per dealer and the regulator's totals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.api.deps import CurrentUser, State
from app.api.models import TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from app.services.floorplan import as_json
from chaincode.mortgage.models.floorplan import CreditLineIn, FloorPlanQuery

router = APIRouter(prefix="/floor-plan/lines", tags=["floor plan"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.post("", status_code=201, response_model=TxResponse, summary="Open a dealer credit line (lender)")
async def open_credit_line(body: CreditLineIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("OpenCreditLine", [as_json(body)], status_code=201)


@router.get("/exposure", summary="Exposure per dealer (the caller's own lines; all for the regulator)")
async def exposure(
    state: State,
    user: CurrentUser,
    lender: Annotated[str | None, Query(max_length=64)] = None,
    dealer_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    query = FloorPlanQuery(lender=lender, dealer_id=dealer_id)
    return await evaluate(state, user.caller, "GetFloorPlanExposure", as_json(query))


@router.get("/totals", summary="Floor-plan totals per lender and alerts by rule (regulator)")
async def totals(state: State, user: CurrentUser) -> Any:
    return await evaluate(state, user.caller, "GetFloorPlanTotals")


@router.get("/{line_id}", summary="The line, its financed stock and curtailments due as of now")
async def line_stock(state: State, user: CurrentUser, line_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetFloorPlanStock", line_id)


@router.post(
    "/{line_id}/curtailment-check", response_model=TxResponse, summary="Alert unpaid curtailments (lender)"
)
async def check_curtailments(line_id: IdPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("CheckCurtailments", [line_id])


@router.get("/{line_id}/alerts", summary="Sold-out-of-trust and curtailment alerts of the line")
async def line_alerts(state: State, user: CurrentUser, line_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetFloorPlanAlerts", line_id)


@router.get("/{line_id}/receivables", summary="Receivables pledged under the line")
async def line_receivables(state: State, user: CurrentUser, line_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetReceivablePledges", line_id)
