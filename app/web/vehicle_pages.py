"""A vehicle's timeline and the download of its anchored documents (logged in)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.api.reads import reader
from app.ledger.port import LedgerError
from app.services import documents
from app.services.errors import ServiceError
from app.web import data
from app.web.pages import (
    error_page,
    ledger_error_page,
    need_login,
    render,
    state_of,
)

router = APIRouter(include_in_schema=False)


# --- timeline and documents (logged in) ----------------------------------------------------------


@router.get("/vehicles/{vin}/timeline", response_model=None)
async def timeline_page(request: Request, vin: str) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    state = state_of(request)
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
    state = state_of(request)
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
