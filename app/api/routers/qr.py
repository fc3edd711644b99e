"""QR identity: issue (registrar), render PNG/SVG, verify a scanned text, scan an uploaded photo.

Verification is public (no login needed, as on a dealer's phone): signature, revocation on the
ledger and the vehicle's live public status — public fields only, never owner data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import JSONResponse, Response

from app.api.deps import AuthUser, CurrentUser, State, optional_user
from app.api.errors import ApiError
from app.api.models import QrVerifyIn
from app.api.qr_service import QrService
from app.api.reads import evaluate
from app.api.routers.vehicles import VinPath
from app.api.state import GatewayState
from app.api.writes import WriteCtx
from app.ledger.port import Caller, ChaincodeRefused
from app.qr import CodeRecord, QrDecodeError, decode_qr_photo
from app.users.enrolment import EnrolmentError
from app.users.roles import SCANNER_USER, Role

log = logging.getLogger(__name__)

router = APIRouter(tags=["qr"])

Viewer = Annotated[AuthUser | None, Depends(optional_user)]


def _qr(state: GatewayState) -> QrService:
    if state.qr is None:
        raise ApiError(503, "QR identity is not configured on this gateway")
    return state.qr


def scanner_org(state: GatewayState) -> str:
    return "DealerMSP" if "DealerMSP" in state.settings.orgs else state.settings.orgs[0]


def scanner_caller(state: GatewayState) -> Caller:
    """The gateway's own identity for anonymous scans (rule public_status: any consortium role)."""
    return Caller(user_id=SCANNER_USER, msp_id=scanner_org(state), attributes={"role": Role.scanner.value})


def ensure_scanner_identity(state: GatewayState) -> str:
    """On the real network, enrol the gateway's ``qr-scanner`` identity (role scanner) with the org's
    fabric-ca once, so anonymous scans need no manual step (embedded mode issues it on first use).

    Returns what happened; a CA that cannot enrol it is logged, not fatal: the gateway still serves
    everything else and anonymous scans answer 401 naming the missing identity.
    """
    if state.settings.backend != "fabric":
        return "not needed (embedded)"
    org = scanner_org(state)
    has_identity = getattr(state.enroller, "has_identity", None)
    if has_identity is None:
        return "skipped: the enroller cannot tell whether the identity exists"
    if has_identity(org, SCANNER_USER):
        return "present"
    try:
        try:
            state.enroller.enroll(org, SCANNER_USER, Role.scanner, secrets.token_urlsafe(18))
        except EnrolmentError as exc:
            reset = getattr(state.enroller, "reset_and_enroll", None)
            if "already registered" not in str(exc) or reset is None:
                raise
            # the CA knows it but this gateway's wallet lost it (a new gateway host, a wiped wallet)
            reset(org, SCANNER_USER, Role.scanner, secrets.token_urlsafe(18))
    except EnrolmentError as exc:
        log.warning(
            "QR scanner identity %s@%s not enrolled (%s); anonymous scans will fail until it is "
            "(mledger users add %s --org %s --role scanner)",
            SCANNER_USER, org, exc, SCANNER_USER, org,
        )  # fmt: skip
        return f"failed: {exc}"
    log.info("QR scanner identity %s@%s enrolled", SCANNER_USER, org)
    return "enrolled"


@router.post(
    "/vehicles/{vin}/qr",
    status_code=201,
    summary="Issue the vehicle's QR identity (registrar); revokes the previous code",
)
async def issue_qr(state: State, vin: VinPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    service = _qr(state)
    issued = service.issuer.issue(vin)
    code = {"code_id": issued.code.code_id, "payload_sha256": issued.payload_sha256}
    base = f"/api/v1/vehicles/{vin}/qr"
    response = await w.submit(
        "IssueQrIdentity",
        [vin, json.dumps(code)],
        status_code=201,
        extra={
            "code_id": issued.code.code_id,
            "payload": issued.url,
            "png": f"{base}.png",
            "svg": f"{base}.svg",
        },
    )
    if response.status_code == 201:
        service.remember(issued.code.code_id, vin, issued.url)
    return response


@router.get("/vehicles/{vin}/qr", summary="The vehicle's current code (and its payload when held here)")
async def current_qr(state: State, user: CurrentUser, vin: VinPath) -> Any:
    record = await evaluate(state, user.caller, "GetQrIdentity", vin)
    if isinstance(record, dict) and state.qr is not None:
        record["payload"] = state.qr.payload(str(record.get("code_id")))
    return record


async def _current_payload(state: GatewayState, user: AuthUser, vin: str) -> str:
    record = await evaluate(state, user.caller, "GetQrIdentity", vin)
    payload = _qr(state).payload(str(record.get("code_id"))) if isinstance(record, dict) else None
    if payload is None:
        raise ApiError(404, f"vehicle {vin}: the current code was not issued by this gateway")
    return payload


@router.get(
    "/vehicles/{vin}/qr.png",
    summary="The current code as PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def qr_png(state: State, user: CurrentUser, vin: VinPath) -> Response:
    from app.qr import render_png

    payload = await _current_payload(state, user, vin)
    return Response(await asyncio.to_thread(render_png, payload), media_type="image/png")


@router.get(
    "/vehicles/{vin}/qr.svg",
    summary="The current code as SVG",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg(state: State, user: CurrentUser, vin: VinPath) -> Response:
    from app.qr import render_svg

    payload = await _current_payload(state, user, vin)
    return Response(await asyncio.to_thread(render_svg, payload), media_type="image/svg+xml")


async def _verify(state: GatewayState, viewer: AuthUser | None, text: str) -> JSONResponse:
    caller = viewer.caller if viewer is not None else scanner_caller(state)

    async def lookup(code_id: str) -> CodeRecord | None:
        try:
            record = await evaluate(state, caller, "ResolveQrCode", code_id)
        except ChaincodeRefused as exc:
            if exc.status == 404:
                return None
            raise
        status = await evaluate(state, caller, "GetVehicleStatus", record["vin"])
        return CodeRecord(
            vin=record["vin"],
            revoked=bool(record.get("revoked")),
            payload_sha256=record.get("payload_sha256"),
            status=status if isinstance(status, dict) else {},
        )

    verdict = await _qr(state).verifier.averify(text, lookup)
    body = {"valid": verdict.ok, "signature_valid": verdict.signature_valid, **verdict.public_view()}
    return JSONResponse(body)


@router.post("/qr/verify", summary="Verify a scanned code: signature, revocation, live public status")
async def verify_qr(state: State, viewer: Viewer, body: QrVerifyIn) -> JSONResponse:
    return await _verify(state, viewer, body.payload)


@router.post("/qr/scan", summary="Decode a photo of a QR code (zxing-cpp) and verify it")
async def scan_qr(
    state: State, viewer: Viewer, image: Annotated[UploadFile, File(description="A photo (PNG/JPEG)")]
) -> JSONResponse:
    data = await image.read(state.settings.max_upload_bytes + 1)
    if len(data) > state.settings.max_upload_bytes:
        raise ApiError(413, "image: too large", details=[{"field": "image", "reason": "too large"}])
    try:
        text = await asyncio.to_thread(decode_qr_photo, data)
    except QrDecodeError as exc:
        raise ApiError(400, f"image: {exc}", details=[{"field": "image", "reason": str(exc)}]) from exc
    response = await _verify(state, viewer, text)
    return response
