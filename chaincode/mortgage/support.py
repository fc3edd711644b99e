"""The load/check/save steps every aggregate of the contract shares.

Each transaction has the same shape: load the records it names (404 when absent), check the caller's
object rules and the state machine (403/409, nothing written yet), save the new versions (keeping
indexes and key-level endorsement policies in step), emit one event. The aggregate modules
(:mod:`.vehicles`, :mod:`.liens`, ...) are mixins of :class:`MortgageSupport`; the contract composes them.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pydantic

from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError
from chaincode.runtime.policy import KeyEndorsementPolicy, RoleType

from . import access, law_rules, rules
from . import law_keys as k
from . import store as s
from .args import arg_vin, transient_model
from .context import MortgageContext, parse_json
from .law_models import Balance, LawConfig
from .models import (
    Config,
    DocType,
    Document,
    Lien,
    LienStatus,
    OwnerIn,
    OwnerRecord,
    Valuation,
    Vehicle,
    VehicleStatus,
)

_POINTER: pydantic.TypeAdapter[dict[str, str]] = pydantic.TypeAdapter(dict[str, str])


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


def pointer(ctx: MortgageContext, object_type: str, vin: str, field: str) -> str | None:
    """The id a per-vehicle pointer record names (latest valuation, current QR code), if any."""
    raw = ctx.store.get_raw(object_type, vin)
    return None if raw is None else _POINTER.validate_json(raw)[field]


class MortgageSupport:
    """Loaders, object-rule checks and writers shared by the aggregate modules."""

    # --- loaders (404 when absent) -------------------------------------------------------
    def _vehicle(self, ctx: MortgageContext, vin: str) -> Vehicle:
        vehicle = ctx.store.get(Vehicle, s.VEHICLE, vin)
        if vehicle is None:
            raise NotFoundError(f"vehicle {vin} not found")
        return vehicle

    def _vehicle_arg(self, ctx: MortgageContext, vin: str) -> Vehicle:
        """The vehicle a raw ``vin`` argument names: 400 for a malformed VIN, 404 for an unknown one."""
        return self._vehicle(ctx, arg_vin(vin))

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

    def _encumbering(self, ctx: MortgageContext, vin: str) -> list[Lien]:
        """The vehicle's encumbering liens, by priority."""
        vehicle = self._vehicle(ctx, vin)
        return [self._lien(ctx, ref.lien_id) for ref in rules.lien_refs_sorted(vehicle.liens)]

    def _config(self, ctx: MortgageContext) -> Config:
        return ctx.store.get(Config, s.CONFIG) or Config()

    def _law_config(self, ctx: MortgageContext) -> LawConfig:
        return ctx.store.get(LawConfig, k.LAWCONFIG) or LawConfig()

    def _balance(self, ctx: MortgageContext, lien_id: str) -> Balance | None:
        return ctx.store.get(Balance, k.BALANCE, lien_id)

    def _latest_valuation(self, ctx: MortgageContext, vin: str) -> Valuation | None:
        valuation_id = pointer(ctx, s.VALLATEST, vin, "valuation_id")
        return None if valuation_id is None else ctx.store.get(Valuation, s.VALUATION, vin, valuation_id)

    def _attested_valuation(self, ctx: MortgageContext, vin: str) -> Valuation | None:
        """The latest valuation, when it is attested (registered model or anchored appraisal)."""
        latest = self._latest_valuation(ctx, vin)
        return latest if latest is not None and latest.attestation is not None else None

    def _history(self, ctx: MortgageContext, key: str) -> list[dict[str, Any]]:
        """Every version of one key, newest first (Fabric 2.x order)."""
        entries = []
        with ctx.stub.get_history_for_key(key) as it:
            for mod in it:
                ts = mod.timestamp if mod.timestamp.tzinfo else mod.timestamp.replace(tzinfo=UTC)
                entries.append(
                    {
                        "tx_id": mod.tx_id,
                        "timestamp": rules.format_ts(ts),
                        "is_delete": mod.is_delete,
                        "value": None if mod.is_delete or not mod.value else parse_json(mod.value),
                    }
                )
        return entries

    # --- checks (403/409 before anything is written) -------------------------------------
    def _holder_only(self, ctx: MortgageContext, lien: Lien) -> None:
        if lien.lienholder != ctx.msp_id:
            raise access.object_rule_denied(
                "lienholder_only", f"lien {lien.lien_id} is held by {lien.lienholder}, caller is {ctx.msp_id}"
            )

    def _holds_lien(self, ctx: MortgageContext, vin: str, statuses: frozenset[LienStatus]) -> bool:
        """Whether the caller's MSP is the lienholder of a lien on ``vin`` in one of ``statuses``."""
        for lien_id in ctx.store.index_ids(s.IDX_LVIN, vin):
            lien = ctx.store.get(Lien, s.LIEN, lien_id)
            if lien is not None and lien.lienholder == ctx.msp_id and lien.status in statuses:
                return True
        return False

    def _writable_vehicle(self, ctx: MortgageContext, vin: str, action: str) -> Vehicle:
        """The vehicle, refused (409) once scrapped."""
        vehicle = self._vehicle(ctx, vin)
        if vehicle.status is VehicleStatus.SCRAPPED:
            raise ConflictError(f"{action} refused: vehicle {vin} is SCRAPPED")
        return vehicle

    def _transient_owner(self, ctx: MortgageContext, expected_hash: str | None) -> tuple[OwnerIn, bytes, str]:
        """The owner from the transient map, its salt and the recomputed owner hash."""
        transient = ctx.stub.get_transient()
        if "owner" in transient and transient.get("owner_salt") is None:
            raise BadRequestError("transient 'owner_salt': missing")
        owner = transient_model(
            ctx.stub, "owner", OwnerIn, "owner personal data travels in the transient map"
        )
        salt = transient["owner_salt"]
        digest = rules.owner_hash(salt, owner.id_number)
        if expected_hash is not None and digest != expected_hash:
            raise BadRequestError(
                "owner hash: does not match sha256(owner_salt ‖ id_number) of the transient owner"
            )
        return owner, salt, digest

    # --- writers -------------------------------------------------------------------------
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
        """Write the lien and keep its indexes (vehicle, holder, status) in step."""
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
        """The lien in a terminal status (not saved), refused (409) when the transition is not allowed."""
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

    def _release(self, ctx: MortgageContext, lien: Lien, reason: str, document_id: str | None) -> Lien:
        """Release a lien (by its holder, a court order or a payoff) and settle the vehicle."""
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


__all__ = ["BASE_KEY_POLICY", "MortgageSupport", "pointer"]
