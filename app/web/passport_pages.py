"""The public pages: a vehicle's passport (by scanned code or VIN) and the scan page."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.ledger.port import LedgerError
from app.web import data
from app.web.pages import (
    csrf_refused,
    ledger_error_page,
    render,
    scanner_caller,
    state_of,
)
from app.web.session import (
    csrf_ok,
)

router = APIRouter(include_in_schema=False)


# --- passport and scanning (public) --------------------------------------------------------------


async def _passport_page(request: Request, vin: str, verdict: dict[str, Any] | None) -> HTMLResponse:
    state = state_of(request)
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
    state = state_of(request)
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
    state = state_of(request)
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

    state = state_of(request)
    if not csrf_ok(state, request, csrf):
        return csrf_refused(request)
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
