"""The vehicle desk: one vehicle's holds, brands, registration and liens, with the forms of the people
who act on it — the vehicle office sets and lifts holds (seizure, stolen, customs, compulsory scrap)
and records registration changes (变更登记), the insurer records a brand, and anyone in the consortium
the access table allows runs the lapse sweep. Reached from the passport and the timeline."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import AuthUser
from app.ledger.port import LedgerError
from app.services.lien_law import ChaincodeCall, registration_change
from app.web import data
from app.web.desk import ID_SHAPE, Refusal, act_writer, build, call_of, can, form_values, read_if, submit
from app.web.pages import error_page, ledger_error_page, need_login, render, state_of
from chaincode.mortgage.law_models import BrandIn, HoldIn, OwnerContactIn, RegistrationChangeIn, SweepIn
from chaincode.mortgage.models import BrandKind, HoldKind, OrderIn

router = APIRouter(include_in_schema=False)

SEIZURE = "seizure"
HOLD_KINDS = (SEIZURE, *(k.value for k in HoldKind))
BRAND_KINDS = tuple(k.value for k in BrandKind)
#: What a redirect may announce: a fixed text per code (never text from the URL).
DONE = {
    "hold": "hold set",
    "lift": "hold lifted",
    "change": "registration changed",
    "brand": "brand recorded",
}
#: act → the form's fields
HOLD_FIELDS = ("document_id", "authority", "reason")
CHANGE_FIELDS = ("change_id", "document_id", "plate", "colour", "engine_number")


def _pick(values: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {n: values.get(n, "") for n in names}


@router.get("/vehicles/{vin}/desk", response_model=None)
async def vehicle_desk(request: Request, vin: str) -> Response:
    user = need_login(request)
    if isinstance(user, RedirectResponse):
        return user
    if not ID_SHAPE.match(vin):
        return error_page(request, 400, "vin: not a VIN")
    done = DONE.get(request.query_params.get("done", ""))
    return await _page(request, user, vin, message=done)


async def _page(
    request: Request,
    user: AuthUser,
    vin: str,
    *,
    message: str | None = None,
    refusal: Refusal | None = None,
    kept: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The desk as the user may see it: status for everyone, the record and changes for readers."""
    try:
        status = await data.evaluate(state_of(request), user.caller, "GetVehicleStatus", vin)
        vehicle = await read_if(request, user, "GetVehicle", vin)
        changes = await read_if(request, user, "GetRegistrationChanges", vin) or []
    except LedgerError as exc:
        return ledger_error_page(request, exc)
    acts = {f: can(request, user, f) for f in ("SetHold", "ChangeRegistration", "RecordBrand")}
    acts["Sweep"] = can(request, user, "SweepLienMaturities")
    return render(
        request, "vehicle_desk.html", status_code=status_code, user=user, s=status, vehicle=vehicle,
        changes=changes, acts=acts, message=message, refusal=refusal, kept=kept or {},
        hold_kinds=HOLD_KINDS, brand_kinds=BRAND_KINDS,
    )  # fmt: skip


async def _act(
    request: Request,
    vin: str,
    form: str,
    function: Callable[[dict[str, str]], str],
    make: Callable[[dict[str, str]], ChaincodeCall | Refusal],
) -> Response:
    """One act: the writer check for its function, the call from the form, then the new state (a
    redirect to the desk) or the page again with the refusal and the input kept."""
    values = await form_values(request)
    user = act_writer(request, values.pop("csrf", ""), function(values))
    if not isinstance(user, AuthUser):
        return user
    if not ID_SHAPE.match(vin):
        return error_page(request, 400, "vin: not a VIN")
    call = make(values)
    result = call if isinstance(call, Refusal) else await submit(request, user, call)
    if isinstance(result, Refusal):
        return await _page(
            request, user, vin, refusal=result, kept={"form": form, **values}, status_code=result.status
        )
    return RedirectResponse(f"/vehicles/{quote(vin)}/desk?done={form}", status_code=303)


async def _hold_act(request: Request, vin: str, form: str, seize: str, hold: str) -> Response:
    """Setting or lifting a hold: a seizure is the court's order (``seize``: SeizeVehicle /
    LiftSeizure); the others are holds of their kind (``hold``: SetHold / LiftHold), each with its
    document."""

    def function(values: dict[str, str]) -> str:
        return seize if values.get("kind") == SEIZURE else hold

    def make(values: dict[str, str]) -> ChaincodeCall | Refusal:
        if values.get("kind") == SEIZURE:
            return call_of(seize, OrderIn, _pick(values, HOLD_FIELDS), vin)
        return call_of(hold, HoldIn, _pick(values, ("kind", *HOLD_FIELDS)), vin)

    return await _act(request, vin, form, function, make)


@router.post("/vehicles/{vin}/desk/hold", response_model=None)
async def set_hold(request: Request, vin: str) -> Response:
    return await _hold_act(request, vin, "hold", "SeizeVehicle", "SetHold")


@router.post("/vehicles/{vin}/desk/lift", response_model=None)
async def lift_hold(request: Request, vin: str) -> Response:
    return await _hold_act(request, vin, "lift", "LiftSeizure", "LiftHold")


@router.post("/vehicles/{vin}/desk/change", response_model=None)
async def change_registration(request: Request, vin: str) -> Response:
    def make(values: dict[str, str]) -> ChaincodeCall | Refusal:
        change = build(RegistrationChangeIn, _pick(values, CHANGE_FIELDS))
        if isinstance(change, Refusal):
            return change
        contact = None
        if values.get("phone") or values.get("address"):
            built = build(OwnerContactIn, _pick(values, ("phone", "address")))
            if isinstance(built, Refusal):
                return built
            contact = built
        return registration_change(vin, change, contact)

    return await _act(request, vin, "change", lambda _: "ChangeRegistration", make)


@router.post("/vehicles/{vin}/desk/brand", response_model=None)
async def record_brand(request: Request, vin: str) -> Response:
    def make(values: dict[str, str]) -> ChaincodeCall | Refusal:
        return call_of("RecordBrand", BrandIn, _pick(values, ("kind", "document_id", "claim_id")), vin)

    return await _act(request, vin, "brand", lambda _: "RecordBrand", make)


@router.post("/vehicles/{vin}/desk/sweep", response_model=None)
async def maturity_sweep(request: Request, vin: str) -> Response:
    """The lapse sweep (consortium-wide) run from this desk; the page shows what it lapsed."""
    values = await form_values(request)
    user = act_writer(request, values.pop("csrf", ""), "SweepLienMaturities")
    if not isinstance(user, AuthUser):
        return user
    if not ID_SHAPE.match(vin):
        return error_page(request, 400, "vin: not a VIN")
    result = await submit(request, user, ChaincodeCall("SweepLienMaturities", [SweepIn().chaincode_json()]))
    if isinstance(result, Refusal):
        return await _page(request, user, vin, refusal=result, status_code=result.status)
    lapsed = [str(x.get("lien_id")) for x in result.get("lapsed", [])]
    message = (
        f"lapse sweep: {len(lapsed)} lapsed ({', '.join(lapsed) or '-'}), "
        f"{len(result.get('notices', []))} maturity notices"
    )
    return await _page(request, user, vin, message=message)
