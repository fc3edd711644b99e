"""Holds, registration changes and brands on a vehicle.

Holds (stolen on a police report, customs supervision, compulsory-scrap age) are set and lifted by the
vehicle office with a document and block new liens and transfers, naming the hold. Registration changes
(变更登记: plate, colour, engine number, owner contact) keep before/after in the vehicle's history and
in a change record, and raise one event naming every lienholder. Brands (total loss, salvage, flood)
are recorded by the insurer, stay on the public passport, and a branded vehicle takes a new lien only
when the bank acknowledged each brand for that lien.
"""

from __future__ import annotations

from typing import Any

import pydantic

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError

from . import law_keys as k
from . import rules
from . import store as s
from .args import arg_id, transient_model
from .context import MortgageContext
from .law_models import (
    BrandAcknowledgement,
    BrandAcknowledgementIn,
    BrandIn,
    HoldIn,
    OwnerContactIn,
    RegistrationChange,
    RegistrationChangeIn,
)
from .models import Brand, DocType, Hold, HoldKind, Lien, LienStatus, OwnerRecord, Vehicle, VehicleStatus
from .support import MortgageSupport

HOLD_DOCUMENTS: dict[HoldKind, set[DocType]] = {
    HoldKind.STOLEN: {DocType.POLICE_REPORT},
    HoldKind.CUSTOMS: {DocType.CUSTOMS_NOTICE},
    HoldKind.SCRAP_AGE: {DocType.SCRAP_NOTICE},
}


def _mark_event(vehicle: Vehicle, mark: HoldIn | BrandIn, **fields: Any) -> dict[str, Any]:
    """The payload of a hold or brand event: what was marked, by whom, and every lienholder (each
    must learn of a hold or brand on its collateral)."""
    return {
        "vin": vehicle.vin,
        "kind": mark.kind.value,
        "document_id": mark.document_id,
        **fields,
        "lienholders": vehicle.lienholders,
    }


def ensure_brands_acknowledged(ctx: MortgageContext, vehicle: Vehicle, lien: Lien) -> None:
    """A branded vehicle takes a new lien only with the bank's acknowledgement of every brand."""
    if not vehicle.brands:
        return
    ack = ctx.store.get(BrandAcknowledgement, k.BRANDACK, lien.lien_id)
    acknowledged = set(ack.brands) if ack else set()
    missing = sorted({b.kind.value for b in vehicle.brands} - {b.value for b in acknowledged})
    if missing:
        raise ConflictError(
            f"recording refused by rule 'brand_acknowledgement': vehicle {vehicle.vin} is branded "
            f"{', '.join(missing)}; lienholder {lien.lienholder} has not acknowledged it "
            f"for lien {lien.lien_id}"
        )


