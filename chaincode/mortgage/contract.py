"""The Mortgage-Asset contract: vehicles, liens, insurance, records, valuations, documents, QR identity.

Interface: docs/mortgage-chaincode.md. Access: :mod:`chaincode.mortgage.access`, checked in
``create_context`` so a refused caller learns nothing from argument errors. Rules:
:mod:`chaincode.mortgage.rules`. Time is the transaction timestamp; nothing reads a clock or draws
random numbers, so every endorsing peer computes the same write set.
"""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from typing import Any, ClassVar

import pydantic

from chaincode.runtime.contract import Context, Contract, evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, ContractError, NotFoundError
from chaincode.runtime.interfaces import ChaincodeStub
from chaincode.runtime.policy import KeyEndorsementPolicy, RoleType

from . import access, law_rules, rules
from . import store as s
from .alerts import AlertTransactions
from .attestation import AttestationTransactions
from .enforcement import EnforcementTransactions
from .holds import HoldTransactions
from .lien_maintenance import MaintenanceTransactions
from .models import (
    Assignment,
    Claim,
    ClaimIn,
    Config,
    ConfigIn,
    DocType,
    Document,
    DocumentIn,
    DocumentQuery,
    InsurancePolicy,
    InsurancePolicyIn,
    Lien,
    LienQuery,
    LienRef,
    LienRequestIn,
    LienStatus,
    MaintenanceIn,
    MaintenanceRecord,
    OdometerIn,
    OdometerReading,
    OdometerState,
    OrderIn,
    OwnerIn,
    OwnerRecord,
    PolicyStatus,
    QrCodeIn,
    QrIdentity,
    Seizure,
    TransferIn,
    Valuation,
    ValuationIn,
    Vehicle,
    VehicleIn,
    VehicleQuery,
    VehicleStatus,
)
from .payoff import PayoffTransactions
from .rules import ENCUMBERING
from .text import bad_character
from .vin import VinError, validate_vin


def _base_key_policy() -> bytes:
    """The chaincode-level policy (network/chaincodes.yaml) restated as a key-level policy.

    A key's policy "goes back" by taking this one, never an empty validation parameter: the validator
    reads an empty one as "use the chaincode policy", but the Fabric Gateway's endorsement plan
    (core/endorser parseWritesetMetadata) takes any VALIDATION_PARAMETER present on a written key as that
    key's policy, and an empty policy can never be satisfied, so every later write would be refused.
    """
    policy = KeyEndorsementPolicy()
    policy.add_orgs(RoleType.PEER, access.TRAFFIC, access.BANK_A, access.BANK_B, access.INSURER)
    envelope = policy.envelope()
    envelope.rule.n_out_of.n = 2
    return envelope.SerializeToString(deterministic=True)


BASE_KEY_POLICY = _base_key_policy()


_ID_MAX = 64


class MortgageContext(Context):
    """Context with the caller (MSP, role) resolved once, the ledger time and the typed store."""

    def __init__(self, stub: ChaincodeStub) -> None:
        super().__init__(stub)
        self.store = s.Store(stub)
        self.msp_id = self.client_identity.get_msp_id()
        self.role = self.client_identity.get_attribute_value("role") or ""
        ts = stub.get_tx_timestamp()
        self.now = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        self.at = rules.format_ts(self.now)
        self.today: date = self.now.date()

    def emit(self, name: str, **payload: Any) -> None:
        """The transaction's one chaincode event (Fabric keeps only the last set_event)."""
        payload = {"tx_id": self.tx_id, "at": self.at, **payload}
        self.stub.set_event(name, s.dumps(pydantic_jsonable(payload)))


_ANY: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)
_POINTER: pydantic.TypeAdapter[dict[str, str]] = pydantic.TypeAdapter(dict[str, str])


def pydantic_jsonable(value: Any) -> Any:
    return _ANY.dump_python(value, mode="json")


# --- argument checks for raw-string parameters -----------------------------------------------


def arg_vin(vin: str, name: str = "vin") -> str:
    try:
        return validate_vin(vin)
    except VinError as exc:
        raise BadRequestError(f"invalid argument '{name}': {exc}") from None


def arg_id(value: str, name: str) -> str:
    if not value or len(value) > _ID_MAX or not (value[0].isascii() and value[0].isalnum()):
        raise BadRequestError(f"invalid argument '{name}': must be 1..{_ID_MAX} characters [A-Za-z0-9._:-]")
    if not all(c.isascii() and (c.isalnum() or c in "._:-") for c in value):
        raise BadRequestError(f"invalid argument '{name}': only A-Z, a-z, 0-9 and . _ : - are allowed")
    return value


def arg_text(value: str, name: str) -> str:
    value = value.strip()
    if not value or len(value) > 500:
        raise BadRequestError(f"invalid argument '{name}': must be 1..500 characters")
    reason = bad_character(value, multiline=True)
    if reason:
        raise BadRequestError(f"invalid argument '{name}': {reason}")
    return value


def arg_plate(value: str, name: str = "plate") -> str:
    if not value or len(value) > 16:
        raise BadRequestError(f"invalid argument '{name}': must be 1..16 characters")
    reason = bad_character(value)
    if reason:
        raise BadRequestError(f"invalid argument '{name}': {reason}")
    return value


