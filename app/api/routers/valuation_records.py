"""Valuation records on chain (banks): a valuation with its model version and inputs hash.

``POST /valuation-records`` records one; computing a valuation is the engine's ``/valuation/*``.
The old ``POST /valuations`` (one letter from the engine's prefix) stays as a deprecated alias.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.models import TxResponse, ValuationIn
from app.api.writes import WriteCtx

router = APIRouter(tags=["valuations"])

SUMMARY = "Record a valuation with its model version and inputs hash (bank)"


@router.post("/valuation-records", status_code=201, response_model=TxResponse, summary=SUMMARY)
async def record_valuation(body: ValuationIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordValuation", [body.chaincode_json()], status_code=201)


router.add_api_route(
    "/valuations",
    record_valuation,
    methods=["POST"],
    status_code=201,
    response_model=TxResponse,
    summary=f"{SUMMARY}; deprecated: use POST /valuation-records",
    deprecated=True,
)
