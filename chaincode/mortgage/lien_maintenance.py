"""Lien maintenance as registries do it: amend, extend (continuation), lapse at maturity by a sweep, and
correction of a lien recorded in error. Every change is a new version of the lien key, so its history
keeps each one; each also rewrites the vehicle key, whose policy needs the vehicle office and every
lienholder to endorse.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chaincode.runtime.contract import submit
from chaincode.runtime.errors import BadRequestError, ConflictError

from . import law_keys as k
from . import law_rules, rules
from . import store as s
from .args import arg_id
from .context import MortgageContext
from .law_models import AmendmentIn, CorrectionIn, ExtensionIn, SweepIn
from .models import DocType, Lien, LienStatus, Vehicle, VehicleStatus
from .models.owners import ConsentKind
from .owners import OwnerTransactions
from .rules import money
from .support import BASE_KEY_POLICY

_TERMS = ("secured_amount", "maturity_date", "loan_number", "mortgage_contract_number")


def _changes(lien: Lien, update: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        name: {"before": str(getattr(lien, name)), "after": str(value)}
        for name, value in update.items()
        if value is not None and getattr(lien, name) != value
    }


class MaintenanceTransactions(OwnerTransactions):
    def _touch_vehicle(self, ctx: MortgageContext, vehicle: Vehicle) -> None:
        """Rewrite the vehicle so its key policy (vehicle office AND every lienholder) must be met."""
        self._save_vehicle(ctx, vehicle, vehicle)

    def _save_new_terms(
        self, ctx: MortgageContext, lien: Lien, vehicle: Vehicle, update: dict[str, Any]
    ) -> Lien:
        """The next version of ``lien`` with the given (non-None) terms, saved, and the vehicle touched so
        the change meets the vehicle's key policy too."""
        terms = {n: v for n, v in update.items() if v is not None}
        saved = self._save_lien(ctx, lien.model_copy(update={**terms, "version": lien.version + 1}), lien)
        self._touch_vehicle(ctx, vehicle)
        return saved

    def _check_secured_total(
        self, ctx: MortgageContext, lien: Lien, amount: Decimal, vehicle: Vehicle
    ) -> None:
        others = [self._lien(ctx, ref.lien_id) for ref in vehicle.liens if ref.lien_id != lien.lien_id]
        total = sum((other.secured_amount for other in others), Decimal(0)) + amount
        rules.check_ltv(
            vehicle.vin,
            total,
            lien.currency,
            self._attested_valuation(ctx, vehicle.vin),
            self._config(ctx),
            ctx.now,
        )

    @submit
    def amend_lien(self, ctx: MortgageContext, lien_id: str, amendment: AmendmentIn) -> Lien:
        """The lienholder changes amount (LTV checked; an increase needs the owner's consent), maturity or
        contract numbers of a recorded lien."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, {LienStatus.RECORDED}, "amendment")
        vehicle = self._vehicle(ctx, lien.vin)
        law_rules.ensure_not_seized(vehicle, "amendment")
        update = {name: getattr(amendment, name) for name in _TERMS}
        changes = _changes(lien, update)
        if not changes:
            raise ConflictError(f"amendment refused: lien {lien.lien_id} already has these terms")
        if amendment.maturity_date is not None and amendment.maturity_date <= ctx.today:
            raise BadRequestError(
                f"invalid argument 'amendment': field 'maturity_date': must be after {ctx.today.isoformat()}"
            )
        amount = amendment.secured_amount
        if amount is not None and amount > lien.secured_amount:
            if amendment.owner_consent_id is not None:
                self._use_owner_consent(
                    ctx,
                    amendment.owner_consent_id,
                    "owner_consent_id",
                    ConsentKind.AMOUNT_INCREASE,
                    lien.vin,
                    {"lien_id": lien.lien_id, "secured_amount": str(amount), "currency": lien.currency},
                    f"lien:{lien.lien_id}:v{lien.version + 1}",
                )
            elif amendment.owner_consent_document_id is None:
                raise ConflictError(
                    f"amendment refused by rule 'owner_consent': raising lien {lien.lien_id} from "
                    f"{money(lien.secured_amount)} to {money(amount)} {lien.currency} needs the owner's "
                    "signed consent (owner_consent_id) or, as a fallback, an anchored consent scan "
                    "(owner_consent_document_id)"
                )
            else:
                self._document(
                    ctx,
                    amendment.owner_consent_document_id,
                    "owner_consent_document_id",
                    {DocType.OWNER_CONSENT},
                    vin=lien.vin,
                )
            self._check_secured_total(ctx, lien, amount, vehicle)
        amended = self._save_new_terms(ctx, lien, vehicle, update)
        ctx.emit(
            "LienAmended",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            version=amended.version,
            changes=changes,
            reason=amendment.reason,
            lienholders=vehicle.lienholders,
            **({"owner_consent_id": amendment.owner_consent_id} if amendment.owner_consent_id else {}),
        )
        return amended

    @submit
    def extend_lien(self, ctx: MortgageContext, lien_id: str, extension: ExtensionIn) -> Lien:
        """Continuation: the lienholder moves maturity later, filed on or before the current maturity."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, {LienStatus.RECORDED}, "extension")
        vehicle = self._vehicle(ctx, lien.vin)
        law_rules.ensure_not_seized(vehicle, "extension")
        if ctx.today > lien.maturity_date:
            raise ConflictError(
                f"extension refused by rule 'before_maturity': lien {lien.lien_id} matured on "
                f"{lien.maturity_date.isoformat()}, today is {ctx.today.isoformat()}; record a new lien"
            )
        if extension.maturity_date <= lien.maturity_date:
            raise BadRequestError(
                "invalid argument 'extension': field 'maturity_date': must be after the current maturity "
                f"{lien.maturity_date.isoformat()}"
            )
        if extension.document_id is not None:
            self._document(ctx, extension.document_id, "document_id", None, vin=lien.vin)
        extended = self._save_new_terms(ctx, lien, vehicle, {"maturity_date": extension.maturity_date})
        ctx.emit(
            "LienExtended",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            previous_maturity=lien.maturity_date,
            maturity_date=extension.maturity_date,
            version=extended.version,
        )
        return extended

    def _recorded_lien_ids(self, ctx: MortgageContext) -> list[str]:
        """RECORDED liens in id order (index keys only; a paginated query would forbid the sweep's writes)."""
        return ctx.store.index_ids(s.IDX_LSTATUS, LienStatus.RECORDED.value)

    @submit
    def sweep_lien_maturities(self, ctx: MortgageContext, sweep: SweepIn) -> dict[str, Any]:
        """Lapse recorded liens past maturity + grace and announce maturities within the notice days.

        Anyone in the consortium with a writing role may submit it; time is the transaction's. At most
        ``page_size`` liens are acted on; ``more`` says another sweep has work (done ones drop out: a
        lapsed lien leaves the RECORDED index, a sent notice is remembered). Liens of a seized vehicle or
        one in disposal are left as they are and reported as skipped.
        """
        law = self._law_config(ctx)
        vehicles: dict[str, tuple[Vehicle, Vehicle]] = {}
        lapsed: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        more = False
        for lien_id in self._recorded_lien_ids(ctx):
            if len(lapsed) + len(notices) >= sweep.page_size:
                more = True
                break
            lien = ctx.store.get(Lien, s.LIEN, lien_id)
            if lien is None or lien.status is not LienStatus.RECORDED:
                continue
            if ctx.today >= law_rules.lapse_date(lien, law):
                if lien.vin not in vehicles:
                    original = self._vehicle(ctx, lien.vin)
                    vehicles[lien.vin] = (original, original)
                before, current = vehicles[lien.vin]
                if current.status in (VehicleStatus.SEIZED, VehicleStatus.IN_DISPOSAL):
                    skipped.append(
                        {"lien_id": lien_id, "reason": f"vehicle {lien.vin} is {current.status.value}"}
                    )
                    continue
                reason = (
                    f"lapsed: matured {lien.maturity_date.isoformat()}, grace {law.lapse_grace_days} days"
                )
                ended = self._save_lien(ctx, self._end_lien(lien, LienStatus.LAPSED, ctx, reason), lien)
                vehicles[lien.vin] = (before, self._detach_lien(current, ended))
                lapsed.append(
                    {
                        "lien_id": lien_id,
                        "vin": lien.vin,
                        "lienholder": lien.lienholder,
                        "maturity_date": lien.maturity_date.isoformat(),
                    }
                )
                continue
            maturity = lien.maturity_date.isoformat()
            sent = [int(days) for days in ctx.store.index_ids(k.NOTICE, lien.lien_id, maturity)]
            for days in law_rules.notices_due(lien, law, ctx.today, sent):
                ctx.store.index_put(k.NOTICE, lien.lien_id, maturity, str(days))
                notices.append(
                    {
                        "lien_id": lien_id,
                        "vin": lien.vin,
                        "lienholder": lien.lienholder,
                        "maturity_date": maturity,
                        "notice_days": days,
                        "days_left": (lien.maturity_date - ctx.today).days,
                    }
                )
        for before, current in vehicles.values():
            if current is not before:
                self._save_vehicle(ctx, current, before)
        result = {"lapsed": lapsed, "notices": notices, "skipped": skipped, "more": more, "as_of": ctx.at}
        if lapsed or notices:
            ctx.emit("LienMaturitySweep", **result)
        return result

    @submit
    def correct_lien(self, ctx: MortgageContext, lien_id: str, correction: CorrectionIn) -> Lien:
        """The vehicle office corrects (or strikes) a lien recorded in error, on anchored evidence; the
        vehicle key's policy makes the affected lienholder endorse."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        rules.ensure_lien_status(lien, {LienStatus.RECORDED, LienStatus.ASSIGNMENT_PENDING}, "correction")
        vehicle = self._vehicle(ctx, lien.vin)
        law_rules.ensure_not_seized(vehicle, "correction")
        self._document(
            ctx,
            correction.evidence_document_id,
            "evidence_document_id",
            {DocType.CORRECTION_EVIDENCE, DocType.COURT_ORDER},
            vin=lien.vin,
            lien_id=lien.lien_id,
        )
        # a correction records the true terms, a past maturity included (the next sweep lapses it)
        if correction.cancel:
            if lien.status is LienStatus.ASSIGNMENT_PENDING:
                ctx.stub.set_state_validation_parameter(ctx.store.key(s.LIEN, lien.lien_id), BASE_KEY_POLICY)
            ended = self._end_lien(
                lien,
                LienStatus.CANCELLED,
                ctx,
                f"correction: {correction.reason}",
                release_document_id=correction.evidence_document_id,
                pending_assignee=None,
                version=lien.version + 1,
            )
            corrected = self._save_lien(ctx, ended, lien)
            self._save_vehicle(ctx, self._detach_lien(vehicle, lien), vehicle)
            changes = {"status": {"before": lien.status.value, "after": LienStatus.CANCELLED.value}}
        else:
            update = {name: getattr(correction, name) for name in _TERMS}
            changes = _changes(lien, update)
            if not changes:
                raise ConflictError(f"correction refused: lien {lien.lien_id} already has these terms")
            corrected = self._save_new_terms(ctx, lien, vehicle, update)
        ctx.emit(
            "LienCorrected",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            evidence_document_id=correction.evidence_document_id,
            reason=correction.reason,
            changes=changes,
            version=corrected.version,
        )
        return corrected


__all__ = ["MaintenanceTransactions"]
