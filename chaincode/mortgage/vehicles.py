"""Vehicles: registration, look-ups, the public passport, owner data, title transfer, seizure, scrapping.

Holds, registration changes and brands on a vehicle are in :mod:`.holds`.
"""

from __future__ import annotations

from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import ConflictError, NotFoundError

from . import access, law_rules, rules
from . import store as s
from .args import arg_id, arg_plate, arg_vin
from .certificates import insurance_state, lienholders, vehicle_policies
from .context import MortgageContext
from .floorplan_alerts import ensure_not_floor_planned
from .models import (
    Config,
    DocType,
    OdometerState,
    OrderIn,
    OwnerRecord,
    PolicyStatus,
    Seizure,
    TransferIn,
    Valuation,
    Vehicle,
    VehicleIn,
    VehicleQuery,
    VehicleStatus,
)
from .models.owners import ConsentKind
from .owners import OwnerTransactions
from .rules import ENCUMBERING
from .support import pointer


class VehicleTransactions(OwnerTransactions):
    """The vehicle register kept by the vehicle office, and what others may read of it."""

    @submit
    def register_vehicle(self, ctx: MortgageContext, vehicle: VehicleIn) -> Vehicle:
        """Register a vehicle; the owner's personal data goes to ownerPrivate, its salted hash on chain."""
        existing, plate_holder = ctx.store.get_many((s.VEHICLE, vehicle.vin), (s.UNQ_PLATE, vehicle.plate))
        if existing:
            raise ConflictError(f"vehicle {vehicle.vin} is already registered")
        taken = ctx.store.unique_id(plate_holder)
        if taken:
            raise ConflictError(f"plate {vehicle.plate} is already used by vehicle {taken}")
        owner, salt, digest = self._transient_owner(ctx, None)
        record = Vehicle(
            **vehicle.model_dump(),
            owner_hash=digest,
            status=VehicleStatus.REGISTERED,
            registered_at=ctx.at,
            updated_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        record = self._save_vehicle(ctx, record, None)
        self._save_owner(ctx, vehicle.vin, owner, salt, digest)
        ctx.emit("VehicleRegistered", vin=record.vin, plate=record.plate, make=record.make, owner_hash=digest)
        return record

    @evaluate
    def get_vehicle(self, ctx: MortgageContext, vin: str) -> Vehicle:
        return self._vehicle_arg(ctx, vin)

    @evaluate
    def get_vehicle_by_plate(self, ctx: MortgageContext, plate: str) -> Vehicle:
        plate = arg_plate(plate)
        vin = ctx.store.unique_id(ctx.store.get_raw(s.UNQ_PLATE, plate))
        if vin is None:  # a vehicle registered before plates had unique keys
            vin = next(iter(ctx.store.index_ids(s.IDX_PLATE, plate)), None)
        if vin is None:
            raise NotFoundError(f"no vehicle with plate {plate}")
        return self._vehicle(ctx, vin)

    @evaluate
    def get_vehicle_status(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        """The public passport behind a QR scan: status and facts, nothing personal."""
        vin = arg_vin(vin)
        ctx.store.prefetch((s.VEHICLE, vin), (s.ODO, vin), (s.VALLATEST, vin), (s.QRVIN, vin), (s.CONFIG,))
        vehicle = self._vehicle(ctx, vin)
        policies = vehicle_policies(ctx, vin)
        valid = [
            p for p in policies if p.status is PolicyStatus.ACTIVE and p.valid_from <= ctx.today <= p.valid_to
        ]
        odo = ctx.store.get(OdometerState, s.ODO, vin)
        latest = self._latest_valuation(ctx, vin)
        qr_code = pointer(ctx, s.QRVIN, vin, "code_id")
        config = self._config(ctx)
        return {
            "vin": vehicle.vin,
            "plate": vehicle.plate,
            "make": vehicle.make,
            "model": vehicle.model,
            "trim": vehicle.trim,
            "year": vehicle.year,
            "status": vehicle.status.value,
            "encumbered": bool(vehicle.liens),
            "lien_count": len(vehicle.liens),
            "lienholders": lienholders(vehicle),
            "seized": vehicle.status is VehicleStatus.SEIZED,
            "holds": [h.kind.value for h in vehicle.holds],
            "brands": [
                {"kind": b.kind.value, "since": b.at[:10], "insurer": b.insurer} for b in vehicle.brands
            ],
            "insured": bool(valid),
            "insurance_valid_to": max((p.valid_to for p in valid), default=None),
            "odometer_km": odo.odometer_km if odo else None,
            "odometer_anomaly": bool(odo and odo.anomalies),
            "insurance": insurance_state(ctx, vin, policies)["state"],
            "latest_valuation": None if latest is None else self._public_valuation(ctx, latest, config),
            "qr_code_id": qr_code,
            "as_of": ctx.at,
        }

    def _public_valuation(self, ctx: MortgageContext, latest: Valuation, config: Config) -> dict[str, Any]:
        """The exact figure for those who may read valuations (rule credit_read); a band for the rest
        (dealers, insurers, QR scans), as the public passport shows it."""
        shown: dict[str, Any] = {
            "currency": latest.currency,
            "valued_at": latest.recorded_at,
            "stale": rules.is_stale(latest, config, ctx.now),
        }
        if access.CREDIT_READ.allows(ctx.msp_id, ctx.role):
            shown["value"] = latest.value
        else:
            low, high = rules.valuation_band(latest.value)
            shown.update(band_low=str(low), band_high=str(high))
        return shown

    @evaluate
    def query_vehicles(
        self, ctx: MortgageContext, query: VehicleQuery, page_size: int = 50, bookmark: str = ""
    ) -> dict[str, Any]:
        """Vehicles by status, owner hash, lienholder or make, one page at a time."""
        if query.status is not None:
            index, attrs = s.IDX_VSTATUS, [query.status.value]
        elif query.owner_hash is not None:
            index, attrs = s.IDX_OWNER, [query.owner_hash]
        elif query.lienholder is not None:
            index, attrs = s.IDX_VHOLDER, [query.lienholder]
        elif query.make is not None:
            index, attrs = s.IDX_MAKE, [query.make]
        else:
            index, attrs = s.VEHICLE, []
        vins, next_bookmark = ctx.store.page(index, attrs, page_size, bookmark)
        records = []
        for vin in vins:
            vehicle = ctx.store.get(Vehicle, s.VEHICLE, vin)
            if vehicle is None:
                continue
            if query.status is not None and vehicle.status is not query.status:
                continue
            if query.owner_hash is not None and vehicle.owner_hash != query.owner_hash:
                continue
            if query.lienholder is not None and query.lienholder not in vehicle.lienholders:
                continue
            if query.make is not None and vehicle.make != query.make:
                continue
            records.append(vehicle)
        return {"records": records, "bookmark": next_bookmark, "fetched": len(records)}

    @evaluate
    def get_owner(self, ctx: MortgageContext, vin: str) -> OwnerRecord:
        """Owner personal data (private collection): vehicle office, the vehicle's banks, the regulator."""
        vin = self._vehicle_arg(ctx, vin).vin
        if ctx.role == "owner" and vin not in self._owner_vins(ctx):
            raise access.object_rule_denied(
                "owner_self",
                f"vehicle {vin} is not held by the calling owner; an owner reads only their own data",
            )
        if ctx.msp_id in access.BANKS and not self._holds_lien(ctx, vin, ENCUMBERING):
            raise access.object_rule_denied(
                "owner_read_lienholder",
                f"{ctx.msp_id} holds no recorded lien on vehicle {vin} (a lien the vehicle office has "
                "not recorded gives no access to the owner's personal data)",
            )
        owner = ctx.store.get_private(OwnerRecord, s.OWNER, vin)
        if owner is None:
            raise NotFoundError(f"owner record of vehicle {vin} not found in collection {s.OWNER_COLLECTION}")
        return owner

    @submit
    def transfer_title(self, ctx: MortgageContext, vin: str, transfer: TransferIn) -> Vehicle:
        """Title to a new owner; while encumbered only with the lienholders' consent (and endorsement)."""
        vehicle = self._vehicle_arg(ctx, vin)
        ensure_not_floor_planned(ctx, vehicle, "transfer")
        rules.ensure_vehicle_status(
            vehicle,
            {VehicleStatus.REGISTERED, VehicleStatus.MORTGAGED, VehicleStatus.DISPOSED},
            "transfer",
        )
        law_rules.ensure_no_holds(vehicle, "transfer")
        if vehicle.liens:
            if transfer.lienholder_consent_document_id is None:
                raise ConflictError(
                    f"transfer refused: vehicle {vin} has recorded lien(s) {rules.describe_liens(vehicle)}"
                )
            self._document(
                ctx,
                transfer.lienholder_consent_document_id,
                "lienholder_consent_document_id",
                {DocType.LIENHOLDER_CONSENT},
                vin=vin,
            )
        if transfer.document_id is not None:
            self._document(ctx, transfer.document_id, "document_id", None, vin=vin)
        if transfer.new_owner_hash == vehicle.owner_hash:
            raise ConflictError(f"transfer refused: the new owner already holds the title of vehicle {vin}")
        owner, salt, digest = self._transient_owner(ctx, transfer.new_owner_hash)
        if transfer.owner_consent_id is not None:
            self._use_owner_consent(
                ctx,
                transfer.owner_consent_id,
                "owner_consent_id",
                ConsentKind.TRANSFER,
                vin,
                {"new_owner_hash": digest},
                f"transfer:{vin}:{ctx.tx_id}",
            )
        previous = vehicle.owner_hash
        updated = vehicle.model_copy(
            update={
                "owner_hash": digest,
                "status": VehicleStatus.MORTGAGED if vehicle.liens else VehicleStatus.REGISTERED,
            }
        )
        updated = self._save_vehicle(ctx, updated, vehicle)
        self._save_owner(ctx, vin, owner, salt, digest)
        ctx.emit(
            "TitleTransferred",
            vin=vin,
            previous_owner_hash=previous,
            new_owner_hash=digest,
            reason=transfer.reason,
            encumbered=bool(vehicle.liens),
            lienholders=vehicle.lienholders,
            **({"owner_consent_id": transfer.owner_consent_id} if transfer.owner_consent_id else {}),
        )
        return updated

    @submit
    def seize_vehicle(self, ctx: MortgageContext, vin: str, order: OrderIn) -> Vehicle:
        vehicle = self._vehicle_arg(ctx, vin)
        rules.ensure_vehicle_status(
            vehicle, {VehicleStatus.REGISTERED, VehicleStatus.MORTGAGED, VehicleStatus.DISPOSED}, "seizure"
        )
        self._document(
            ctx, order.document_id, "order.document_id", {DocType.SEIZURE_ORDER, DocType.COURT_ORDER}, vin=vin
        )
        seizure = Seizure(
            document_id=order.document_id, authority=order.authority, reason=order.reason, at=ctx.at
        )
        updated = vehicle.model_copy(update={"status": VehicleStatus.SEIZED, "seizure": seizure})
        updated = self._save_vehicle(ctx, updated, vehicle)
        ctx.emit("VehicleSeized", vin=vin, document_id=order.document_id, authority=order.authority)
        return updated

    @submit
    def lift_seizure(self, ctx: MortgageContext, vin: str, order: OrderIn) -> Vehicle:
        vehicle = self._vehicle_arg(ctx, vin)
        rules.ensure_vehicle_status(vehicle, {VehicleStatus.SEIZED}, "lifting a seizure")
        self._document(
            ctx, order.document_id, "order.document_id", {DocType.SEIZURE_ORDER, DocType.COURT_ORDER}, vin=vin
        )
        updated = vehicle.model_copy(update={"status": rules.settled_status(vehicle), "seizure": None})
        updated = self._save_vehicle(ctx, updated, vehicle)
        ctx.emit("SeizureLifted", vin=vin, document_id=order.document_id, status=updated.status.value)
        return updated

    @submit
    def scrap_vehicle(self, ctx: MortgageContext, vin: str, document_id: str) -> Vehicle:
        vehicle = self._vehicle_arg(ctx, vin)
        arg_id(document_id, "document_id")
        if vehicle.liens:
            raise ConflictError(
                f"scrapping refused: vehicle {vin} has recorded lien(s) {rules.describe_liens(vehicle)}"
            )
        rules.ensure_vehicle_status(vehicle, rules.FREE_STATUSES, "scrapping")
        self._document(ctx, document_id, "document_id", {DocType.SCRAP_CERTIFICATE}, vin=vin)
        updated = self._save_vehicle(
            ctx, vehicle.model_copy(update={"status": VehicleStatus.SCRAPPED}), vehicle
        )
        ctx.emit("VehicleScrapped", vin=vin, document_id=document_id)
        return updated

    @evaluate
    def get_vehicle_history(self, ctx: MortgageContext, vin: str) -> list[dict[str, Any]]:
        vin = self._vehicle_arg(ctx, vin).vin
        return self._history(ctx, ctx.store.key(s.VEHICLE, vin))


__all__ = ["VehicleTransactions"]
