"""The web pages, mounted at the root of the gateway: passport (public), scan, login, timeline,
lender, auditor (with CSV) and regulator views. Server-rendered Jinja2, a few lines of JS for the camera.

Reads run as the logged-in user (or, for the public passport, as the gateway's scanner identity),
so the chaincode's access rules decide what each page may show.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app.api.deps import AuthUser, refuse_if_read_only
from app.api.errors import ApiError, redact_paths
from app.api.models import LienRequestIn
from app.api.reads import reader
from app.api.state import GatewayState
from app.api.writes import WriteContext
from app.ledger.port import Caller, LedgerError
from app.services import documents, qr
from app.services.errors import ServiceError
from app.users.roles import Role
from app.web import data
from app.web.charts import SEVERITY_COLOURS, bar_chart, grouped_columns
from app.web.i18n import LANG_COOKIE, LANGS, SEVERITY_ZH, pick_lang, translator, value_labeller
from app.web.session import (
    csrf_ok,
    csrf_token,
    end_session,
    login,
    session_user,
    set_csrf_cookie,
    set_session,
    user_for_token,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_FILES = {"style.css": "text/css", "scan.js": "text/javascript"}
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

HISTORY_ROLES = {Role.auditor, Role.regulator}


def _state(request: Request) -> GatewayState:
    return request.app.state.gw  # type: ignore[no-any-return]


def scanner_caller(state: GatewayState) -> Caller:
    """The gateway's scanner identity: public pages read as it (rule public_status)."""
    return qr.scanner_caller(state.settings.orgs)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = _state(request)
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
    user = session_user(request, _state(request))
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


# --- static, home, language, login ---------------------------------------------------------------


@router.get("/web/static/{name}")
async def static(name: str) -> Response:
    media = STATIC_FILES.get(name)
    if media is None:
        return Response(status_code=404)
    return FileResponse(HERE / "static" / name, media_type=media, headers={"Cache-Control": "max-age=300"})


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "") -> HTMLResponse:
    return render(request, "login.html", next=next, failed=False)


def _safe_next(target: str) -> str | None:
    return target if target.startswith("/") and not target.startswith("//") else None


def _csrf_refused(request: Request) -> HTMLResponse:
    return error_page(request, 403, "the form is stale or came from another site (CSRF check failed)")


@router.post("/login", response_model=None)
async def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    state = _state(request)
    if not csrf_ok(state, request, csrf):
        return _csrf_refused(request)
    try:
        token = await login(state, request, username, password)
    except ApiError as exc:  # 429: locked out for a while
        response = render(request, "login.html", status_code=exc.status, next=next, failed=False, locked=True)
        response.headers.update(exc.headers or {})
        return response
    if token is None:
        return render(request, "login.html", status_code=401, next=next, failed=True)
    user = user_for_token(state, token)
    target = _safe_next(next) or (home_for(user) if user else "/")
    redirect = RedirectResponse(target, status_code=303)
    set_session(redirect, state, request, token)
    return redirect


@router.post("/logout", response_model=None)
async def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    state = _state(request)
    if not csrf_ok(state, request, csrf):
        return _csrf_refused(request)
    response = RedirectResponse("/", status_code=303)
    end_session(state, request, response)
    return response


# --- passport and scanning (public) --------------------------------------------------------------


async def _passport_page(request: Request, vin: str, verdict: dict[str, Any] | None) -> HTMLResponse:
    state = _state(request)
    try:
        passport = await data.passport(state, scanner_caller(state), vin)
    except LedgerError as exc:
        if verdict is not None:  # a genuine code for a vehicle we cannot read: still show the verdict
            return render(request, "passport.html", status_code=exc.status if exc.status == 404 else 502,
                          passport=None, verdict=verdict, problem=exc.message)  # fmt: skip
        return ledger_error_page(request, exc)
    passport.verdict = verdict
    return render(request, "passport.html", passport=passport, verdict=verdict, problem=None)


