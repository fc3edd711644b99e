"""Search certificate pages: a logged-in dealer, bank or office user downloads one from the passport,
and anyone opens the certificate's QR code to see whether it is recorded on the ledger unaltered."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import AuthUser
from app.api.reads import reader
from app.ledger.port import LedgerError
from app.services.certificates import NUMBER, certificates
from app.services.errors import ServiceError
from app.web.pages import error_page, form_writer, ledger_error_page, render, scanner_caller, state_of

router = APIRouter(include_in_schema=False)


@router.post("/passport/{vin}/certificate", response_model=None)
async def request_certificate(
    request: Request, vin: str, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Issue the certificate as the logged-in user and hand over its PDF."""
    user = form_writer(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    state = state_of(request)
    try:
        service = certificates(state)
        document = await service.issue(reader(state), user.caller, vin, basis=user.role.value)
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    number = document["certificate"]["certificate_number"]
    return Response(
        service.pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'},
    )


@router.get("/certificates/{number}", response_class=HTMLResponse)
async def certificate_check(request: Request, number: str, sha256: str = "") -> HTMLResponse:
    """What a certificate's QR code opens: the on-chain record and whether the hash matches it."""
    if not re.fullmatch(NUMBER, number) or (sha256 and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256)):
        return error_page(request, 400, "number: not a certificate number, or sha256: not a SHA-256")
    state = state_of(request)
    try:
        check = await certificates(state).check_online(
            reader(state), scanner_caller(state), number, sha256 or None
        )
    except ServiceError as exc:
        return error_page(request, exc.status, exc.message)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    return render(request, "certificate.html", check=check)