class HoldTransactions(MortgageSupport):
    @submit
    def set_hold(self, ctx: MortgageContext, vin: str, hold: HoldIn) -> Vehicle:
        vehicle = self._vehicle_arg(ctx, vin)
        if vehicle.status is VehicleStatus.SCRAPPED:
            raise ConflictError(f"hold refused: vehicle {vehicle.vin} is SCRAPPED")
        if any(h.kind is hold.kind for h in vehicle.holds):
            raise ConflictError(
                f"hold refused: vehicle {vehicle.vin} is already under a {hold.kind.value} hold"
            )
        self._document(ctx, hold.document_id, "document_id", HOLD_DOCUMENTS[hold.kind], vin=vehicle.vin)
        record = Hold(**hold.model_dump(), at=ctx.at)
        updated = self._save_vehicle(
            ctx, vehicle.model_copy(update={"holds": [*vehicle.holds, record]}), vehicle
        )
        ctx.emit("HoldSet", **_mark_event(vehicle, hold, authority=hold.authority))
        return updated

    @submit
    def lift_hold(self, ctx: MortgageContext, vin: str, hold: HoldIn) -> Vehicle:
        vehicle = self._vehicle_arg(ctx, vin)
        if not any(h.kind is hold.kind for h in vehicle.holds):
            raise ConflictError(f"lifting refused: vehicle {vehicle.vin} has no {hold.kind.value} hold")
        self._document(ctx, hold.document_id, "document_id", HOLD_DOCUMENTS[hold.kind], vin=vehicle.vin)
        remaining = [h for h in vehicle.holds if h.kind is not hold.kind]
        updated = self._save_vehicle(ctx, vehicle.model_copy(update={"holds": remaining}), vehicle)
        ctx.emit("HoldLifted", **_mark_event(vehicle, hold, authority=hold.authority))
        return updated

    @submit
    def change_registration(self, ctx: MortgageContext, vin: str, change: RegistrationChangeIn) -> Vehicle:
        """变更登记 by the vehicle office; owner contact arrives in the transient 'owner_contact'."""
        vehicle = self._vehicle_arg(ctx, vin)
        if vehicle.status is VehicleStatus.SCRAPPED:
            raise ConflictError(f"registration change refused: vehicle {vehicle.vin} is SCRAPPED")
        if ctx.store.exists(k.REGCHANGE, vehicle.vin, change.change_id):
            raise ConflictError(
                f"registration change {change.change_id} of vehicle {vehicle.vin} already exists"
            )
        self._document(ctx, change.document_id, "document_id", {DocType.REGISTRATION_CHANGE}, vin=vehicle.vin)
        changes: dict[str, dict[str, str | None]] = {}
        update: dict[str, Any] = {}
        for name in ("plate", "colour", "engine_number"):
            after = getattr(change, name)
            if after is not None and after != getattr(vehicle, name):
                changes[name] = {"before": getattr(vehicle, name), "after": after}
                update[name] = after
        if change.plate is not None and "plate" in update:
            taken = ctx.store.unique_id(ctx.store.get_raw(s.UNQ_PLATE, change.plate))
            if taken is None:  # a vehicle registered before plates had unique keys
                taken = next(iter(ctx.store.index_ids(s.IDX_PLATE, change.plate)), None)
            if taken:
                raise ConflictError(f"plate {change.plate} is already used by vehicle {taken}")
        contact = None
        if change.owner_contact:
            contact = self._owner_contact(ctx)
            owner = ctx.store.get_private(OwnerRecord, s.OWNER, vehicle.vin)
            if owner is None:
                raise ConflictError(
                    f"owner record of vehicle {vehicle.vin} not found in {s.OWNER_COLLECTION}"
                )
            new_owner = owner.model_copy(update=contact.model_dump(exclude_none=True))
            if new_owner != owner:
                ctx.store.put_private(new_owner, s.OWNER, vehicle.vin)
                ctx.store.put_private(
                    _ContactChange(
                        vin=vehicle.vin,
                        change_id=change.change_id,
                        before={"phone": owner.phone, "address": owner.address},
                        after={"phone": new_owner.phone, "address": new_owner.address},
                        at=ctx.at,
                    ),
                    k.REGCONTACT,
                    vehicle.vin,
                    change.change_id,
                )
                changes["owner_contact"] = {"before": "private", "after": "private"}
        if not changes:
            raise ConflictError(
                f"registration change refused: vehicle {vehicle.vin} already has these particulars"
            )
        updated = self._save_vehicle(ctx, vehicle.model_copy(update=update), vehicle)
        if "plate" in update:
            ctx.store.index_del(s.UNQ_PLATE, vehicle.plate)
            ctx.store.index_del(s.IDX_PLATE, vehicle.plate, vehicle.vin)  # the pre-unique-key entry, if any
            ctx.store.unique_put(s.UNQ_PLATE, update["plate"], vehicle.vin)
        ctx.store.put(
            RegistrationChange(
                change_id=change.change_id,
                vin=vehicle.vin,
                document_id=change.document_id,
                changes=changes,
                at=ctx.at,
                tx_id=ctx.tx_id,
            ),
            k.REGCHANGE,
            vehicle.vin,
            change.change_id,
        )
        ctx.emit(
            "RegistrationChanged",
            vin=vehicle.vin,
            change_id=change.change_id,
            changes=changes,
            lienholders=vehicle.lienholders,
        )
        return updated

    def _owner_contact(self, ctx: MortgageContext) -> OwnerContactIn:
        contact = transient_model(
            ctx.stub, "owner_contact", OwnerContactIn, "owner contact travels in the transient map"
        )
        if contact.phone is None and contact.address is None:
            raise BadRequestError("transient 'owner_contact': give phone or address")
        return contact

    @evaluate
    def get_registration_changes(self, ctx: MortgageContext, vin: str) -> list[RegistrationChange]:
        vin = self._vehicle_arg(ctx, vin).vin
        return ctx.store.scan(RegistrationChange, k.REGCHANGE, vin)

    @submit
    def record_brand(self, ctx: MortgageContext, vin: str, brand: BrandIn) -> Vehicle:
        """The insurer brands a vehicle total loss, salvage or flood (permanent, public)."""
        vehicle = self._vehicle_arg(ctx, vin)
        if any(b.kind is brand.kind for b in vehicle.brands):
            raise ConflictError(f"brand refused: vehicle {vehicle.vin} is already branded {brand.kind.value}")
        self._document(ctx, brand.document_id, "document_id", {DocType.LOSS_REPORT}, vin=vehicle.vin)
        if brand.claim_id is not None:
            policies = ctx.store.index_ids(s.IDX_POLVIN, vehicle.vin)
            if not any(ctx.store.exists(s.CLAIM, pid, brand.claim_id) for pid in policies):
                raise ConflictError(
                    f"brand refused: claim {brand.claim_id} is not a claim on vehicle {vehicle.vin}"
                )
        record = Brand(**brand.model_dump(), insurer=ctx.msp_id, at=ctx.at)
        updated = self._save_vehicle(
            ctx, vehicle.model_copy(update={"brands": [*vehicle.brands, record]}), vehicle
        )
        ctx.emit("VehicleBranded", **_mark_event(vehicle, brand, insurer=ctx.msp_id))
        return updated

    @submit
    def acknowledge_brands(
        self, ctx: MortgageContext, lien_id: str, ack: BrandAcknowledgementIn
    ) -> BrandAcknowledgement:
        """The requesting bank acknowledges the vehicle's brands for this lien before it is recorded."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, {LienStatus.REQUESTED}, "brand acknowledgement")
        vehicle = self._vehicle(ctx, lien.vin)
        branded = {b.kind for b in vehicle.brands}
        unknown = sorted(b.value for b in set(ack.brands) - branded)
        if unknown:
            raise BadRequestError(
                "invalid argument 'ack': field 'brands': "
                f"vehicle {vehicle.vin} is not branded {', '.join(unknown)}"
            )
        record = BrandAcknowledgement(
            lien_id=lien.lien_id,
            lienholder=lien.lienholder,
            brands=sorted(set(ack.brands)),
            at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, k.BRANDACK, lien.lien_id)
        ctx.emit(
            "BrandsAcknowledged",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            brands=[b.value for b in record.brands],
        )
        return record


class _ContactChange(pydantic.BaseModel):
    """Before/after of an owner-contact change, kept in the private collection only."""

    vin: str
    change_id: str
    before: dict[str, str | None]
    after: dict[str, str | None]
    at: str


__all__ = ["HoldTransactions", "ensure_brands_acknowledged"]