@router.get("/v/{payload}", response_class=HTMLResponse)
async def scanned_code(request: Request, payload: str, s: str = "") -> HTMLResponse:
    """What a scanned QR code opens: the signature and ledger check, then the live public status."""
    state = _state(request)
    text = f"{state.settings.public_base_url.rstrip('/')}/v/{payload}?{urlencode({'s': s})}"
    try:
        verdict = await data.verify_code(state, scanner_caller(state), text)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    vin = verdict.get("vin")
    if not vin:
        return render(request, "passport.html", status_code=400, passport=None, verdict=verdict, problem=None)
    return await _passport_page(request, str(vin), verdict)


@router.get("/passport", response_model=None)
async def passport_lookup(request: Request, vin: str = "") -> Response:
    vin = vin.strip()
    if not vin:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/passport/{quote(vin)}", status_code=303)


@router.get("/passport/{vin}", response_class=HTMLResponse)
async def passport_by_vin(request: Request, vin: str) -> HTMLResponse:
    """The same public status by VIN; the current code is checked when this gateway holds its payload."""
    state = _state(request)
    verdict = None
    try:
        passport = await data.passport(state, scanner_caller(state), vin)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    code_id = passport.status.get("qr_code_id")
    payload = state.qr.payload(str(code_id)) if (state.qr is not None and code_id) else None
    if payload:
        verdict = await data.verify_code(state, scanner_caller(state), payload)
    passport.verdict = verdict
    return render(request, "passport.html", passport=passport, verdict=verdict, problem=None, by_vin=True)


@router.get("/scan", response_class=HTMLResponse)
async def scan_page(request: Request) -> HTMLResponse:
    return render(request, "scan.html", problem=None)


