"""What every web page shares: rendering with the language and CSRF token, error pages, the login
redirect, the scanner identity public pages read as."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.api.deps import AuthUser, refuse_if_read_only
from app.api.errors import ApiError, redact_paths
from app.api.state import GatewayState
from app.ledger.port import Caller, LedgerError
from app.services import qr
from app.users.roles import Role
from app.web.i18n import LANG_COOKIE, LANGS, SEVERITY_ZH, pick_lang, translator, value_labeller
from app.web.session import (
    csrf_ok,
    csrf_token,
    session_user,
    set_csrf_cookie,
)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

HISTORY_ROLES = {Role.auditor, Role.regulator}


def state_of(request: Request) -> GatewayState:
    return request.app.state.gw  # type: ignore[no-any-return]


def scanner_caller(state: GatewayState) -> Caller:
    """The gateway's scanner identity: public pages read as it (rule public_status)."""
    return qr.scanner_caller(state.settings.orgs)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = state_of(request)
    lang = pick_lang(request)
    user = context.pop("user", None) or session_user(request, state)
    other = "zh" if lang == "en" else "en"
    query = dict(request.query_params)
    query["lang"] = other
    response = templates.TemplateResponse(
        request,
        name,
        {
            "t": translator(lang),
            "lang": lang,
            "user": user,
            "csrf": csrf_token(state, request),
            "switch_url": f"{request.url.path}?{urlencode(query)}",
            "severity_label": lambda s: severity_label(lang, s),
            "v": value_labeller(lang),
            **context,
        },
        status_code=status_code,
    )
    response.headers["Content-Language"] = "zh-CN" if lang == "zh" else "en"
    set_csrf_cookie(response, state, request)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def severity_label(lang: str, severity: str) -> str:
    return SEVERITY_ZH.get(severity, severity) if lang == "zh" else severity


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(
        request, "error.html", status_code=status, status=status, message=redact_paths(status, message)
    )


def ledger_error_page(request: Request, exc: LedgerError) -> HTMLResponse:
    status = exc.status if exc.status in (400, 403, 404, 409, 503) else 502
    return error_page(request, status, exc.message)


def need_login(request: Request) -> AuthUser | RedirectResponse:
    user = session_user(request, state_of(request))
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return user


def home_for(user: AuthUser) -> str:
    if user.user.msp_id == "RegulatorMSP" and user.role is not Role.auditor:
        return "/regulator"
    if user.role is Role.auditor:
        return "/audit"
    if user.user.msp_id in ("BankAMSP", "BankBMSP"):
        return "/lender"
    return "/"


def form_writer(request: Request, csrf: str) -> AuthUser | Response:
    """The signed-in caller of a form that writes, or the page to answer instead.

    Every writing form checks the same three things first: a session, the form's CSRF token, and that
    the gateway is not read-only for this caller; the page then checks its own role rule.
    """
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    state = state_of(request)
    if not csrf_ok(state, request, csrf):
        return csrf_refused(request)
    try:
        refuse_if_read_only(state, user)
    except ApiError as exc:
        return error_page(request, 403, exc.message)
    return user


def csrf_refused(request: Request) -> HTMLResponse:
    return error_page(request, 403, "the form is stale or came from another site (CSRF check failed)")
