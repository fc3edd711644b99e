"""Risk alerts anchored on chain: record, acknowledge, count (regulator dashboard), query."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from app.api.deps import CurrentUser, State
from app.api.models import Strict, TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from chaincode.mortgage.law_models import AlertQuery, RiskAlertIn
from chaincode.mortgage.models import Request

router = APIRouter(prefix="/risk-alerts", tags=["risk"])

AlertPath = Annotated[str, Path(min_length=1, max_length=64)]


def _json(body: Request) -> str:
    return body.model_dump_json(exclude_none=True)


@router.post("", status_code=201, response_model=TxResponse, summary="Anchor a risk alert")
async def record_risk_alert(body: RiskAlertIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordRiskAlert", [_json(body)], status_code=201)


class AcknowledgeIn(Strict):
    note: Annotated[str, Field(min_length=1, max_length=500)]


@router.post("/{alert_id}/acknowledge", response_model=TxResponse, summary="Acknowledge")
async def acknowledge_risk_alert(alert_id: AlertPath, body: AcknowledgeIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("AcknowledgeRiskAlert", [alert_id, body.note])


@router.get("/counts", summary="Alert counts from the ledger (regulator dashboard)")
async def count_risk_alerts(state: State, user: CurrentUser) -> Any:
    return await evaluate(state, user.caller, "CountRiskAlerts")


@router.get("", summary="Risk alerts by lien or lienholder")
async def query_risk_alerts(
    state: State,
    user: CurrentUser,
    lien_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    ] = None,
    lienholder: Annotated[str | None, Query(max_length=64)] = None,
    unacknowledged: bool = False,
) -> Any:
    query = AlertQuery(lien_id=lien_id, lienholder=lienholder, unacknowledged=unacknowledged)
    return await evaluate(state, user.caller, "QueryRiskAlerts", _json(query))
