"""The lender view: a bank's liens with alerts, and its forms (request, release, balance, consent)."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.api.deps import AuthUser
from app.api.models import LienRequestIn
from app.api.reads import reader
from app.api.writes import WriteContext
from app.ledger.port import LedgerError
from app.services import documents, reports
from app.services.errors import ServiceError
from app.users.roles import Role
from app.web import data
from app.web.pages import (
    error_page,
    form_writer,
    need_login,
    render,
    state_of,
)
from app.web.projection_pages import projection_context

router = APIRouter(include_in_schema=False)


# --- lender --------------------------------------------------------------------------------------


# What a lender form's redirect may announce: a fixed message per code (never text from the URL).
DONE_CODES = {
    "requested": "requested",
    "released": "released",
    "balance": "balance reported",
    "consent": "consent to the sale recorded",
}
LIEN_ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@router.get("/lender", response_model=None)
async def lender_page(request: Request) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    done = DONE_CODES.get(request.query_params.get("done", ""))
    lien = request.query_params.get("lien", "")
    message = f"{lien}: {done}" if done and LIEN_ID_SHAPE.match(lien) else None
    return await _lender_view(request, user, message, ok=message is not None)


async def _lender_view(
    request: Request, user: AuthUser, message: str | None, ok: bool, status_code: int = 200
) -> Response:
    """The lender page; ``message`` is a server-made outcome (a code's text or a refusal's reason)."""
    state = state_of(request)
    msp = user.user.msp_id
    if msp not in ("BankAMSP", "BankBMSP"):
        return error_page(request, 403, f"the lender view is for bank users ({msp} is not a bank)")
    try:  # from the read model: the bank's own liens, one page at a time
        page = await reports.lender_portfolio(state, msp, after=request.query_params.get("after", ""))
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    can_write = user.role is Role.loan_officer and not state.settings.read_only
    chart = request.query_params.get("projection", "")  # one loan's projected-LTV chart
    extra = await projection_context(request, user, chart) if LIEN_ID_SHAPE.match(chart) else {}
    return render(
        request, "lender.html", status_code=status_code, user=user, rows=page.rows, can_write=can_write,
        message=message, ok=ok, block_height=page.block_height, total=page.total, next_after=page.next_after,
        **extra,
    )  # fmt: skip


def _done(code: str, lien_id: str) -> RedirectResponse:
    return RedirectResponse(f"/lender?{urlencode({'done': code, 'lien': lien_id})}", status_code=303)


async def _refused(request: Request, user: AuthUser, message: str, status_code: int = 400) -> Response:
    """A refused form is answered with the page itself (no redirect carrying the text)."""
    return await _lender_view(request, user, message, ok=False, status_code=status_code)


def _writer(request: Request, csrf: str) -> AuthUser | Response:
    user = form_writer(request, csrf)
    if isinstance(user, Response):
        return user
    if user.role is not Role.loan_officer:
        return error_page(request, 403, "access rule: lien requests and releases need role loan_officer")
    return user


async def _outcome(request: Request, user: AuthUser, response: Response, code: str, lien_id: str) -> Response:
    if response.status_code < 300:
        return _done(code, lien_id)
    try:
        body = json.loads(bytes(response.body))
        message = body["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {response.status_code}"
    return await _refused(request, user, message, response.status_code)


@router.post("/lender/liens", response_model=None)
async def lender_request_lien(
    request: Request,
    csrf: Annotated[str, Form()],
    lien_id: Annotated[str, Form(max_length=64)],
    vin: Annotated[str, Form(max_length=17)],
    loan_number: Annotated[str, Form(max_length=64)],
    mortgage_contract_number: Annotated[str, Form(max_length=64)],
    secured_amount: Annotated[str, Form(max_length=32)],
    maturity_date: Annotated[str, Form(max_length=10)],
    currency: Annotated[str, Form(max_length=3)] = "CNY",
    consent_document_id: Annotated[str, Form(max_length=64)] = "",
    consent_file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    user = _writer(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    state = state_of(request)
    fields = {
        "lien_id": lien_id.strip(), "vin": vin.strip(), "loan_number": loan_number.strip(),
        "mortgage_contract_number": mortgage_contract_number.strip(),
        "secured_amount": secured_amount.strip(),
        "currency": currency.strip().upper(), "maturity_date": maturity_date.strip(),
        "consent_document_id": consent_document_id.strip() or "PENDING-UPLOAD",
    }  # fmt: skip
    try:
        lien = LienRequestIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return await _refused(request, user, f"{field}: {first['msg']}")
    ctx = WriteContext(state, user, None, user.user.qualified_name)
    upload = await consent_file.read(state.settings.max_upload_bytes + 1) if consent_file else b""
    if upload:
        if len(upload) > state.settings.max_upload_bytes or state.documents is None:
            return await _refused(request, user, "consent_file: too large or no document store", 413)
        doc_id = f"DOC-{secrets.token_hex(8)}"
        try:
            anchor = await documents.store_for_anchor(
                state.documents, reader(state), user.caller, doc_id, "owner_consent", upload, lien.vin
            )
        except ServiceError as exc:
            return await _refused(request, user, exc.message, exc.status)
        anchored = await ctx.submit("AnchorDocument", documents.anchor_args(anchor))
        if anchored.status_code >= 300:
            return await _outcome(request, user, anchored, "requested", lien.lien_id)
        lien = lien.model_copy(update={"consent_document_id": doc_id})
    elif not consent_document_id.strip():
        return await _refused(
            request,
            user,
            "consent_document_id: give the id of an anchored owner_consent document or upload one",
        )
    ctx = WriteContext(state, user, None, user.user.qualified_name)
    response = await ctx.submit("RequestLien", [lien.chaincode_json()])
    return await _outcome(request, user, response, "requested", lien.lien_id)


@router.post("/lender/liens/{lien_id}/release", response_model=None)
async def lender_release(request: Request, lien_id: str, csrf: Annotated[str, Form()]) -> Response:
    user = _writer(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    ctx = WriteContext(state_of(request), user, None, user.user.qualified_name)
    response = await ctx.submit("ReleaseLien", [lien_id])
    return await _outcome(request, user, response, "released", lien_id)


@router.post("/lender/liens/{lien_id}/balance", response_model=None)
async def lender_balance(
    request: Request,
    lien_id: str,
    csrf: Annotated[str, Form()],
    outstanding: Annotated[str, Form(max_length=32)],
) -> Response:
    """The lienholder reports today's outstanding balance (what a sale would pay it)."""
    user = _writer(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    state = state_of(request)
    try:
        lien = await data.evaluate(state, user.caller, "GetLien", lien_id)
    except LedgerError as exc:
        return await _refused(request, user, exc.message, 400 if exc.status < 500 else 502)
    as_of = date.today().isoformat()
    body = {"outstanding": outstanding.strip(), "currency": lien["currency"], "as_of": as_of}
    ctx = WriteContext(state, user, None, user.user.qualified_name)
    response = await ctx.submit("ReportLienBalance", [lien_id, json.dumps(body)])
    return await _outcome(request, user, response, "balance", lien_id)


@router.post("/lender/liens/{lien_id}/consent", response_model=None)
async def lender_consent(
    request: Request,
    lien_id: str,
    csrf: Annotated[str, Form()],
    foreclosing_lien_id: Annotated[str, Form(max_length=64)],
    below_reserve: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The holder consents to another lien's foreclosure sale discharging its own lien."""
    user = _writer(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    body = {"foreclosing_lien_id": foreclosing_lien_id.strip(), "below_reserve": below_reserve == "1"}
    ctx = WriteContext(state_of(request), user, None, user.user.qualified_name)
    response = await ctx.submit("ConsentToEnforcement", [lien_id, json.dumps(body)])
    return await _outcome(request, user, response, "consent", lien_id)
