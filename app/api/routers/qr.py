"""QR identity: issue (registrar), render PNG/SVG, verify a scanned text, scan an uploaded photo.

Verification is public (no login needed, as on a dealer's phone): signature, revocation on the
ledger and the vehicle's live public status — public fields only, never owner data.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import JSONResponse, Response

from app.api.deps import AuthUser, CurrentUser, State, optional_user
from app.api.errors import ApiError
from app.api.models import QrVerifyIn
from app.api.reads import evaluate, reader
from app.api.routers.vehicles import VinPath
from app.api.state import GatewayState
from app.api.writes import WriteCtx
from app.qr import QrDecodeError, decode_qr_photo, render_png, render_svg
from app.services import qr as qr_service

router = APIRouter(tags=["qr"])

Viewer = Annotated[AuthUser | None, Depends(optional_user)]


@router.post(
    "/vehicles/{vin}/qr",
    status_code=201,
    summary="Issue the vehicle's QR identity (registrar); revokes the previous code",
)
async def issue_qr(state: State, vin: VinPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    service = qr_service.configured(state.qr)
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


@router.get(
    "/vehicles/{vin}/qr.png",
    summary="The current code as PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def qr_png(state: State, user: CurrentUser, vin: VinPath) -> Response:
    payload = await qr_service.current_payload(state.qr, reader(state), user.caller, vin)
    return Response(await asyncio.to_thread(render_png, payload), media_type="image/png")


@router.get(
    "/vehicles/{vin}/qr.svg",
    summary="The current code as SVG",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg(state: State, user: CurrentUser, vin: VinPath) -> Response:
    payload = await qr_service.current_payload(state.qr, reader(state), user.caller, vin)
    return Response(await asyncio.to_thread(render_svg, payload), media_type="image/svg+xml")


async def _verify(state: GatewayState, viewer: AuthUser | None, text: str) -> JSONResponse:
    caller = viewer.caller if viewer is not None else qr_service.scanner_caller(state.settings.orgs)
    return JSONResponse(await qr_service.verify(state.qr, reader(state), caller, text))


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
    return await _verify(state, viewer, text)
