"""Vehicles: registration, lookups, title transfer, seizure, scrapping, per-vehicle records, the disposal
that ends a foreclosure, and lien law on the vehicle: sale orders, holds, registration changes, brands."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from app.api.deps import CurrentUser, State
from app.api.models import (
    EXAMPLE_VIN,
    CourtOrder,
    DisposalIn,
    Line,
    Page,
    ScrapIn,
    Strict,
    TitleTransferIn,
    TxResponse,
    VehicleRegistration,
    VehicleStatus,
)
from app.api.reads import evaluate, query_args, with_blocks
from app.api.writes import WriteCtx
from app.services import lien_law
from chaincode.mortgage.law_models import (
    BrandIn,
    HoldIn,
    OwnerContactIn,
    RegistrationChangeIn,
    SaleOrderIn,
)
from chaincode.mortgage.models import HoldKind, Plate, Request

router = APIRouter(prefix="/vehicles", tags=["vehicles"])

VinPath = Annotated[str, Path(min_length=1, max_length=64, examples=[EXAMPLE_VIN]), Line]
PageSize = Annotated[int, Query(ge=1, le=200)]


@router.post("", status_code=201, response_model=TxResponse, summary="Register a vehicle (registrar)")
async def register_vehicle(body: VehicleRegistration, w: WriteCtx):  # type: ignore[no-untyped-def]
    transient, owner_hash = body.owner.transient()
    return await w.submit(
        "RegisterVehicle",
        [body.vehicle.chaincode_json()],
        transient=transient,
        status_code=201,
        extra={"owner_hash": owner_hash},
    )


@router.get("", response_model=Page, summary="Query vehicles by status, owner hash, lienholder or make")
async def query_vehicles(
    state: State,
    user: CurrentUser,
    status: VehicleStatus | None = None,
    owner_hash: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    lienholder: Annotated[str | None, Query(max_length=64), Line] = None,
    make: Annotated[str | None, Query(max_length=64), Line] = None,
    page_size: PageSize = 50,
    bookmark: Annotated[str, Query(max_length=512), Line] = "",
) -> Any:
    query = {"status": status, "owner_hash": owner_hash, "lienholder": lienholder, "make": make}
    return await evaluate(state, user.caller, "QueryVehicles", *query_args(query, page_size, bookmark))


@router.get("/by-plate/{plate}", summary="Look a vehicle up by its plate")
async def get_vehicle_by_plate(
    state: State, user: CurrentUser, plate: Annotated[str, Path(min_length=1, max_length=16), Line]
) -> Any:
    return await evaluate(state, user.caller, "GetVehicleByPlate", plate)


@router.get("/{vin}", summary="Get a vehicle record")
async def get_vehicle(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetVehicle", vin)


@router.get("/{vin}/status", summary="Public passport: status, liens, insurance, odometer, valuation")
async def get_vehicle_status(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetVehicleStatus", vin)


@router.get("/{vin}/owner", summary="The owner's private record (TrafficAuthority, lienholders, regulator)")
async def get_owner(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetOwner", vin)


@router.post("/{vin}/transfer", response_model=TxResponse, summary="Transfer title (registrar)")
async def transfer_title(vin: VinPath, body: TitleTransferIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    transient, owner_hash = body.new_owner.transient()
    transfer: dict[str, Any] = {"new_owner_hash": owner_hash, "reason": body.reason}
    if body.document_id:
        transfer["document_id"] = body.document_id
    if body.lienholder_consent_document_id:
        transfer["lienholder_consent_document_id"] = body.lienholder_consent_document_id
    return await w.submit("TransferTitle", [vin, json.dumps(transfer)], transient=transient)


@router.post("/{vin}/seizure", response_model=TxResponse, summary="Seize / freeze a vehicle (registrar)")
async def seize_vehicle(vin: VinPath, body: CourtOrder, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SeizeVehicle", [vin, body.chaincode_json()])


@router.post("/{vin}/seizure/lift", response_model=TxResponse, summary="Lift a seizure (registrar)")
async def lift_seizure(vin: VinPath, body: CourtOrder, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("LiftSeizure", [vin, body.chaincode_json()])


@router.post("/{vin}/scrap", response_model=TxResponse, summary="Scrap a vehicle (registrar)")
async def scrap_vehicle(vin: VinPath, body: ScrapIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("ScrapVehicle", [vin, body.document_id])


@router.get("/{vin}/history", summary="History of the vehicle key with tx ids and blocks (auditors)")
async def vehicle_history(state: State, user: CurrentUser, vin: VinPath) -> Any:
    entries = await evaluate(state, user.caller, "GetVehicleHistory", vin)
    return await with_blocks(state, entries)


@router.get("/{vin}/insurance", summary="Insurance policies and their claims")
async def vehicle_insurance(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetInsurancePolicies", vin)


@router.get("/{vin}/maintenance", summary="Maintenance records")
async def vehicle_maintenance(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetMaintenanceRecords", vin)


@router.get("/{vin}/odometer", summary="Odometer: the maximum reading and anomalies")
async def vehicle_odometer(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetOdometer", vin)


@router.get("/{vin}/valuations", summary="All valuations of the vehicle")
async def vehicle_valuations(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetValuations", vin)


@router.get("/{vin}/valuations/latest", summary="The latest valuation, with staleness")
async def vehicle_latest_valuation(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetLatestValuation", vin)


@router.get("/{vin}/documents", summary="Documents anchored for the vehicle")
async def vehicle_documents(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetDocuments", json.dumps({"vin": vin}))


@router.post(
    "/{vin}/disposal",
    response_model=TxResponse,
    summary="Complete the disposal: proceeds by priority, title to the buyer (foreclosing holder)",
)
async def complete_disposal(vin: VinPath, body: DisposalIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    transient, buyer_hash = body.buyer.transient()
    disposal = {
        "sale_price": str(body.sale_price),
        "currency": body.currency,
        "buyer_owner_hash": buyer_hash,
        "sale_document_id": body.sale_document_id,
        "mode": body.mode,
        "costs": str(body.costs),
    }
    if body.costs_document_id is not None:
        disposal["costs_document_id"] = body.costs_document_id
    return await w.submit("CompleteDisposal", [vin, json.dumps(disposal)], transient=transient)


# --- lien law (sale orders, holds, registration changes, brands) --------------------


def _json(body: Request) -> str:
    return body.model_dump_json(exclude_none=True)


@router.post(
    "/{vin}/sale-orders",
    response_model=TxResponse,
    summary="Anchor a court's sale order (registrar): sale free of every lien",
)
async def record_sale_order(vin: VinPath, body: SaleOrderIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordSaleOrder", [vin, _json(body)])


@router.get(
    "/{vin}/enforcement",
    summary="What a disposal needs now: seniors, consents, court order, reserve, claims",
)
async def get_enforcement(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetEnforcement", vin)


@router.get("/{vin}/surpluses", summary="Sale surpluses owed to former owners")
async def get_surpluses(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetSurpluses", vin)


class HoldLiftIn(Strict):
    document_id: Annotated[str, Field(min_length=1, max_length=64)]
    authority: Annotated[str, Field(min_length=1, max_length=100)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.post("/{vin}/holds", response_model=TxResponse, summary="Set a hold")
async def set_hold(vin: VinPath, body: HoldIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("SetHold", [vin, _json(body)])


@router.post("/{vin}/holds/{kind}/lift", response_model=TxResponse, summary="Lift a hold")
async def lift_hold(vin: VinPath, kind: HoldKind, body: HoldLiftIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    hold = HoldIn(kind=kind, **body.model_dump())
    return await w.submit("LiftHold", [vin, _json(hold)])


class RegistrationChangeBody(Strict):
    """变更登记; ``owner_contact`` goes to the private collection through the transient map."""

    change_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
    document_id: Annotated[str, Field(min_length=1, max_length=64)]
    plate: Plate | None = None
    colour: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    engine_number: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    owner_contact: OwnerContactIn | None = None


@router.patch("/{vin}", response_model=TxResponse, summary="Registration change (registrar)")
async def change_registration(vin: VinPath, body: RegistrationChangeBody, w: WriteCtx):  # type: ignore[no-untyped-def]
    change = RegistrationChangeIn(**body.model_dump(exclude_none=True, exclude={"owner_contact"}))
    call = lien_law.registration_change(vin, change, body.owner_contact)
    return await w.submit(call.function, call.args, transient=call.transient)


@router.get("/{vin}/registration-changes", summary="Registration changes")
async def registration_changes(state: State, user: CurrentUser, vin: VinPath) -> Any:
    return await evaluate(state, user.caller, "GetRegistrationChanges", vin)


@router.post("/{vin}/brands", response_model=TxResponse, summary="Brand (insurer)")
async def record_brand(vin: VinPath, body: BrandIn, w: WriteCtx):  # type: ignore[no-untyped-def]
    return await w.submit("RecordBrand", [vin, _json(body)])
