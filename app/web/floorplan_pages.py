"""Floor-plan pages (issue 19): the dealer's lines, stock and curtailments due; the bank's portfolio,
exposure per dealer and alerts; the regulator's totals; the phone floor check (photo of each car's QR
code → scan on the ledger; close → the financed cars not seen)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.api.deps import AuthUser
from app.api.reads import reader
from app.api.writes import WriteContext
from app.ledger.port import LedgerError
from app.services import floorplan
from app.services.errors import ServiceError
from app.users.roles import BANKS, Role
from app.web.pages import error_page, form_writer, ledger_error_page, need_login, render, state_of
from chaincode.mortgage.models.floorplan import FloorCheckIn, ScanIn

router = APIRouter(include_in_schema=False)

ID_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
CHECK_ROLES = frozenset({Role.loan_officer, Role.field_auditor})
DONE = {"scanned": "scan recorded", "opened": "floor check opened", "closed": "floor check closed"}


@router.get("/floor-plan", response_model=None)
async def floor_plan_page(request: Request) -> Response:
    """One page, by who is looking: a dealer its lines, a bank its portfolio, the regulator totals."""
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    state = state_of(request)
    read, caller = reader(state), user.caller
    msp = user.user.msp_id
    try:
        if user.role is Role.regulator or user.role is Role.auditor:
            totals = await floorplan.totals(read, caller)
            exposure = await floorplan.exposure(read, caller)
            return render(request, "floorplan.html", view="totals", totals=totals, exposure=exposure)
        lines = await floorplan.lines(read, caller, with_alerts=msp in BANKS)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    view = "bank" if msp in BANKS else "dealer"
    exposure = await floorplan.exposure(read, caller)
    can_check = msp in BANKS and user.role in CHECK_ROLES and not state.settings.read_only
    return render(request, "floorplan.html", view=view, lines=lines, exposure=exposure, can_check=can_check)


def _checker(request: Request, csrf: str) -> AuthUser | Response:
    user = form_writer(request, csrf)
    if isinstance(user, Response):
        return user
    if user.user.msp_id not in BANKS or user.role not in CHECK_ROLES:
        return error_page(
            request, 403, "access rule: floor checks need a bank's loan_officer or field_auditor"
        )
    return user


def _message(response: Response) -> str:
    try:
        return str(json.loads(bytes(response.body))["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


@router.post("/floor-plan/checks", response_model=None)
async def open_check(
    request: Request,
    csrf: Annotated[str, Form()],
    check_id: Annotated[str, Form(max_length=64)],
    line_id: Annotated[str, Form(max_length=64)],
    location: Annotated[str, Form(max_length=100)],
) -> Response:
    user = _checker(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    try:
        body = FloorCheckIn(check_id=check_id, line_id=line_id, location=location)
    except ValueError as exc:
        return error_page(request, 400, f"floor check: {exc}")
    ctx = WriteContext(state_of(request), user, None, user.user.qualified_name)
    response = await ctx.submit("OpenFloorCheck", [floorplan.as_json(body)])
    if response.status_code >= 300:
        return error_page(request, response.status_code, _message(response))
    return RedirectResponse(f"/floor-plan/checks/{check_id}?done=opened", status_code=303)


@router.get("/floor-plan/checks/{check_id}", response_model=None)
async def check_page(request: Request, check_id: str) -> Response:
    """The phone page of a floor check: take a photo of each car's code; the list fills as you go."""
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if not ID_SHAPE.match(check_id):
        return error_page(request, 400, "check_id: not an id")
    state = state_of(request)
    try:
        answer = await floorplan.open_check(reader(state), user.caller, check_id)
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    done = DONE.get(request.query_params.get("done", ""))
    problem = request.query_params.get("problem")  # only our own fixed codes are shown
    problem_text = {
        "image": "no readable QR code in the photo",
        "code": "not a code of the vehicle office",
    }.get(problem or "")
    return render(
        request,
        "floorcheck.html",
        check=answer["check"],
        scans=answer["scans"],
        message=done,
        problem=problem_text,
        can_scan=user.user.msp_id in BANKS and user.role in CHECK_ROLES,
    )


@router.post("/floor-plan/checks/{check_id}/scan", response_model=None)
async def scan_photo(
    request: Request,
    check_id: str,
    csrf: Annotated[str, Form()],
    image: Annotated[UploadFile, File()],
    place: Annotated[str, Form(min_length=1, max_length=100)],
    odometer_km: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    user = _checker(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    if not ID_SHAPE.match(check_id):
        return error_page(request, 400, "check_id: not an id")
    state = state_of(request)
    content = await image.read(state.settings.max_upload_bytes + 1)
    if len(content) > state.settings.max_upload_bytes:
        return error_page(request, 413, "image: too large")
    try:
        code_id = await asyncio.to_thread(floorplan.code_id_of_photo, state.qr, content)
    except ServiceError as exc:
        code = "image" if str(exc).startswith("image") else "code"
        return RedirectResponse(
            f"/floor-plan/checks/{check_id}?{urlencode({'problem': code})}", status_code=303
        )
    try:
        scan = ScanIn(code_id=code_id, place=place, odometer_km=int(odometer_km) if odometer_km else None)
    except ValueError as exc:
        return error_page(request, 400, f"scan: {exc}")
    ctx = WriteContext(state, user, None, user.user.qualified_name)
    response = await ctx.submit("ScanFloorCheck", floorplan.scan_args(check_id, scan))
    if response.status_code >= 300:
        return error_page(request, response.status_code, _message(response))
    return RedirectResponse(f"/floor-plan/checks/{check_id}?done=scanned", status_code=303)


@router.post("/floor-plan/checks/{check_id}/close", response_model=None)
async def close_check(request: Request, check_id: str, csrf: Annotated[str, Form()]) -> Response:
    user = _checker(request, csrf)
    if not isinstance(user, AuthUser):
        return user
    if not ID_SHAPE.match(check_id):
        return error_page(request, 400, "check_id: not an id")
    ctx = WriteContext(state_of(request), user, None, user.user.qualified_name)
    response = await ctx.submit("CloseFloorCheck", [check_id])
    if response.status_code >= 300:
        return error_page(request, response.status_code, _message(response))
    return RedirectResponse(f"/floor-plan/checks/{check_id}?done=closed", status_code=303)
