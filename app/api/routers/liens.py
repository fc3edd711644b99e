"""Liens: request, record/reject, release (paid or court order), assignment, foreclosure (the disposal
that ends a foreclosure is a vehicle route)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.api.deps import CurrentUser, State
from app.api.models import (
    AssignmentIn,
    CourtReleaseIn,
    ForeclosureIn,
    LienRequestIn,
    LienStatus,
    Line,
    Page,
    RejectIn,
    TxResponse,
)
from app.api.reads import evaluate, query_args, with_blocks
from app.api.writes import WriteCtx

router = APIRouter(prefix="/liens", tags=["liens"])

LienPath = Annotated[str, Path(min_length=1, max_length=64, examples=["L-2026-0001"]), Line]


@router.post("", status_code=201, response_model=TxResponse, summary="Request a lien (bank)")
async def request_lien(body: LienRequestIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RequestLien", [body.chaincode_json()], status_code=201)


@router.get("", response_model=Page, summary="Query liens by vehicle, lienholder or status")
async def query_liens(
    state: State,
    user: CurrentUser,
    vin: Annotated[str | None, Query(max_length=17), Line] = None,
    lienholder: Annotated[str | None, Query(max_length=64), Line] = None,
    status: LienStatus | None = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    bookmark: Annotated[str, Query(max_length=512), Line] = "",
) -> Any:
    query = {"vin": vin, "lienholder": lienholder, "status": status}
    return await evaluate(state, user.caller, "QueryLiens", *query_args(query, page_size, bookmark))


@router.get("/{lien_id}", summary="Get a lien")
async def get_lien(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await evaluate(state, user.caller, "GetLien", lien_id)


@router.get("/{lien_id}/history", summary="History of the lien key with tx ids and blocks (auditors)")
async def lien_history(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await with_blocks(state, await evaluate(state, user.caller, "GetLienHistory", lien_id))


@router.get("/{lien_id}/documents", summary="Documents anchored for the lien")
async def lien_documents(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await evaluate(state, user.caller, "GetDocuments", json.dumps({"lien_id": lien_id}))


@router.post("/{lien_id}/record", response_model=TxResponse, summary="Record a lien (registrar)")
async def record_lien(lien_id: LienPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordLien", [lien_id])


@router.post("/{lien_id}/reject", response_model=TxResponse, summary="Reject a lien (registrar)")
async def reject_lien(lien_id: LienPath, body: RejectIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RejectLien", [lien_id, body.reason])


@router.post("/{lien_id}/release", response_model=TxResponse, summary="Release a paid lien (holder)")
async def release_lien(lien_id: LienPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ReleaseLien", [lien_id])


@router.post(
    "/{lien_id}/court-release",
    response_model=TxResponse,
    summary="Release on a court order (registrar)",
)
async def court_release(lien_id: LienPath, body: CourtReleaseIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ReleaseLienByCourtOrder", [lien_id, body.court_order_document_id])


@router.post(
    "/{lien_id}/assignment", response_model=TxResponse, summary="Propose assigning the lien (holder)"
)
async def propose_assignment(lien_id: LienPath, body: AssignmentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ProposeLienAssignment", [lien_id, body.assignee_msp_id])


@router.post(
    "/{lien_id}/assignment/accept",
    response_model=TxResponse,
    summary="Accept an assignment (assignee; endorsed by both banks)",
)
async def accept_assignment(lien_id: LienPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("AcceptLienAssignment", [lien_id])


@router.post("/{lien_id}/foreclosure", response_model=TxResponse, summary="Start foreclosure (holder)")
async def start_foreclosure(lien_id: LienPath, body: ForeclosureIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("StartForeclosure", [lien_id, body.notice_document_id])
