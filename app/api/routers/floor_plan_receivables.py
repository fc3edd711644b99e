"""Floor plan: receivables a dealer pledges to its lender (owed by a core enterprise), once each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.models import TxResponse
from app.api.writes import WriteCtx
from app.services.floorplan import as_json
from chaincode.mortgage.models.floorplan import ReceivableIn

router = APIRouter(prefix="/floor-plan/receivables", tags=["floor plan"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


@router.post("", status_code=201, response_model=TxResponse, summary="Pledge a receivable (dealer)")
async def pledge_receivable(body: ReceivableIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("PledgeReceivable", [as_json(body)], status_code=201)


@router.post(
    "/{debtor_msp_id}/{receivable_id}/release",
    response_model=TxResponse,
    summary="Release the pledge (pledgee)",
)
async def release_pledge(debtor_msp_id: IdPath, receivable_id: IdPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ReleaseReceivablePledge", [debtor_msp_id, receivable_id])
