"""Search certificates (issue 16): request one for a VIN (dealers, banks, the vehicle office), fetch it
as JSON or PDF, and check one online (public: what the PDF's QR code opens, as JSON)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import CurrentUser, State, Writer
from app.api.reads import reader
from app.api.routers.vehicles import VinPath
from app.services import qr as qr_service
from app.services.certificates import NUMBER, certificates
from app.services.errors import InvalidInput, field_error

router = APIRouter(tags=["certificates"])


@router.post(
    "/vehicles/{vin}/certificates",
    status_code=201,
    summary="Issue a signed search certificate as of the current block (dealer, bank, office)",
)
async def issue_certificate(
    state: State,
    user: Writer,
    vin: VinPath,
    owner_consent_id: str | None = Query(default=None, pattern=r"^[A-Za-z0-9._:-]{1,64}$"),
) -> Any:
    """Read-only roles cannot record the certificate's hash, so they cannot ask for one. A buyer's org
    names the owner's signed ``certificate_release`` consent (``owner_consent_id``)."""
    document = await certificates(state).issue(
        reader(state), user.caller, vin, basis=user.role.value, owner_consent_id=owner_consent_id
    )
    number = document["certificate"]["certificate_number"]
    return {
        **document,
        "links": {"json": f"/api/v1/certificates/{number}", "pdf": f"/api/v1/certificates/{number}.pdf"},
    }


@router.get(
    "/certificates/{number}.pdf",
    summary="A certificate this gateway issued, as PDF (its requester)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def certificate_pdf(state: State, user: CurrentUser, number: str) -> Response:
    service = certificates(state)
    document = service.document(_number(number), user.caller)
    return Response(
        service.pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"'},
    )


@router.get(
    "/certificates/{number}", summary="A certificate this gateway issued, as signed JSON (its requester)"
)
async def certificate_json(state: State, user: CurrentUser, number: str) -> Any:
    return certificates(state).document(_number(number), user.caller)


@router.get(
    "/certificates/{number}/verification",
    summary="Public: is this certificate recorded on the ledger, with this SHA-256?",
)
async def certificate_verification(
    state: State, number: str, sha256: str | None = Query(default=None, pattern=r"^[0-9a-fA-F]{64}$")
) -> Any:
    caller = qr_service.scanner_caller(state.settings.orgs)
    return await certificates(state).check_online(reader(state), caller, _number(number), sha256)


def _number(number: str) -> str:
    if not re.fullmatch(NUMBER, number):
        raise field_error(InvalidInput, "number", "not a certificate number (SC-YYYYMMDD-XXXXXXXXXXXX)")
    return number
