"""The owner's own pages (phone-sized): sign-in by challenge with the key file of their enrolment (signed
on the device, never sent), then my vehicles and their liens, consents waiting for me and given, my
notifications, my personal data. Reads run as the vehicle office's service identity and are limited to
the owner's own account by :mod:`app.services.owner_portal`; another owner's vehicle is "not found"."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.owner_auth import OwnerContext, challenges, desk_user, owner_context
from app.api.reads import reader
from app.api.writes import WriteContext
from app.ledger.port import LedgerError
from app.services import owner_portal
from app.services.errors import ServiceError
from app.users.owner_signin import OwnerSignInError
from app.web.i18n import pick_lang, translator
from app.web.pages import csrf_refused, error_page, ledger_error_page, render, state_of
from app.web.session import SESSION_COOKIE, csrf_ok, set_session
from chaincode.mortgage.models.owners import OwnerSignatureIn

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=600)]


def _safe_next(target: str) -> str:
    return target if target.startswith("/owner") and not target.startswith("//") else "/owner"


async def owner_of(request: Request) -> OwnerContext | Response:
    """The signed-in owner, or the page to answer instead (sign-in for no or an ended session)."""
    state = state_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    signin = RedirectResponse(f"/owner/signin?next={quote(target)}", status_code=303)
    if not token or not owner_portal.is_owner_token(state.settings.signing_secret, token):
        return signin
    try:
        return await owner_context(state, token)
    except ServiceError as exc:
        return signin if exc.status == 403 else error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)


@router.get("/owner/signin", response_class=HTMLResponse)
async def signin_form(request: Request, next: str = "/owner") -> HTMLResponse:
    return render(request, "owner_signin.html", next=_safe_next(next), account_id="", problem="")


@router.post("/owner/signin", response_model=None)
async def signin_submit(
    request: Request,
    account_id: Annotated[str, Form(max_length=64)],
    challenge_id: Annotated[str, Form(max_length=64)] = "",
    signature: Field = "",
    next: Annotated[str, Form(max_length=500)] = "/owner",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    state = state_of(request)
    if not csrf_ok(state, request, csrf):
        return csrf_refused(request)
    try:
        account = await owner_portal.finish_sign_in(
            challenges(state),
            reader(state),
            owner_portal.desk_caller(state.settings.orgs),
            challenge_id=challenge_id,
            account_id=account_id.strip(),
            signature=signature,
        )
    except OwnerSignInError as exc:
        return render(
            request, "owner_signin.html", status_code=exc.status, next=_safe_next(next),
            account_id=account_id, problem=str(exc),
        )  # fmt: skip
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    token = owner_portal.issue_session(
        state.settings.signing_secret, state.settings.token_ttl_seconds, account
    )
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    set_session(redirect, state, request, token)
    return redirect


@router.get("/owner", response_class=HTMLResponse, response_model=None)
async def owner_home(request: Request, signed: str = "") -> Response:
    owner = await owner_of(request)
    if not isinstance(owner, OwnerContext):
        return owner
    state = state_of(request)
    try:
        vehicles = await owner_portal.my_vehicles(owner.read, owner.caller, owner.account)
        consents = await owner_portal.my_consents(owner.read, owner.caller, owner.account)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    notes = await owner_portal.my_notifications(state.notifier, owner.account)
    flash = ""
    if signed and any(c["consent_id"] == signed for c in consents["given"]):
        flash = f"{translator(pick_lang(request))('consent_signed')}: {signed}"
    return render(
        request, "owner_home.html", owner=owner.session.account_id, account=owner.account,
        vehicles=vehicles, consents=consents, notifications=notes, flash=flash,
    )  # fmt: skip


@router.get("/owner/vehicles/{vin}", response_class=HTMLResponse, response_model=None)
async def owner_vehicle(request: Request, vin: str) -> Response:
    owner = await owner_of(request)
    if not isinstance(owner, OwnerContext):
        return owner
    try:
        car = await owner_portal.my_vehicle(owner.read, owner.caller, owner.account, vin)
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return render(request, "owner_vehicle.html", owner=owner.session.account_id, car=car)


async def consent_for_signing(request: Request, consent_id: str) -> Response | dict[str, Any]:
    """The /owner/sign page's consent for a signed-in owner (their own only), or the page to answer."""
    owner = await owner_of(request)
    if not isinstance(owner, OwnerContext):
        return owner
    try:
        consent = await owner_portal.my_consent(owner.read, owner.caller, owner.account, consent_id)
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return {"consent": consent, "owner": owner.session.account_id}


@router.post("/owner/consents/{consent_id}/signature", response_model=None)
async def owner_sign_submit(
    request: Request, consent_id: str, signature: Field, csrf: Field = ""
) -> Response:
    owner = await owner_of(request)
    if not isinstance(owner, OwnerContext):
        return owner
    state = state_of(request)
    if not csrf_ok(state, request, csrf):
        return csrf_refused(request)
    try:
        await owner_portal.my_consent(owner.read, owner.caller, owner.account, consent_id)
        body = OwnerSignatureIn(signature=signature)
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except ValueError as exc:  # pydantic: not a signature
        return error_page(request, 400, f"signature: {exc}")
    ctx = WriteContext(state, desk_user(state), None, f"owner:{owner.session.account_id}")
    response = await ctx.submit("SignOwnerConsent", [consent_id, body.chaincode_json()])
    if response.status_code >= 300:
        message = json.loads(bytes(response.body)).get("error", {}).get("message", "refused")
        return error_page(request, response.status_code, message)
    return RedirectResponse(f"/owner?signed={quote(consent_id)}", status_code=303)
