"""Floor plan: floor checks — open, scan (QR text or photo, or VIN), close with the cars not seen."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from pydantic import Field

from app.api.deps import CurrentUser, State
from app.api.models import Strict, TxResponse
from app.api.reads import evaluate
from app.api.writes import WriteCtx
from app.services import floorplan
from app.services.errors import TooLarge
from chaincode.mortgage.models import Vin
from chaincode.mortgage.models.fields import Km, ShortText
from chaincode.mortgage.models.floorplan import FloorCheckIn, Latitude, Longitude, ScanIn

router = APIRouter(prefix="/floor-plan/checks", tags=["floor plan"])

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class ScanBody(Strict):
    """One scan: the decoded QR text (its signature is checked here) or the VIN, where, and mileage."""

    qr_text: Annotated[str | None, Field(min_length=1, max_length=2000)] = None
    vin: Vin | None = None
    place: ShortText
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    odometer_km: Km | None = None


@router.post("", status_code=201, response_model=TxResponse, summary="Open a floor check (lender)")
async def open_floor_check(body: FloorCheckIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("OpenFloorCheck", [floorplan.as_json(body)], status_code=201)


@router.post("/{check_id}/scans", response_model=TxResponse, summary="A car seen on the lot")
async def scan(check_id: IdPath, body: ScanBody, state: State, w: WriteCtx):  # type: ignore[no-untyped-def]
    code_id = floorplan.code_id_of(state.qr, body.qr_text) if body.qr_text else None
    item = ScanIn(
        code_id=code_id,
        vin=None if code_id else body.vin,
        place=body.place,
        latitude=body.latitude,
        longitude=body.longitude,
        odometer_km=body.odometer_km,
    )
    return await w.submit("ScanFloorCheck", floorplan.scan_args(check_id, item))


@router.post(
    "/{check_id}/photo-scans", response_model=TxResponse, summary="A car seen: a photo of its QR code"
)
async def photo_scan(  # type: ignore[no-untyped-def]
    check_id: IdPath,
    state: State,
    w: WriteCtx,
    image: Annotated[UploadFile, File()],
    place: Annotated[str, Form(min_length=1, max_length=100)],
    latitude: Annotated[Decimal | None, Form()] = None,
    longitude: Annotated[Decimal | None, Form()] = None,
    odometer_km: Annotated[int | None, Form(ge=0)] = None,
):
    content = await image.read(state.settings.max_upload_bytes + 1)
    if len(content) > state.settings.max_upload_bytes:
        raise TooLarge("image: too large")
    code_id = await asyncio.to_thread(floorplan.code_id_of_photo, state.qr, content)
    item = ScanIn(
        code_id=code_id, place=place, latitude=latitude, longitude=longitude, odometer_km=odometer_km
    )
    return await w.submit("ScanFloorCheck", floorplan.scan_args(check_id, item))


@router.post("/{check_id}/close", response_model=TxResponse, summary="Close: the financed cars not seen")
async def close_floor_check(check_id: IdPath, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("CloseFloorCheck", [check_id])


@router.get("/{check_id}", summary="The check and its scans")
async def get_floor_check(state: State, user: CurrentUser, check_id: IdPath) -> Any:
    return await evaluate(state, user.caller, "GetFloorCheck", check_id)
