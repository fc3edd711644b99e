"""Maintenance records (dealers and repair shops)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.models import MaintenanceIn, TxResponse
from app.api.writes import WriteCtx

router = APIRouter(prefix="/maintenance", tags=["records"])


@router.post("", status_code=201, response_model=TxResponse, summary="Record maintenance (dealer)")
async def record_maintenance(body: MaintenanceIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordMaintenance", [body.chaincode_json()], status_code=201)