@router.post("/scan", response_model=None)
async def scan_upload(
    request: Request, image: Annotated[UploadFile, File()], csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Photo upload for browsers without BarcodeDetector: decoded here (zxing-cpp), then verified."""
    from app.qr import QrDecodeError, decode_qr_photo
    from app.qr.payload import parse_scanned

    state = _state(request)
    if not csrf_ok(state, request, csrf):
        return _csrf_refused(request)
    content = await image.read(state.settings.max_upload_bytes + 1)
    if len(content) > state.settings.max_upload_bytes:
        return render(request, "scan.html", status_code=413, problem="image: too large")
    try:
        text = await asyncio.to_thread(decode_qr_photo, content)
    except QrDecodeError as exc:
        return render(request, "scan.html", status_code=400, problem=f"image: {exc}")
    try:
        signed = parse_scanned(text)
    except Exception as exc:
        return render(request, "scan.html", status_code=400, problem=f"code: {exc}")
    from app.qr.payload import b64url

    target = f"/v/{b64url(signed.code.to_bytes())}?s={b64url(signed.signature)}"
    return RedirectResponse(target, status_code=303)


# --- timeline and documents (logged in) ----------------------------------------------------------


@router.get("/vehicles/{vin}/timeline", response_model=None)
async def timeline_page(request: Request, vin: str) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    state = _state(request)
    try:
        status = await data.passport(state, user.caller, vin)
        entries = await data.timeline(state, user.caller, vin)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return render(request, "timeline.html", user=user, vin=vin, status=status.status, entries=entries)


@router.get("/web/documents/{document_id}", response_model=None)
async def document_download(request: Request, document_id: str) -> Response:
    """Download an anchored document with the session (same rules as the API's download)."""
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    state = _state(request)
    try:
        anchor = await data.evaluate(state, user.caller, "GetDocument", document_id)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    try:
        content = await documents.fetch_decrypted(
            state.documents, reader(state), user.caller, user.role, document_id, anchor
        )
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return Response(
        content,
        media_type="application/octet-stream",
        headers=documents.download_headers(document_id, anchor),
    )


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
    state = _state(request)
    msp = user.user.msp_id
    if msp not in ("BankAMSP", "BankBMSP"):
        return error_page(request, 403, f"the lender view is for bank users ({msp} is not a bank)")
    try:
        liens = await data.query_all(state, user.caller, "QueryLiens", {"lienholder": msp})
        rows = await data.lien_rows(state, user.caller, liens)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    can_write = user.role is Role.loan_officer and not state.settings.read_only
    return render(
        request, "lender.html", status_code=status_code, user=user, rows=rows, can_write=can_write,
        message=message, ok=ok,
    )  # fmt: skip


def _done(code: str, lien_id: str) -> RedirectResponse:
    return RedirectResponse(f"/lender?{urlencode({'done': code, 'lien': lien_id})}", status_code=303)


async def _refused(request: Request, user: AuthUser, message: str, status_code: int = 400) -> Response:
    """A refused form is answered with the page itself (no redirect carrying the text)."""
    return await _lender_view(request, user, message, ok=False, status_code=status_code)


def _writer(request: Request, csrf: str) -> AuthUser | Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    state = _state(request)
    if not csrf_ok(state, request, csrf):
        return error_page(request, 403, "the form is stale or came from another site (CSRF check failed)")
    try:
        refuse_if_read_only(state, user)
    except ApiError as exc:
        return error_page(request, 403, exc.message)
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
    state = _state(request)
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
    ctx = WriteContext(_state(request), user, None, user.user.qualified_name)
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
    state = _state(request)
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
    ctx = WriteContext(_state(request), user, None, user.user.qualified_name)
    response = await ctx.submit("ConsentToEnforcement", [lien_id, json.dumps(body)])
    return await _outcome(request, user, response, "consent", lien_id)


# --- auditor -------------------------------------------------------------------------------------

CSV_COLUMNS = ("kind", "key", "tx_id", "block_number", "timestamp", "org", "status", "is_delete")


async def _audit_rows(request: Request, user: AuthUser, q: str) -> list[data.AuditRow]:
    return await data.audit_search(_state(request), user.caller, q) if q.strip() else []


@router.get("/audit", response_model=None)
async def audit_page(request: Request, q: str = "") -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.role not in HISTORY_ROLES:
        return error_page(request, 403, "access rule 'history_read': auditors of any org and the regulator")
    try:
        rows = await _audit_rows(request, user, q[:100])
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return render(request, "audit.html", user=user, q=q, rows=rows)


@router.get("/audit.csv", response_model=None)
async def audit_csv(request: Request, q: str = "") -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.role not in HISTORY_ROLES:
        return error_page(request, 403, "access rule 'history_read': auditors of any org and the regulator")
    try:
        rows = await _audit_rows(request, user, q[:100])
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, c) if getattr(row, c) is not None else "" for c in CSV_COLUMNS])
    ascii_name = "".join(c for c in q if (c.isascii() and c.isalnum()) or c in "-_")[:70] or "history"
    utf8_name = quote(f"audit-{q[:70]}.csv")
    disposition = f"attachment; filename=\"audit-{ascii_name}.csv\"; filename*=UTF-8''{utf8_name}"
    return Response(
        "\ufeff" + out.getvalue(),  # BOM: spreadsheet programs then read the Chinese plates right
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


# --- regulator -----------------------------------------------------------------------------------


@router.get("/regulator", response_model=None)
async def regulator_page(request: Request) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if user.user.msp_id != "RegulatorMSP" and user.role is not Role.auditor:
        return error_page(request, 403, "the dashboard is for the regulator and auditors")
    try:
        stats = await data.regulator_stats(_state(request), user.caller)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    t = translator(pick_lang(request))
    v = value_labeller(pick_lang(request))
    charts = {
        "status": bar_chart(t("counts_by_status"), [(v(s), n) for s, n in stats["counts"]]),
        "months": grouped_columns(
            t("liens_over_time"), [(m, (r, x)) for m, r, x in stats["months"]], [t("recorded"), t("released")]
        ),
        "ltv": bar_chart(t("ltv_distribution"), stats["ltv"], colours=["#2563eb"]),
        "severity": bar_chart(
            t("alerts_by_severity"),
            [(severity_label(pick_lang(request), s), n) for s, n in stats["severity"]],
            colours=[SEVERITY_COLOURS[s] for s, _ in stats["severity"]],
        ),
    }
    return render(request, "regulator.html", user=user, stats=stats, charts=charts)
