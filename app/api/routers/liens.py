"""Liens: request, record/reject, release (paid or court order), assignment, foreclosure; and lien law:
enforcement consents, balances and payoff, amendment, extension, correction, the maturity sweep.
(The disposal that ends a foreclosure is a vehicle route.)"""

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
from chaincode.mortgage.law_models import (
    AmendmentIn,
    BalanceIn,
    BrandAcknowledgementIn,
    CorrectionIn,
    EnforcementConsentIn,
    ExtensionIn,
    PayoffPaymentIn,
    PayoffQuoteIn,
    PayoffRequestIn,
    SweepIn,
)
from chaincode.mortgage.models import Request

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


# --- lien law (enforcement, balances and payoff, maintenance) --------------------


def _json(body: Request) -> str:
    return body.model_dump_json(exclude_none=True)


@router.post(
    "/{lien_id}/enforcement-consents",
    response_model=TxResponse,
    summary="Consent, as this lien's holder, to another lien's sale discharging it",
)
async def consent_to_enforcement(lien_id: LienPath, body: EnforcementConsentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ConsentToEnforcement", [lien_id, _json(body)])


@router.post("/{lien_id}/balance", response_model=TxResponse, summary="Report the outstanding balance")
async def report_balance(lien_id: LienPath, body: BalanceIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ReportLienBalance", [lien_id, _json(body)])


@router.post(
    "/{lien_id}/payoff-requests",
    status_code=201,
    response_model=TxResponse,
    summary="Ask for a payoff quote (the owner through the lienholder, or a dealer/buyer with consent)",
)
async def request_payoff(lien_id: LienPath, body: PayoffRequestIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RequestPayoffQuote", [lien_id, _json(body)], status_code=201)


@router.post(
    "/{lien_id}/payoff-quotes",
    status_code=201,
    response_model=TxResponse,
    summary="Issue a payoff quote with a good-through date (lienholder)",
)
async def issue_payoff_quote(lien_id: LienPath, body: PayoffQuoteIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("IssuePayoffQuote", [lien_id, _json(body)], status_code=201)


@router.post(
    "/{lien_id}/payoff-payments",
    response_model=TxResponse,
    summary="Record the quote's payment: releases the lien (lienholder)",
)
async def record_payoff_payment(lien_id: LienPath, body: PayoffPaymentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordPayoffPayment", [lien_id, _json(body)])


QuotePath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", description="Quote id")
]


@router.get(
    "/{lien_id}/payoff-quotes",
    summary="Payoff quotes of a lien the caller may read (a dealer or buyer's bank: those it asked for)",
)
async def payoff_quotes(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await evaluate(state, user.caller, "GetPayoffQuotes", lien_id)


@router.get(
    "/{lien_id}/payoff-quotes/{quote_id}",
    summary="One payoff quote: amount, good-through date, status (lienholder, requester, readers)",
)
async def payoff_quote(state: State, user: CurrentUser, lien_id: LienPath, quote_id: QuotePath) -> Any:
    return await evaluate(state, user.caller, "GetPayoffQuote", lien_id, quote_id)


@router.get("/{lien_id}/account", summary="Balance, claim, deficiency, payoff requests and quotes")
async def lien_account(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await evaluate(state, user.caller, "GetLienAccount", lien_id)


@router.patch("/{lien_id}", response_model=TxResponse, summary="Amend a recorded lien (lienholder)")
async def amend_lien(lien_id: LienPath, body: AmendmentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("AmendLien", [lien_id, _json(body)])


@router.post("/{lien_id}/extension", response_model=TxResponse, summary="Extend before maturity")
async def extend_lien(lien_id: LienPath, body: ExtensionIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ExtendLien", [lien_id, _json(body)])


@router.post(
    "/{lien_id}/correction",
    response_model=TxResponse,
    summary="Correct or strike a lien recorded in error, on anchored evidence (registrar)",
)
async def correct_lien(lien_id: LienPath, body: CorrectionIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("CorrectLien", [lien_id, _json(body)])


@router.post(
    "/maturity-sweep",
    response_model=TxResponse,
    summary="Lapse liens past maturity + grace and send maturity notices (any writing role)",
)
async def maturity_sweep(w: WriteCtx, body: SweepIn | None = None):  # type: ignore[no-untyped-def]
    return await w.submit("SweepLienMaturities", [_json(body or SweepIn())])


@router.post(
    "/{lien_id}/brand-acknowledgement",
    response_model=TxResponse,
    summary="Acknowledge the vehicle's brands for a requested lien (requesting bank)",
)
async def acknowledge_brands(lien_id: LienPath, body: BrandAcknowledgementIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("AcknowledgeBrands", [lien_id, _json(body)])
