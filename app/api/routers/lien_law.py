"""Lien law over HTTP: enforcement by seniority, balances and payoff, lien maintenance (amend, extend,
correct, the maturity sweep), holds, registration changes, brands. (On-chain model versions and risk
alerts have their own routers.)

Routes only translate: bodies are the contract's own request models (``chaincode.mortgage.law_models``),
so the gateway refuses exactly what the chaincode would, before a proposal is signed; owner contact
data travels in the transient map only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from app.api.deps import CurrentUser, State
from app.api.models import Strict, TxResponse
from app.api.reads import evaluate
from app.api.routers.liens import LienPath
from app.api.routers.vehicles import VinPath
from app.api.writes import WriteCtx
from chaincode.mortgage.law_models import (
    AmendmentIn,
    BalanceIn,
    BrandAcknowledgementIn,
    BrandIn,
    CorrectionIn,
    EnforcementConsentIn,
    ExtensionIn,
    HoldIn,
    LawConfigIn,
    OwnerContactIn,
    PayoffPaymentIn,
    PayoffQuoteIn,
    PayoffRequestIn,
    SaleOrderIn,
    SweepIn,
)
from chaincode.mortgage.models import HoldKind, Plate, Request

router = APIRouter(tags=["lien law"])


def _json(body: Request) -> str:
    return body.model_dump_json(exclude_none=True)


# --- configuration --------------------------------------------------------------------------------


@router.put(
    "/lien-law-config", response_model=TxResponse, summary="Reserve share, lapse grace, notices (admin)"
)
async def set_law_config(body: LawConfigIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SetLawConfig", [_json(body)])


@router.get("/lien-law-config", summary="Reserve share, lapse grace and maturity notice days")
async def get_law_config(state: State, user: CurrentUser) -> Any:
    return await evaluate(state, user.caller, "GetLawConfig")


# --- enforcement ----------------------------------------------------------------------------------


@router.post(
    "/liens/{lien_id}/enforcement-consents",
    response_model=TxResponse,
    summary="Consent, as this lien's holder, to another lien's sale discharging it",
)
async def consent_to_enforcement(lien_id: LienPath, body: EnforcementConsentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ConsentToEnforcement", [lien_id, _json(body)])


@router.post(
    "/vehicles/{vin}/sale-orders",
    response_model=TxResponse,
    tags=["vehicles"],
    summary="Anchor a court's sale order (registrar): sale free of every lien",
)
async def record_sale_order(vin: VinPath, body: SaleOrderIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordSaleOrder", [vin, _json(body)])


@router.get(
    "/vehicles/{vin}/enforcement",
    tags=["vehicles"],
    summary="What a disposal needs now: seniors, consents, court order, reserve, claims",
)
async def get_enforcement(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetEnforcement", vin)


@router.get("/vehicles/{vin}/surpluses", tags=["vehicles"], summary="Sale surpluses owed to former owners")
async def get_surpluses(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetSurpluses", vin)


# --- balances and payoff --------------------------------------------------------------------------


@router.post("/liens/{lien_id}/balance", response_model=TxResponse, summary="Report the outstanding balance")
async def report_balance(lien_id: LienPath, body: BalanceIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ReportLienBalance", [lien_id, _json(body)])


@router.post(
    "/liens/{lien_id}/payoff-requests",
    status_code=201,
    response_model=TxResponse,
    summary="Ask for a payoff quote (the owner through the lienholder, or a dealer/buyer with consent)",
)
async def request_payoff(lien_id: LienPath, body: PayoffRequestIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RequestPayoffQuote", [lien_id, _json(body)], status_code=201)


@router.post(
    "/liens/{lien_id}/payoff-quotes",
    status_code=201,
    response_model=TxResponse,
    summary="Issue a payoff quote with a good-through date (lienholder)",
)
async def issue_payoff_quote(lien_id: LienPath, body: PayoffQuoteIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("IssuePayoffQuote", [lien_id, _json(body)], status_code=201)


@router.post(
    "/liens/{lien_id}/payoff-payments",
    response_model=TxResponse,
    summary="Record the quote's payment: releases the lien (lienholder)",
)
async def record_payoff_payment(lien_id: LienPath, body: PayoffPaymentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordPayoffPayment", [lien_id, _json(body)])


QuotePath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", description="Quote id")
]


@router.get(
    "/liens/{lien_id}/payoff-quotes",
    summary="Payoff quotes of a lien the caller may read (a dealer or buyer's bank: those it asked for)",
)
async def payoff_quotes(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await evaluate(state, user.caller, "GetPayoffQuotes", lien_id)


@router.get(
    "/liens/{lien_id}/payoff-quotes/{quote_id}",
    summary="One payoff quote: amount, good-through date, status (lienholder, requester, readers)",
)
async def payoff_quote(state: State, user: CurrentUser, lien_id: LienPath, quote_id: QuotePath) -> Any:
    return await evaluate(state, user.caller, "GetPayoffQuote", lien_id, quote_id)


@router.get("/liens/{lien_id}/account", summary="Balance, claim, deficiency, payoff requests and quotes")
async def lien_account(state: State, user: CurrentUser, lien_id: LienPath) -> Any:
    return await evaluate(state, user.caller, "GetLienAccount", lien_id)


# --- maintenance ----------------------------------------------------------------------------------


@router.patch("/liens/{lien_id}", response_model=TxResponse, summary="Amend a recorded lien (lienholder)")
async def amend_lien(lien_id: LienPath, body: AmendmentIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("AmendLien", [lien_id, _json(body)])


@router.post("/liens/{lien_id}/extension", response_model=TxResponse, summary="Extend before maturity")
async def extend_lien(lien_id: LienPath, body: ExtensionIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ExtendLien", [lien_id, _json(body)])


@router.post(
    "/liens/{lien_id}/correction",
    response_model=TxResponse,
    summary="Correct or strike a lien recorded in error, on anchored evidence (registrar)",
)
async def correct_lien(lien_id: LienPath, body: CorrectionIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("CorrectLien", [lien_id, _json(body)])


@router.post(
    "/liens/maturity-sweep",
    response_model=TxResponse,
    summary="Lapse liens past maturity + grace and send maturity notices (any writing role)",
)
async def maturity_sweep(w: WriteCtx, body: SweepIn | None = None):  # type: ignore[no-untyped-def]
    return await w.submit("SweepLienMaturities", [_json(body or SweepIn())])


@router.post(
    "/liens/{lien_id}/brand-acknowledgement",
    response_model=TxResponse,
    summary="Acknowledge the vehicle's brands for a requested lien (requesting bank)",
)
async def acknowledge_brands(lien_id: LienPath, body: BrandAcknowledgementIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("AcknowledgeBrands", [lien_id, _json(body)])


# --- holds, registration changes, brands ----------------------------------------------------------


class HoldLiftIn(Strict):
    document_id: Annotated[str, Field(min_length=1, max_length=64)]
    authority: Annotated[str, Field(min_length=1, max_length=100)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.post("/vehicles/{vin}/holds", response_model=TxResponse, tags=["vehicles"], summary="Set a hold")
async def set_hold(vin: VinPath, body: HoldIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SetHold", [vin, _json(body)])


@router.post(
    "/vehicles/{vin}/holds/{kind}/lift", response_model=TxResponse, tags=["vehicles"], summary="Lift a hold"
)
async def lift_hold(vin: VinPath, kind: HoldKind, body: HoldLiftIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    hold = HoldIn(kind=kind, **body.model_dump())
    return await w.submit("LiftHold", [vin, _json(hold)])


class RegistrationChangeBody(Strict):
    """变更登记; ``owner_contact`` goes to the private collection through the transient map."""

    change_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
    document_id: Annotated[str, Field(min_length=1, max_length=64)]
    plate: Plate | None = None
    colour: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    engine_number: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    owner_contact: OwnerContactIn | None = None


@router.patch(
    "/vehicles/{vin}", response_model=TxResponse, tags=["vehicles"], summary="Registration change (registrar)"
)
async def change_registration(vin: VinPath, body: RegistrationChangeBody, w: WriteCtx):  # type: ignore[no-untyped-def]
    change = body.model_dump(exclude_none=True, exclude={"owner_contact"})
    transient = None
    if body.owner_contact is not None:
        change["owner_contact"] = True
        transient = {"owner_contact": body.owner_contact.model_dump_json(exclude_none=True).encode()}
    return await w.submit("ChangeRegistration", [vin, json.dumps(change)], transient=transient)


@router.get("/vehicles/{vin}/registration-changes", tags=["vehicles"], summary="Registration changes")
async def registration_changes(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetRegistrationChanges", vin)


@router.post(
    "/vehicles/{vin}/brands", response_model=TxResponse, tags=["vehicles"], summary="Brand (insurer)"
)
async def record_brand(vin: VinPath, body: BrandIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordBrand", [vin, _json(body)])
