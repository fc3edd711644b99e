"""Odometer readings (dealers); a lower reading is kept as an anomaly, never silently accepted."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.models import OdometerIn, TxResponse
from app.api.writes import WriteCtx

router = APIRouter(prefix="/odometer", tags=["records"])


@router.post(
    "",
    status_code=201,
    response_model=TxResponse,
    summary="Record an odometer reading (dealer); a lower one is kept as an anomaly",
)
async def record_odometer(body: OdometerIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordOdometer", [body.chaincode_json()], status_code=201)
