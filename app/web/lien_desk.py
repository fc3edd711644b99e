"""The lien desk: one lien's terms, balance and payoff quotes, with the forms of the people who act on
it — the lienholder's loan officer amends, extends, issues a payoff quote for a request, records its
payment (which releases the lien) or releases a paid lien; a dealer or a buyer's bank asks for a
payoff quote with the owner's consent and reads its answer; the vehicle office corrects a lien
recorded in error. Reached from the lender page and the vehicle desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import AuthUser
from app.ledger.port import LedgerError
from app.services.lien_law import ChaincodeCall
from app.web.desk import ID_SHAPE, Refusal, act_writer, call_of, can, form_values, read_if, submit
from app.web.pages import error_page, ledger_error_page, need_login, render
from chaincode.mortgage.law_models import (
    AmendmentIn,
    CorrectionIn,
    ExtensionIn,
    PayoffPaymentIn,
    PayoffQuoteIn,
    PayoffRequester,
    PayoffRequestIn,
)
from chaincode.mortgage.models import Request as ContractRequest

router = APIRouter(include_in_schema=False)

TERMS = ("secured_amount", "maturity_date", "loan_number", "mortgage_contract_number")


@dataclass(frozen=True)
class Act:
    """A form of the desk: the contract function it calls, the request model of its fields, the
    fields, and the fixed text the page shows when it is done."""

    function: str
    model: type[ContractRequest] | None  # None: the lien id is the only argument
    fields: tuple[str, ...]
    done: str


ACTS: dict[str, Act] = {
    "amend": Act(
        "AmendLien",
        AmendmentIn,
        (*TERMS, "owner_consent_id", "owner_consent_document_id", "reason"),
        "lien amended",
    ),
    "extend": Act("ExtendLien", ExtensionIn, ("maturity_date", "document_id"), "lien extended"),
    "request": Act(
        "RequestPayoffQuote",
        PayoffRequestIn,
        ("request_id", "requested_by", "owner_consent_id", "owner_consent_document_id"),
        "payoff quote requested",
    ),
    "quote": Act(
        "IssuePayoffQuote",
        PayoffQuoteIn,
        ("quote_id", "request_id", "amount", "currency", "good_through"),
        "payoff quote issued",
    ),
    "payment": Act(
        "RecordPayoffPayment",
        PayoffPaymentIn,
        ("quote_id", "amount", "currency", "paid_on", "payment_reference", "receipt_document_id"),
        "payment recorded, lien released",
    ),
    "release": Act("ReleaseLien", None, (), "lien released"),
    "correct": Act(
        "CorrectLien", CorrectionIn, ("evidence_document_id", "reason", "cancel", *TERMS), "lien corrected"
    ),
}
HOLDER_ACTS = ("amend", "extend", "quote", "payment", "release")


@router.get("/liens/{lien_id}/desk", response_model=None)
async def lien_desk(request: Request, lien_id: str) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if not ID_SHAPE.match(lien_id):
        return error_page(request, 400, "lien_id: not an id")
    act = ACTS.get(request.query_params.get("done", ""))
    return await _page(request, user, lien_id, message=act.done if act else None)


async def _page(
    request: Request,
    user: AuthUser,
    lien_id: str,
    *,
    message: str | None = None,
    refusal: Refusal | None = None,
    kept: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The desk as the user may read it: the lien and its account for credit readers, the quotes a
    dealer or bank may see (its own requests' answers), and the forms its org and role allow."""
    try:
        lien = await read_if(request, user, "GetLien", lien_id)
        account = await read_if(request, user, "GetLienAccount", lien_id)
        quotes = await read_if(request, user, "GetPayoffQuotes", lien_id) or []
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    if lien is None and not quotes and not can(request, user, "RequestPayoffQuote"):
        return error_page(request, 404, f"lien {lien_id}: not found or not readable by {user.user.msp_id}")
    holder = lien is not None and lien.get("lienholder") == user.user.msp_id
    acts = {name: can(request, user, act.function) for name, act in ACTS.items()}
    for name in HOLDER_ACTS:
        acts[name] = acts[name] and holder
    return render(
        request, "lien_desk.html", status_code=status_code, user=user, lien_id=lien_id, lien=lien,
        account=account, quotes=quotes, open_requests=_unanswered(account), acts=acts, message=message,
        refusal=refusal, kept=kept or {}, requesters=_requesters(user, holder),
    )  # fmt: skip


def _unanswered(account: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The payoff requests the lienholder has not quoted yet."""
    if not account:
        return []
    quoted = {q.get("request_id") for q in account.get("payoff_quotes", [])}
    return [r for r in account.get("payoff_requests", []) if r.get("request_id") not in quoted]


def _requesters(user: AuthUser, holder: bool) -> list[str]:
    """Who the caller may say asks: a dealer for itself; a bank for a buyer, the holder for the owner."""
    if user.user.msp_id == "DealerMSP":
        return [PayoffRequester.DEALER.value]
    return [PayoffRequester.OWNER.value] if holder else [PayoffRequester.BUYER.value]


@router.post("/liens/{lien_id}/desk/{name}", response_model=None)
async def lien_act(request: Request, lien_id: str, name: str) -> Response:
    """One act of the desk: the writer check for its function, the contract's request model from the
    form, then the new state (a redirect) or the page again with the refusal and the input kept."""
    act = ACTS.get(name)
    if act is None:
        return error_page(request, 404, f"no such form: {name}")
    values = await form_values(request)
    user = act_writer(request, values.pop("csrf", ""), act.function)
    if not isinstance(user, AuthUser):
        return user
    if not ID_SHAPE.match(lien_id):
        return error_page(request, 400, "lien_id: not an id")
    call = (
        ChaincodeCall(act.function, [lien_id])
        if act.model is None
        else call_of(act.function, act.model, {f: values.get(f, "") for f in act.fields}, lien_id)
    )
    result = call if isinstance(call, Refusal) else await submit(request, user, call)
    if isinstance(result, Refusal):
        return await _page(
            request, user, lien_id, refusal=result, kept={"form": name, **values}, status_code=result.status
        )
    return RedirectResponse(f"/liens/{quote(lien_id)}/desk?done={name}", status_code=303)