class MortgageContract(
    EnforcementTransactions,
    PayoffTransactions,
    MaintenanceTransactions,
    HoldTransactions,
    AttestationTransactions,
    AlertTransactions,
    Contract,
):
    """Vehicle-collateral ledger: the vehicle office, banks, insurer, dealers and the regulator.

    Lien law (enforcement, payoff, maintenance, holds, brands, attestations, alerts) lives in the
    mixins of :mod:`chaincode.mortgage.enforcement` and its sibling modules.
    """

    info: ClassVar[dict[str, Any]] = {"title": "Mortgage-Asset chaincode", "version": "1.0.0"}

    # --- hooks -------------------------------------------------------------------------
    def create_context(self, stub: ChaincodeStub) -> MortgageContext:
        """Resolve the caller and check the access table before any argument is parsed."""
        ctx = MortgageContext(stub)
        function = stub.get_function_and_parameters()[0].rpartition(":")[2]
        if function in access.ACCESS or function in _TRANSACTIONS:
            access.check_access(function, ctx.msp_id, ctx.role)
        return ctx

    # --- loaders -----------------------------------------------------------------------
    def _vehicle(self, ctx: MortgageContext, vin: str) -> Vehicle:
        vehicle = ctx.store.get(Vehicle, s.VEHICLE, vin)
        if vehicle is None:
            raise NotFoundError(f"vehicle {vin} not found")
        return vehicle

    def _lien(self, ctx: MortgageContext, lien_id: str) -> Lien:
        lien = ctx.store.get(Lien, s.LIEN, lien_id)
        if lien is None:
            raise NotFoundError(f"lien {lien_id} not found")
        return lien

    def _document(
        self,
        ctx: MortgageContext,
        document_id: str,
        field: str,
        types: set[DocType] | None = None,
        vin: str | None = None,
        lien_id: str | None = None,
    ) -> Document:
        """An anchored document of an accepted type, not linked to another vehicle or lien."""
        doc = ctx.store.get(Document, s.DOC, document_id)
        if doc is None:
            raise NotFoundError(f"{field}: document {document_id} is not anchored")
        if types is not None and doc.doc_type not in types:
            wanted = " or ".join(sorted(t.value for t in types))
            raise ConflictError(
                f"{field}: document {document_id} is a {doc.doc_type.value}, expected {wanted}"
            )
        if vin is not None and doc.vin is not None and doc.vin != vin:
            raise ConflictError(f"{field}: document {document_id} belongs to vehicle {doc.vin}, not {vin}")
        if lien_id is not None and doc.lien_id is not None and doc.lien_id != lien_id:
            raise ConflictError(
                f"{field}: document {document_id} belongs to lien {doc.lien_id}, not {lien_id}"
            )
        return doc

    def _holds_lien(self, ctx: MortgageContext, vin: str, statuses: frozenset[LienStatus]) -> bool:
        """Whether the caller's MSP is the lienholder of a lien on ``vin`` in one of ``statuses``."""
        for lien_id in ctx.store.index_ids(s.IDX_LVIN, vin):
            lien = ctx.store.get(Lien, s.LIEN, lien_id)
            if lien is not None and lien.lienholder == ctx.msp_id and lien.status in statuses:
                return True
        return False

    def _owner_consent(self, ctx: MortgageContext, request: LienRequestIn) -> Document:
        """The owner's consent to this lien: anchored by the requesting bank for this very vehicle.

        A consent with no VIN would serve every vehicle, one anchored by another org (another bank)
        was not given to this bank, and one already carried by another live lien request was spent.
        """
        field = "consent_document_id"
        doc = self._document(
            ctx,
            request.consent_document_id,
            field,
            {DocType.OWNER_CONSENT},
            vin=request.vin,
            lien_id=request.lien_id,
        )
        if doc.vin is None:
            raise ConflictError(
                f"{field}: owner consent {doc.document_id} names no vehicle; a consent must be anchored "
                f"with the VIN it covers ({request.vin}) (rule 'owner_consent_bound')"
            )
        if doc.anchored_by != ctx.msp_id:
            raise ConflictError(
                f"{field}: owner consent {doc.document_id} was anchored by {doc.anchored_by}, not by the "
                f"requesting bank {ctx.msp_id}; a bank lends only on a consent given to it "
                "(rule 'owner_consent_bound')"
            )
        for lien_id in ctx.store.index_ids(s.IDX_LVIN, request.vin):
            other = ctx.store.get(Lien, s.LIEN, lien_id)
            if (
                other is not None
                and other.consent_document_id == doc.document_id
                and other.status is not LienStatus.REJECTED
            ):
                raise ConflictError(
                    f"{field}: owner consent {doc.document_id} is already carried by lien {other.lien_id} "
                    "(rule 'owner_consent_bound')"
                )
        return doc

    def _config(self, ctx: MortgageContext) -> Config:
        return ctx.store.get(Config, s.CONFIG) or Config()

    def _latest_valuation(self, ctx: MortgageContext, vin: str) -> Valuation | None:
        pointer = ctx.store.get_raw(s.VALLATEST, vin)
        if pointer is None:
            return None
        valuation_id = _POINTER.validate_json(pointer)["valuation_id"]
        return ctx.store.get(Valuation, s.VALUATION, vin, valuation_id)

    def _transient_owner(self, ctx: MortgageContext, expected_hash: str | None) -> tuple[OwnerIn, bytes, str]:
        transient = ctx.stub.get_transient()
        raw, salt = transient.get("owner"), transient.get("owner_salt")
        if raw is None:
            raise BadRequestError(
                "transient 'owner': missing (owner personal data travels in the transient map)"
            )
        if salt is None:
            raise BadRequestError("transient 'owner_salt': missing")
        try:
            owner = OwnerIn.model_validate_json(raw)
        except pydantic.ValidationError as exc:
            detail = "; ".join(
                f"field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            raise BadRequestError(f"transient 'owner': {detail}") from None
        digest = rules.owner_hash(salt, owner.id_number)
        if expected_hash is not None and digest != expected_hash:
            raise BadRequestError(
                "owner hash: does not match sha256(owner_salt ‖ id_number) of the transient owner"
            )
        return owner, salt, digest

    def _save_owner(self, ctx: MortgageContext, vin: str, owner: OwnerIn, salt: bytes, digest: str) -> None:
        record = OwnerRecord(
            vin=vin,
            name=owner.name,
            id_number=owner.id_number,
            phone=owner.phone,
            address=owner.address,
            owner_hash=digest,
            salt_hex=salt.hex(),
            since=ctx.at,
        )
        ctx.store.put_private(record, s.OWNER, vin)

    # --- writers -----------------------------------------------------------------------
    def _save_vehicle(self, ctx: MortgageContext, vehicle: Vehicle, before: Vehicle | None) -> Vehicle:
        """Write the vehicle, keep its indexes and key-level endorsement policy in step."""
        if before is not None:
            law_rules.ensure_vehicle_transition(vehicle.vin, before.status, vehicle.status)
        vehicle = vehicle.model_copy(update={"updated_at": ctx.at, "last_tx_id": ctx.tx_id})
        vehicle.liens = rules.lien_refs_sorted(vehicle.liens)
        st = ctx.store
        st.put(vehicle, s.VEHICLE, vehicle.vin)
        vin = vehicle.vin
        if before is None:
            st.unique_put(s.UNQ_PLATE, vehicle.plate, vin)
            st.index_put(s.IDX_VSTATUS, vehicle.status.value, vin)
            st.index_put(s.IDX_OWNER, vehicle.owner_hash, vin)
            st.index_put(s.IDX_MAKE, vehicle.make, vin)
            return vehicle
        st.index_move(s.IDX_VSTATUS, before.status.value, vehicle.status.value, vin)
        st.index_move(s.IDX_OWNER, before.owner_hash, vehicle.owner_hash, vin)
        old_holders, new_holders = set(before.lienholders), set(vehicle.lienholders)
        for msp in sorted(old_holders - new_holders):
            st.index_del(s.IDX_VHOLDER, msp, vin)
        for msp in sorted(new_holders - old_holders):
            st.index_put(s.IDX_VHOLDER, msp, vin)
        if old_holders != new_holders:
            self._set_vehicle_policy(ctx, vin, sorted(new_holders))
        return vehicle

    def _set_vehicle_policy(self, ctx: MortgageContext, vin: str, holders: list[str]) -> None:
        """TrafficAuthority AND every lienholder while encumbered; the base policy once unencumbered."""
        key = ctx.store.key(s.VEHICLE, vin)
        if not holders:
            ctx.stub.set_state_validation_parameter(key, BASE_KEY_POLICY)
            return
        policy = KeyEndorsementPolicy()
        policy.add_orgs(RoleType.PEER, access.TRAFFIC, *holders)
        ctx.stub.set_state_validation_parameter(key, policy.policy())

    def _save_lien(self, ctx: MortgageContext, lien: Lien, before: Lien | None) -> Lien:
        lien = lien.model_copy(update={"updated_at": ctx.at, "last_tx_id": ctx.tx_id})
        st = ctx.store
        st.put(lien, s.LIEN, lien.lien_id)
        if before is None:
            st.index_put(s.IDX_LVIN, lien.vin, lien.lien_id)
            st.index_put(s.IDX_LHOLDER, lien.lienholder, lien.lien_id)
            st.index_put(s.IDX_LSTATUS, lien.status.value, lien.lien_id)
        else:
            st.index_move(s.IDX_LHOLDER, before.lienholder, lien.lienholder, lien.lien_id)
            st.index_move(s.IDX_LSTATUS, before.status.value, lien.status.value, lien.lien_id)
        return lien

    def _end_lien(
        self, lien: Lien, status: LienStatus, ctx: MortgageContext, reason: str, **extra: Any
    ) -> Lien:
        if not rules.can_transition(lien.status, status):
            raise ConflictError(f"lien {lien.lien_id} cannot go from {lien.status.value} to {status.value}")
        return lien.model_copy(update={"status": status, "ended_at": ctx.at, "end_reason": reason, **extra})

    def _detach_lien(self, vehicle: Vehicle, lien: Lien) -> Vehicle:
        """Remove an ended lien; the vehicle settles (MORTGAGED/REGISTERED) unless something else holds it.

        A seizure outlives the lien; a disposal ends only with the foreclosing lien.
        """
        refs = [ref for ref in vehicle.liens if ref.lien_id != lien.lien_id]
        updated = vehicle.model_copy(update={"liens": refs})
        if vehicle.status is VehicleStatus.MORTGAGED or (
            vehicle.status is VehicleStatus.IN_DISPOSAL and lien.status is LienStatus.FORECLOSING
        ):
            updated.status = rules.settled_status(updated)
        return updated

    # ===================================================================================
    # Vehicles
    # ===================================================================================
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
        return self._vehicle(ctx, arg_vin(vin))

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
        policies = [
            p
            for p in (
                ctx.store.get(InsurancePolicy, s.POLICY, pid)
                for pid in ctx.store.index_ids(s.IDX_POLVIN, vin)
            )
            if p is not None
        ]
        valid = [
            p for p in policies if p.status is PolicyStatus.ACTIVE and p.valid_from <= ctx.today <= p.valid_to
        ]
        odo = ctx.store.get(OdometerState, s.ODO, vin)
        latest = self._latest_valuation(ctx, vin)
        qr_raw = ctx.store.get_raw(s.QRVIN, vin)
        qr_code = _POINTER.validate_json(qr_raw)["code_id"] if qr_raw else None
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
            "seized": vehicle.status is VehicleStatus.SEIZED,
            "holds": [h.kind.value for h in vehicle.holds],
            "brands": [
                {"kind": b.kind.value, "since": b.at[:10], "insurer": b.insurer} for b in vehicle.brands
            ],
            "insured": bool(valid),
            "insurance_valid_to": max((p.valid_to for p in valid), default=None),
            "odometer_km": odo.odometer_km if odo else None,
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
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
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
        vehicle = self._vehicle(ctx, arg_vin(vin))
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
        )
        return updated

    @submit
    def seize_vehicle(self, ctx: MortgageContext, vin: str, order: OrderIn) -> Vehicle:
        vehicle = self._vehicle(ctx, arg_vin(vin))
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
        vehicle = self._vehicle(ctx, arg_vin(vin))
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
        vehicle = self._vehicle(ctx, arg_vin(vin))
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

    # ===================================================================================
    # Liens
    # ===================================================================================
    @submit
    def request_lien(self, ctx: MortgageContext, request: LienRequestIn) -> Lien:
        """A bank asks the vehicle office to record a lien; the caller's MSP becomes the lienholder."""
        if ctx.store.exists(s.LIEN, request.lien_id):
            raise ConflictError(f"lien {request.lien_id} already exists")
        vehicle = self._vehicle(ctx, request.vin)
        rules.ensure_vehicle_status(vehicle, rules.FREE_STATUSES | {VehicleStatus.MORTGAGED}, "lien request")
        law_rules.ensure_no_holds(vehicle, "lien request")
        if request.maturity_date <= ctx.today:
            raise BadRequestError(
                f"invalid argument 'request': field 'maturity_date': must be after {ctx.today.isoformat()}"
            )
        self._owner_consent(ctx, request)
        lien = Lien(
            **request.model_dump(),
            lienholder=ctx.msp_id,
            status=LienStatus.REQUESTED,
            requested_at=ctx.at,
            updated_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        lien = self._save_lien(ctx, lien, None)
        ctx.emit(
            "LienRequested",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            secured_amount=lien.secured_amount,
            currency=lien.currency,
        )
        return lien

    @submit
    def record_lien(self, ctx: MortgageContext, lien_id: str) -> Lien:
        """Perfect a requested lien: priority by order of recording, LTV checked, key policy set."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        rules.ensure_lien_status(lien, {LienStatus.REQUESTED}, "recording")
        ctx.store.prefetch((s.VEHICLE, lien.vin), (s.VALLATEST, lien.vin), (s.CONFIG,))
        vehicle = self._vehicle(ctx, lien.vin)
        rules.ensure_vehicle_status(
            vehicle, rules.FREE_STATUSES | {VehicleStatus.MORTGAGED}, f"recording lien {lien.lien_id}"
        )
        law_rules.ensure_no_holds(vehicle, f"recording lien {lien.lien_id}")
        self._ensure_brands_acknowledged(ctx, vehicle, lien)
        if lien.maturity_date <= ctx.today:
            raise ConflictError(
                f"recording refused: lien {lien.lien_id} matured on {lien.maturity_date.isoformat()}"
            )
        existing = [self._lien(ctx, ref.lien_id) for ref in vehicle.liens]
        for other in existing:
            if other.currency != lien.currency:
                raise ConflictError(
                    f"recording refused: lien {lien.lien_id} is in {lien.currency} but lien {other.lien_id} "
                    f"on vehicle {vehicle.vin} is in {other.currency}"
                )
        total = sum((other.secured_amount for other in existing), Decimal(0)) + lien.secured_amount
        rules.check_ltv(
            vehicle.vin,
            total,
            lien.currency,
            self._attested_valuation(ctx, vehicle.vin),
            self._config(ctx),
            ctx.now,
        )
        priority = vehicle.next_priority
        recorded = lien.model_copy(
            update={"status": LienStatus.RECORDED, "priority": priority, "recorded_at": ctx.at}
        )
        updated = vehicle.model_copy(
            update={
                "liens": [
                    *vehicle.liens,
                    LienRef(lien_id=lien.lien_id, lienholder=lien.lienholder, priority=priority),
                ],
                "next_priority": priority + 1,
                "status": VehicleStatus.MORTGAGED,
            }
        )
        self._save_vehicle(ctx, updated, vehicle)
        recorded = self._save_lien(ctx, recorded, lien)
        ctx.emit(
            "LienRecorded",
            lien_id=lien.lien_id,
            vin=vehicle.vin,
            lienholder=lien.lienholder,
            priority=priority,
            secured_total=total,
            currency=lien.currency,
        )
        return recorded

    @submit
    def reject_lien(self, ctx: MortgageContext, lien_id: str, reason: str) -> Lien:
        reason = arg_text(reason, "reason")
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        rules.ensure_lien_status(lien, {LienStatus.REQUESTED}, "rejection")
        law_rules.ensure_not_seized(
            self._vehicle(ctx, lien.vin), "rejection"
        )  # a seized vehicle's liens are frozen
        rejected = self._save_lien(ctx, self._end_lien(lien, LienStatus.REJECTED, ctx, reason), lien)
        ctx.emit(
            "LienRejected", lien_id=lien.lien_id, vin=lien.vin, lienholder=lien.lienholder, reason=reason
        )
        return rejected

    def _release(self, ctx: MortgageContext, lien: Lien, reason: str, document_id: str | None) -> Lien:
        vehicle = self._vehicle(ctx, lien.vin)
        if lien.status is LienStatus.ASSIGNMENT_PENDING:
            ctx.stub.set_state_validation_parameter(ctx.store.key(s.LIEN, lien.lien_id), BASE_KEY_POLICY)
        released = self._end_lien(
            lien, LienStatus.RELEASED, ctx, reason, release_document_id=document_id, pending_assignee=None
        )
        released = self._save_lien(ctx, released, lien)
        self._save_vehicle(ctx, self._detach_lien(vehicle, lien), vehicle)
        ctx.emit(
            "LienReleased",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            by=reason,
            document_id=document_id,
        )
        return released

    @submit
    def release_lien(self, ctx: MortgageContext, lien_id: str) -> Lien:
        """The lienholder releases a paid-off lien."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        if lien.lienholder != ctx.msp_id:
            raise access.object_rule_denied(
                "lienholder_only", f"lien {lien.lien_id} is held by {lien.lienholder}, caller is {ctx.msp_id}"
            )
        rules.ensure_lien_status(lien, {LienStatus.RECORDED}, "release")
        law_rules.ensure_not_seized(self._vehicle(ctx, lien.vin), "release")
        return self._release(ctx, lien, "lienholder", None)

    @submit
    def release_lien_by_court_order(
        self, ctx: MortgageContext, lien_id: str, court_order_document_id: str
    ) -> Lien:
        """The vehicle office releases a lien on an anchored court order."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        arg_id(court_order_document_id, "court_order_document_id")
        rules.ensure_lien_status(lien, ENCUMBERING, "release by court order")
        law_rules.ensure_not_seized(self._vehicle(ctx, lien.vin), "release by court order")
        self._document(
            ctx,
            court_order_document_id,
            "court_order_document_id",
            {DocType.COURT_ORDER},
            vin=lien.vin,
            lien_id=lien.lien_id,
        )
        return self._release(ctx, lien, "court_order", court_order_document_id)

    @submit
    def propose_lien_assignment(self, ctx: MortgageContext, lien_id: str, assignee_msp_id: str) -> Lien:
        """The holder offers the lien to another bank; both banks must then endorse the acceptance."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        if lien.lienholder != ctx.msp_id:
            raise access.object_rule_denied(
                "lienholder_only", f"lien {lien.lien_id} is held by {lien.lienholder}, caller is {ctx.msp_id}"
            )
        if assignee_msp_id not in access.BANKS or assignee_msp_id == lien.lienholder:
            others = sorted(access.BANKS - {lien.lienholder})
            raise BadRequestError(f"invalid argument 'assignee_msp_id': must be one of {', '.join(others)}")
        rules.ensure_lien_status(lien, {LienStatus.RECORDED}, "assignment")
        law_rules.ensure_not_seized(self._vehicle(ctx, lien.vin), "assignment")
        policy = KeyEndorsementPolicy()
        policy.add_orgs(RoleType.PEER, lien.lienholder, assignee_msp_id)
        pending = lien.model_copy(
            update={"status": LienStatus.ASSIGNMENT_PENDING, "pending_assignee": assignee_msp_id}
        )
        pending = self._save_lien(ctx, pending, lien)
        ctx.stub.set_state_validation_parameter(ctx.store.key(s.LIEN, lien.lien_id), policy.policy())
        ctx.emit(
            "LienAssignmentProposed",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            assignee=assignee_msp_id,
        )
        return pending

    @submit
    def accept_lien_assignment(self, ctx: MortgageContext, lien_id: str) -> Lien:
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        rules.ensure_lien_status(lien, {LienStatus.ASSIGNMENT_PENDING}, "acceptance")
        if lien.pending_assignee != ctx.msp_id:
            raise access.object_rule_denied(
                "assignee_only",
                f"lien {lien.lien_id} is offered to {lien.pending_assignee}, caller is {ctx.msp_id}",
            )
        vehicle = self._vehicle(ctx, lien.vin)
        law_rules.ensure_not_seized(vehicle, "assignment")
        assignment = Assignment(from_msp=lien.lienholder, to_msp=ctx.msp_id, at=ctx.at)
        assigned = lien.model_copy(
            update={
                "status": LienStatus.RECORDED,
                "lienholder": ctx.msp_id,
                "pending_assignee": None,
                "assignments": [*lien.assignments, assignment],
            }
        )
        assigned = self._save_lien(ctx, assigned, lien)
        ctx.stub.set_state_validation_parameter(ctx.store.key(s.LIEN, lien.lien_id), BASE_KEY_POLICY)
        refs = [
            ref.model_copy(update={"lienholder": ctx.msp_id}) if ref.lien_id == lien.lien_id else ref
            for ref in vehicle.liens
        ]
        self._save_vehicle(ctx, vehicle.model_copy(update={"liens": refs}), vehicle)
        ctx.emit(
            "LienAssigned",
            lien_id=lien.lien_id,
            vin=lien.vin,
            previous_lienholder=lien.lienholder,
            lienholder=ctx.msp_id,
            priority=lien.priority,
        )
        return assigned

    @submit
    def start_foreclosure(self, ctx: MortgageContext, lien_id: str, notice_document_id: str) -> Lien:
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        arg_id(notice_document_id, "notice_document_id")
        if lien.lienholder != ctx.msp_id:
            raise access.object_rule_denied(
                "lienholder_only", f"lien {lien.lien_id} is held by {lien.lienholder}, caller is {ctx.msp_id}"
            )
        rules.ensure_lien_status(lien, {LienStatus.RECORDED}, "foreclosure")
        vehicle = self._vehicle(ctx, lien.vin)
        rules.ensure_vehicle_status(vehicle, {VehicleStatus.MORTGAGED}, "foreclosure")
        self._document(
            ctx,
            notice_document_id,
            "notice_document_id",
            {DocType.FORECLOSURE_NOTICE},
            vin=lien.vin,
            lien_id=lien.lien_id,
        )
        foreclosing = lien.model_copy(
            update={"status": LienStatus.FORECLOSING, "foreclosure_notice_document_id": notice_document_id}
        )
        foreclosing = self._save_lien(ctx, foreclosing, lien)
        self._save_vehicle(ctx, vehicle.model_copy(update={"status": VehicleStatus.IN_DISPOSAL}), vehicle)
        ctx.emit("ForeclosureStarted", lien_id=lien.lien_id, vin=lien.vin, lienholder=lien.lienholder)
        return foreclosing

    @evaluate
    def get_lien(self, ctx: MortgageContext, lien_id: str) -> Lien:
        return self._lien(ctx, arg_id(lien_id, "lien_id"))

    @evaluate
    def query_liens(
        self, ctx: MortgageContext, query: LienQuery, page_size: int = 50, bookmark: str = ""
    ) -> dict[str, Any]:
        """Liens by vehicle, lienholder or status, one page at a time."""
        if query.vin is not None:
            index, attrs = s.IDX_LVIN, [query.vin]
        elif query.lienholder is not None:
            index, attrs = s.IDX_LHOLDER, [query.lienholder]
        elif query.status is not None:
            index, attrs = s.IDX_LSTATUS, [query.status.value]
        else:
            index, attrs = s.LIEN, []
        ids, next_bookmark = ctx.store.page(index, attrs, page_size, bookmark)
        records = []
        for lien_id in ids:
            lien = ctx.store.get(Lien, s.LIEN, lien_id)
            if lien is None:
                continue
            if query.vin is not None and lien.vin != query.vin:
                continue
            if query.lienholder is not None and lien.lienholder != query.lienholder:
                continue
            if query.status is not None and lien.status is not query.status:
                continue
            records.append(lien)
        return {"records": records, "bookmark": next_bookmark, "fetched": len(records)}

    # ===================================================================================
    # Insurance
    # ===================================================================================
    @submit
    def record_insurance_policy(self, ctx: MortgageContext, policy: InsurancePolicyIn) -> InsurancePolicy:
        if ctx.store.exists(s.POLICY, policy.policy_id):
            raise ConflictError(f"insurance policy {policy.policy_id} already exists")
        vehicle = self._vehicle(ctx, policy.vin)
        if vehicle.status is VehicleStatus.SCRAPPED:
            raise ConflictError(f"insurance refused: vehicle {vehicle.vin} is SCRAPPED")
        if policy.document_id is not None:
            self._document(ctx, policy.document_id, "document_id", None, vin=policy.vin)
        record = InsurancePolicy(
            **policy.model_dump(),
            insurer=ctx.msp_id,
            status=PolicyStatus.ACTIVE,
            recorded_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        ctx.store.put(record, s.POLICY, record.policy_id)
        ctx.store.index_put(s.IDX_POLVIN, record.vin, record.policy_id)
        ctx.emit(
            "InsurancePolicyRecorded",
            policy_id=record.policy_id,
            vin=record.vin,
            coverage=record.coverage,
            valid_from=record.valid_from,
            valid_to=record.valid_to,
        )
        return record

    @submit
    def lapse_insurance_policy(self, ctx: MortgageContext, policy_id: str, reason: str) -> InsurancePolicy:
        policy = ctx.store.get(InsurancePolicy, s.POLICY, arg_id(policy_id, "policy_id"))
        reason = arg_text(reason, "reason")
        if policy is None:
            raise NotFoundError(f"insurance policy {policy_id} not found")
        if policy.status is not PolicyStatus.ACTIVE:
            raise ConflictError(f"lapse refused: insurance policy {policy_id} is {policy.status.value}")
        lapsed = policy.model_copy(
            update={
                "status": PolicyStatus.LAPSED,
                "lapsed_at": ctx.at,
                "lapse_reason": reason,
                "last_tx_id": ctx.tx_id,
            }
        )
        ctx.store.put(lapsed, s.POLICY, policy_id)
        ctx.emit("InsuranceLapsed", policy_id=policy_id, vin=policy.vin, reason=reason)
        return lapsed

    @submit
    def file_insurance_claim(self, ctx: MortgageContext, claim: ClaimIn) -> Claim:
        policy = ctx.store.get(InsurancePolicy, s.POLICY, claim.policy_id)
        if policy is None:
            raise NotFoundError(f"insurance policy {claim.policy_id} not found")
        if ctx.store.exists(s.CLAIM, claim.policy_id, claim.claim_id):
            raise ConflictError(f"claim {claim.claim_id} already filed under policy {claim.policy_id}")
        if claim.incident_date > ctx.today:
            raise BadRequestError("invalid argument 'claim': field 'incident_date': is in the future")
        if not policy.valid_from <= claim.incident_date <= policy.valid_to:
            raise ConflictError(
                f"claim refused: incident {claim.incident_date.isoformat()} is outside "
                f"policy {policy.policy_id} "
                f"validity {policy.valid_from.isoformat()}..{policy.valid_to.isoformat()}"
            )
        if policy.lapsed_at is not None and claim.incident_date >= rules.parse_ts(policy.lapsed_at).date():
            raise ConflictError(
                f"claim refused: policy {policy.policy_id} lapsed on {policy.lapsed_at[:10]}, "
                "before the incident"
            )
        if claim.amount > policy.coverage.amount:
            raise ConflictError(
                f"claim refused: amount {claim.amount} exceeds coverage {policy.coverage.amount} "
                f"{policy.coverage.currency} of policy {policy.policy_id}"
            )
        record = Claim(**claim.model_dump(), vin=policy.vin, filed_at=ctx.at, last_tx_id=ctx.tx_id)
        ctx.store.put(record, s.CLAIM, claim.policy_id, claim.claim_id)
        ctx.emit(
            "InsuranceClaimFiled",
            claim_id=claim.claim_id,
            policy_id=claim.policy_id,
            vin=policy.vin,
            amount=claim.amount,
        )
        return record

    @evaluate
    def get_insurance_policies(self, ctx: MortgageContext, vin: str) -> list[dict[str, Any]]:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        out = []
        for policy_id in ctx.store.index_ids(s.IDX_POLVIN, vin):
            policy = ctx.store.get(InsurancePolicy, s.POLICY, policy_id)
            if policy is None:
                continue
            claims = ctx.store.scan(Claim, s.CLAIM, policy_id)
            out.append(
                {**policy.model_dump(mode="json"), "claims": [c.model_dump(mode="json") for c in claims]}
            )
        return out

    # ===================================================================================
    # Maintenance and odometer
    # ===================================================================================
    def _odometer(
        self, ctx: MortgageContext, vin: str, km: int, source: str, reading_date: date
    ) -> OdometerReading:
        """Store a reading; one below the maximum is an anomaly and never replaces the maximum."""
        state = ctx.store.get(OdometerState, s.ODO, vin)
        current = state.odometer_km if state else None
        anomaly = rules.is_odometer_anomaly(current, km)
        seq = (state.readings if state else 0) + 1
        reading = OdometerReading(
            vin=vin,
            seq=seq,
            odometer_km=km,
            source=source,
            reading_date=reading_date,
            recorded_by=ctx.msp_id,
            recorded_at=ctx.at,
            anomaly=anomaly,
            previous_km=current,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(reading, s.ODOREAD, vin, f"{seq:010d}")
        ctx.store.put(
            OdometerState(
                vin=vin,
                odometer_km=rules.next_odometer_max(current, km),
                last_reading_at=ctx.at,
                readings=seq,
                anomalies=(state.anomalies if state else 0) + int(anomaly),
            ),
            s.ODO,
            vin,
        )
        return reading

    def _writable_vehicle(self, ctx: MortgageContext, vin: str, action: str) -> Vehicle:
        vehicle = self._vehicle(ctx, vin)
        if vehicle.status is VehicleStatus.SCRAPPED:
            raise ConflictError(f"{action} refused: vehicle {vin} is SCRAPPED")
        return vehicle

    @submit
    def record_maintenance(self, ctx: MortgageContext, record: MaintenanceIn) -> MaintenanceRecord:
        self._writable_vehicle(ctx, record.vin, "maintenance record")
        if ctx.store.exists(s.MAINT, record.vin, record.record_id):
            raise ConflictError(
                f"maintenance record {record.record_id} of vehicle {record.vin} already exists"
            )
        if record.date > ctx.today:
            raise BadRequestError("invalid argument 'record': field 'date': is in the future")
        reading = self._odometer(
            ctx, record.vin, record.odometer_km, f"maintenance:{record.record_id}", record.date
        )
        stored = MaintenanceRecord(
            **record.model_dump(),
            dealer=ctx.msp_id,
            odometer_anomaly=reading.anomaly,
            recorded_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        ctx.store.put(stored, s.MAINT, record.vin, record.record_id)
        if reading.anomaly:
            ctx.emit(
                "OdometerAnomaly",
                vin=record.vin,
                odometer_km=reading.odometer_km,
                highest_km=reading.previous_km,
                source=reading.source,
                record_id=record.record_id,
            )
        else:
            ctx.emit(
                "MaintenanceRecorded",
                vin=record.vin,
                record_id=record.record_id,
                odometer_km=record.odometer_km,
            )
        return stored

    @submit
    def record_odometer(self, ctx: MortgageContext, reading: OdometerIn) -> OdometerReading:
        self._writable_vehicle(ctx, reading.vin, "odometer reading")
        when = reading.recorded_at or ctx.today
        if when > ctx.today:
            raise BadRequestError("invalid argument 'reading': field 'recorded_at': is in the future")
        stored = self._odometer(ctx, reading.vin, reading.odometer_km, reading.source, when)
        if stored.anomaly:
            ctx.emit(
                "OdometerAnomaly",
                vin=reading.vin,
                odometer_km=stored.odometer_km,
                highest_km=stored.previous_km,
                source=stored.source,
            )
        else:
            ctx.emit(
                "OdometerRecorded", vin=reading.vin, odometer_km=stored.odometer_km, source=stored.source
            )
        return stored

    @evaluate
    def get_maintenance_records(self, ctx: MortgageContext, vin: str) -> list[MaintenanceRecord]:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        return ctx.store.scan(MaintenanceRecord, s.MAINT, vin)

    @evaluate
    def get_odometer(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        state = ctx.store.get(OdometerState, s.ODO, vin)
        readings = ctx.store.scan(OdometerReading, s.ODOREAD, vin)
        return {
            "vin": vin,
            "odometer_km": state.odometer_km if state else None,
            "last_reading_at": state.last_reading_at if state else None,
            "readings": len(readings),
            "anomalies": [r for r in readings if r.anomaly],
        }

    # ===================================================================================
    # Valuations
    # ===================================================================================
    @submit
    def record_valuation(self, ctx: MortgageContext, valuation: ValuationIn) -> Valuation:
        """The vehicle's latest value (it bounds every lien's LTV): the vehicle office, or a bank that
        holds or has requested a lien on this vehicle — never a bank with no stake in it."""
        self._writable_vehicle(ctx, valuation.vin, "valuation")
        if ctx.msp_id in access.BANKS and not self._holds_lien(
            ctx, valuation.vin, ENCUMBERING | {LienStatus.REQUESTED}
        ):
            raise access.object_rule_denied(
                "valuer_lien",
                f"{ctx.msp_id} holds and has requested no lien on vehicle {valuation.vin}; request the "
                "lien first, or ask the vehicle office to record the valuation",
            )
        if ctx.store.exists(s.VALUATION, valuation.vin, valuation.valuation_id):
            raise ConflictError(
                f"valuation {valuation.valuation_id} of vehicle {valuation.vin} already exists"
            )
        attestation = self._attest_valuation(ctx, valuation)
        record = Valuation(
            **valuation.model_dump(),
            attestation=attestation,
            recorded_by=ctx.msp_id,
            recorded_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        ctx.store.put(record, s.VALUATION, record.vin, record.valuation_id)
        ctx.store.put({"valuation_id": record.valuation_id}, s.VALLATEST, record.vin)
        ctx.emit(
            "ValuationRecorded",
            valuation_id=record.valuation_id,
            vin=record.vin,
            value=record.value,
            currency=record.currency,
            model_id=record.model_id,
            model_version=record.model_version,
        )
        return record

    @evaluate
    def get_valuations(self, ctx: MortgageContext, vin: str) -> list[Valuation]:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        return ctx.store.scan(Valuation, s.VALUATION, vin)

    @evaluate
    def get_latest_valuation(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        latest = self._latest_valuation(ctx, vin)
        if latest is None:
            raise NotFoundError(f"vehicle {vin} has no valuation")
        config = self._config(ctx)
        return {
            **latest.model_dump(mode="json"),
            "stale": rules.is_stale(latest, config, ctx.now),
            "age_days": rules.valuation_age(latest, ctx.now).days,
        }

    # ===================================================================================
    # Documents
    # ===================================================================================
    @submit
    def anchor_document(self, ctx: MortgageContext, document: DocumentIn) -> Document:
        if ctx.store.exists(s.DOC, document.document_id):
            raise ConflictError(
                f"document {document.document_id} is already anchored (documents are immutable)"
            )
        required = {ctx.msp_id, access.TRAFFIC, access.REGULATOR}
        if document.vin is not None:
            required.update(self._vehicle(ctx, document.vin).lienholders)
        if document.lien_id is not None:
            lien = self._lien(ctx, document.lien_id)
            if document.vin is not None and lien.vin != document.vin:
                raise BadRequestError(
                    "invalid argument 'document': field 'lien_id': "
                    f"lien {lien.lien_id} is on vehicle {lien.vin}, "
                    f"not {document.vin}"
                )
            required.add(lien.lienholder)
        if document.parties is not None:
            missing = sorted(required - set(document.parties))
            if missing:
                raise ConflictError(
                    f"invalid argument 'document': field 'parties': must include {', '.join(missing)} "
                    "(the uploader, the vehicle office, the regulator and the vehicle's and lien's "
                    "lienholders read every document of the vehicle)"
                )
        record = Document(
            **document.model_dump(), anchored_by=ctx.msp_id, anchored_at=ctx.at, tx_id=ctx.tx_id
        )
        ctx.store.put(record, s.DOC, record.document_id)
        if record.vin is not None:
            ctx.store.index_put(s.IDX_DOCVIN, record.vin, record.document_id)
        if record.lien_id is not None:
            ctx.store.index_put(s.IDX_DOCLIEN, record.lien_id, record.document_id)
        ctx.emit(
            "DocumentAnchored",
            document_id=record.document_id,
            doc_type=record.doc_type,
            cid=record.cid,
            sha256=record.sha256,
            vin=record.vin,
            lien_id=record.lien_id,
            parties=record.parties,
        )
        return record

    @evaluate
    def get_document(self, ctx: MortgageContext, document_id: str) -> Document:
        doc = ctx.store.get(Document, s.DOC, arg_id(document_id, "document_id"))
        if doc is None:
            raise NotFoundError(f"document {document_id} not found")
        return doc

    @evaluate
    def get_documents(self, ctx: MortgageContext, query: DocumentQuery) -> list[Document]:
        if query.vin is not None:
            ids = ctx.store.index_ids(s.IDX_DOCVIN, query.vin)
        else:
            assert query.lien_id is not None
            ids = ctx.store.index_ids(s.IDX_DOCLIEN, query.lien_id)
        return [doc for doc in (ctx.store.get(Document, s.DOC, i) for i in ids) if doc is not None]

    # ===================================================================================
    # QR identity
    # ===================================================================================
    @submit
    def issue_qr_identity(self, ctx: MortgageContext, vin: str, code: QrCodeIn) -> QrIdentity:
        """One vehicle, one code: a new code revokes the previous one."""
        vehicle = self._writable_vehicle(ctx, arg_vin(vin), "QR identity")
        if ctx.store.exists(s.QR, code.code_id):
            raise ConflictError(f"QR code {code.code_id} already exists (codes are never reused)")
        revoked_id = None
        pointer = ctx.store.get_raw(s.QRVIN, vehicle.vin)
        if pointer is not None:
            revoked_id = _POINTER.validate_json(pointer)["code_id"]
            previous = ctx.store.get(QrIdentity, s.QR, revoked_id)
            if previous is not None:
                revoked = previous.model_copy(
                    update={"revoked": True, "revoked_at": ctx.at, "superseded_by": code.code_id}
                )
                ctx.store.put(revoked, s.QR, revoked_id)
        record = QrIdentity(
            code_id=code.code_id,
            vin=vehicle.vin,
            payload_sha256=code.payload_sha256,
            issued_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, s.QR, code.code_id)
        ctx.store.put({"code_id": code.code_id}, s.QRVIN, vehicle.vin)
        ctx.emit("QrIdentityIssued", vin=vehicle.vin, code_id=code.code_id, revoked_code_id=revoked_id)
        return record

    @evaluate
    def resolve_qr_code(self, ctx: MortgageContext, code_id: str) -> dict[str, Any]:
        code = ctx.store.get(QrIdentity, s.QR, arg_id(code_id, "code_id"))
        if code is None:
            raise NotFoundError(f"QR code {code_id} not found")
        return {
            "code_id": code.code_id,
            "vin": code.vin,
            "revoked": code.revoked,
            "issued_at": code.issued_at,
            "revoked_at": code.revoked_at,
            "superseded_by": code.superseded_by,
            "payload_sha256": code.payload_sha256,
        }

    @evaluate
    def get_qr_identity(self, ctx: MortgageContext, vin: str) -> QrIdentity:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        pointer = ctx.store.get_raw(s.QRVIN, vin)
        if pointer is None:
            raise NotFoundError(f"vehicle {vin} has no QR identity")
        code_id = _POINTER.validate_json(pointer)["code_id"]
        code = ctx.store.get(QrIdentity, s.QR, code_id)
        if code is None:
            raise NotFoundError(f"QR code {code_id} not found")
        return code

    # ===================================================================================
    # History and configuration
    # ===================================================================================
    def _history(self, ctx: MortgageContext, key: str) -> list[dict[str, Any]]:
        entries = []
        with ctx.stub.get_history_for_key(key) as it:
            for mod in it:
                ts = mod.timestamp if mod.timestamp.tzinfo else mod.timestamp.replace(tzinfo=UTC)
                entries.append(
                    {
                        "tx_id": mod.tx_id,
                        "timestamp": rules.format_ts(ts),
                        "is_delete": mod.is_delete,
                        "value": None if mod.is_delete or not mod.value else _ANY.validate_json(mod.value),
                    }
                )
        return entries

    @evaluate
    def get_vehicle_history(self, ctx: MortgageContext, vin: str) -> list[dict[str, Any]]:
        vin = arg_vin(vin)
        self._vehicle(ctx, vin)
        return self._history(ctx, ctx.store.key(s.VEHICLE, vin))

    @evaluate
    def get_lien_history(self, ctx: MortgageContext, lien_id: str) -> list[dict[str, Any]]:
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        return self._history(ctx, ctx.store.key(s.LIEN, lien.lien_id))

    @submit
    def set_config(self, ctx: MortgageContext, config: ConfigIn) -> Config:
        record = Config(
            ltv_cap=config.ltv_cap, valuation_max_age_days=config.valuation_max_age_days, updated_at=ctx.at
        )
        ctx.store.put(record, s.CONFIG)
        ctx.emit(
            "ConfigChanged", ltv_cap=record.ltv_cap, valuation_max_age_days=record.valuation_max_age_days
        )
        return record

    @evaluate
    def get_config(self, ctx: MortgageContext) -> Config:
        return self._config(ctx)


#: Every transaction name of the contract (for the deny-by-default access check and the tests).
_TRANSACTIONS: frozenset[str] = frozenset(
    getattr(MortgageContract, attr).__chaincode_transaction__.name
    or "".join(p[:1].upper() + p[1:] for p in attr.split("_") if p)
    for attr in dir(MortgageContract)
    if hasattr(getattr(MortgageContract, attr, None), "__chaincode_transaction__")
)

__all__ = ["ContractError", "MortgageContext", "MortgageContract"]
