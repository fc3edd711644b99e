"""Enforcement by seniority: senior consent, court sale orders, the reserve, and the disposal waterfall.

A junior lienholder's sale either leaves every senior lien on the vehicle (the buyer takes title subject
to it), or needs each senior's consent (a transaction its own loan officer signs; its peer endorses the
disposal through the vehicle key's policy) or a court sale order the vehicle office anchored. A sale
below the reserve needs a court order allowing it or the consent of every lienholder it pays. Proceeds
pay the costs of sale, then each discharged lien by priority against its outstanding balance; the rest
is recorded as owed to the owner, each unpaid claim as that lien's deficiency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError

from . import access, law_rules, rules
from . import law_keys as k
from . import store as s
from .args import arg_id
from .context import MortgageContext
from .law_models import (
    EnforcementConsent,
    EnforcementConsentIn,
    SaleOrder,
    SaleOrderIn,
    SurplusOwed,
)
from .models import DisposalIn, DisposalResult, DocType, Lien, LienStatus, SaleMode, VehicleStatus
from .rules import ENCUMBERING, money
from .support import BASE_KEY_POLICY, MortgageSupport


def _describe(lien: Lien, claim: Decimal) -> str:
    return (
        f"{lien.lien_id} held by {lien.lienholder} "
        f"(priority {lien.priority}, claim {money(claim)} {lien.currency})"
    )


class EnforcementTransactions(MortgageSupport):
    @submit
    def consent_to_enforcement(
        self, ctx: MortgageContext, lien_id: str, consent: EnforcementConsentIn
    ) -> EnforcementConsent:
        """The holder of ``lien_id`` consents to the sale under ``foreclosing_lien_id`` discharging it."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
        rules.ensure_lien_status(lien, ENCUMBERING, "consent")
        if consent.foreclosing_lien_id == lien.lien_id:
            raise BadRequestError(
                "invalid argument 'consent': field 'foreclosing_lien_id': names the same lien"
            )
        other = self._lien(ctx, consent.foreclosing_lien_id)
        if other.vin != lien.vin:
            raise ConflictError(
                f"consent refused: lien {other.lien_id} is on vehicle {other.vin}, "
                f"lien {lien.lien_id} on {lien.vin}"
            )
        rules.ensure_lien_status(other, {LienStatus.RECORDED, LienStatus.FORECLOSING}, "consent")
        if consent.document_id is not None:
            self._document(
                ctx, consent.document_id, "document_id", {DocType.LIENHOLDER_CONSENT}, vin=lien.vin
            )
        record = EnforcementConsent(
            lien_id=lien.lien_id,
            lienholder=lien.lienholder,
            foreclosing_lien_id=other.lien_id,
            below_reserve=consent.below_reserve,
            document_id=consent.document_id,
            at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, k.CONSENT, other.lien_id, lien.lien_id)
        ctx.emit(
            "EnforcementConsented",
            vin=lien.vin,
            lien_id=lien.lien_id,
            lienholder=lien.lienholder,
            foreclosing_lien_id=other.lien_id,
            below_reserve=consent.below_reserve,
        )
        return record

    @submit
    def record_sale_order(self, ctx: MortgageContext, vin: str, order: SaleOrderIn) -> SaleOrder:
        """The vehicle office anchors a court's order to sell the vehicle free of every lien."""
        vehicle = self._vehicle_arg(ctx, vin)
        rules.ensure_vehicle_status(
            vehicle, {VehicleStatus.MORTGAGED, VehicleStatus.IN_DISPOSAL}, "sale order"
        )
        self._document(
            ctx, order.document_id, "document_id", {DocType.COURT_ORDER, DocType.SALE_ORDER}, vin=vin
        )
        record = SaleOrder(vin=vehicle.vin, **order.model_dump(), at=ctx.at, tx_id=ctx.tx_id)
        ctx.store.put(record, k.SALEORDER, vehicle.vin)
        ctx.emit(
            "SaleOrderRecorded",
            vin=vehicle.vin,
            document_id=order.document_id,
            court=order.court,
            below_reserve=order.below_reserve,
            minimum_price=order.minimum_price,
            lienholders=vehicle.lienholders,
        )
        return record

    @evaluate
    def get_enforcement(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        """What a disposal of the vehicle would need now: seniors, consents, court order, reserve, claims."""
        vehicle = self._vehicle_arg(ctx, vin)
        liens = self._encumbering(ctx, vehicle.vin)
        foreclosing = next((lien for lien in liens if lien.status is LienStatus.FORECLOSING), None)
        order = ctx.store.get(SaleOrder, k.SALEORDER, vehicle.vin)
        value, basis = law_rules.reserve(
            self._attested_valuation(ctx, vehicle.vin), self._config(ctx), self._law_config(ctx), ctx.now
        )
        out = []
        for lien in liens:
            claim, claim_basis = law_rules.claim_of(lien, self._balance(ctx, lien.lien_id))
            consent = (
                ctx.store.get(EnforcementConsent, k.CONSENT, foreclosing.lien_id, lien.lien_id)
                if foreclosing is not None and lien is not foreclosing
                else None
            )
            out.append(
                {
                    "lien_id": lien.lien_id,
                    "lienholder": lien.lienholder,
                    "priority": lien.priority,
                    "status": lien.status.value,
                    "claim": claim,
                    "claim_basis": claim_basis,
                    "senior": foreclosing is not None and (lien.priority or 0) < (foreclosing.priority or 0),
                    "consent": consent,
                }
            )
        return {
            "vin": vehicle.vin,
            "status": vehicle.status.value,
            "foreclosing_lien_id": foreclosing.lien_id if foreclosing else None,
            "liens": out,
            "sale_order": order,
            "reserve": value,
            "reserve_basis": basis,
            "as_of": ctx.at,
        }

    @submit
    def complete_disposal(self, ctx: MortgageContext, vin: str, disposal: DisposalIn) -> DisposalResult:
        """Sale of a foreclosed vehicle by seniority: see the module docstring for the rules."""
        vehicle = self._vehicle_arg(ctx, vin)
        rules.ensure_vehicle_status(vehicle, {VehicleStatus.IN_DISPOSAL}, "disposal")
        law_rules.ensure_no_holds(vehicle, "disposal")
        liens = [self._lien(ctx, ref.lien_id) for ref in rules.lien_refs_sorted(vehicle.liens)]
        foreclosing = next((lien for lien in liens if lien.status is LienStatus.FORECLOSING), None)
        if foreclosing is None:
            raise ConflictError(f"disposal refused: vehicle {vin} has no foreclosing lien")
        if foreclosing.lienholder != ctx.msp_id:
            raise access.object_rule_denied(
                "foreclosing_lienholder",
                f"lien {foreclosing.lien_id} is foreclosed by {foreclosing.lienholder}, "
                f"caller is {ctx.msp_id}",
            )
        if disposal.currency != foreclosing.currency:
            raise BadRequestError(
                "invalid argument 'disposal': field 'currency': "
                f"must be {foreclosing.currency}, the liens' currency"
            )
        self._document(ctx, disposal.sale_document_id, "sale_document_id", {DocType.SALE_CONTRACT}, vin=vin)
        if disposal.costs_document_id is not None:
            self._document(
                ctx, disposal.costs_document_id, "costs_document_id", {DocType.SALE_COSTS}, vin=vin
            )
        balances = {lien.lien_id: self._balance(ctx, lien.lien_id) for lien in liens}
        claims = {lien.lien_id: law_rules.claim_of(lien, balances[lien.lien_id])[0] for lien in liens}
        order = ctx.store.get(SaleOrder, k.SALEORDER, vehicle.vin)
        consents = {
            lien.lien_id: consent
            for lien in liens
            if lien is not foreclosing
            and (consent := ctx.store.get(EnforcementConsent, k.CONSENT, foreclosing.lien_id, lien.lien_id))
        }
        seniors = [lien for lien in liens if (lien.priority or 0) < (foreclosing.priority or 0)]
        authority: list[str] = []
        if disposal.mode is SaleMode.FREE_AND_CLEAR:
            missing = [lien for lien in seniors if lien.lien_id not in consents]
            if missing and order is None:
                raise ConflictError(
                    f"disposal refused by rule 'senior_consent': lien {foreclosing.lien_id} (priority "
                    f"{foreclosing.priority}) is junior to "
                    f"{', '.join(_describe(m, claims[m.lien_id]) for m in missing)}; "
                    "a sale free of senior liens needs each senior's consent or an anchored court sale order "
                    f"(or sell with mode {SaleMode.SUBJECT_TO_SENIOR.value})"
                )
            discharged, remaining = liens, []
        else:
            discharged = [lien for lien in liens if lien not in seniors]
            remaining = seniors
        if order is not None:
            authority.append(f"court_order:{order.document_id}")
            if order.minimum_price is not None and disposal.sale_price < order.minimum_price:
                raise ConflictError(
                    f"disposal refused by rule 'court_minimum': sale price {money(disposal.sale_price)} "
                    f"{disposal.currency} is below the minimum {money(order.minimum_price)} of court order "
                    f"{order.document_id}"
                )
        authority += [f"consent:{lien_id}" for lien_id in sorted(consents)]
        reserve, basis = law_rules.reserve(
            self._attested_valuation(ctx, vehicle.vin), self._config(ctx), self._law_config(ctx), ctx.now
        )
        if reserve is None or disposal.sale_price < reserve:
            others = [lien for lien in discharged if lien is not foreclosing]
            unconsented = [
                lien
                for lien in others
                if not (lien.lien_id in consents and consents[lien.lien_id].below_reserve)
            ]
            if not (order is not None and order.below_reserve) and unconsented:
                floor = (
                    "no reserve can be set"
                    if reserve is None
                    else f"the reserve {reserve} {disposal.currency}"
                )
                raise ConflictError(
                    f"disposal refused by rule 'reserve': sale price {money(disposal.sale_price)} "
                    f"{disposal.currency} is below {floor} ({basis}); it needs a court order allowing it or "
                    "the below-reserve consent of every lienholder it pays, missing: "
                    + ", ".join(_describe(m, claims[m.lien_id]) for m in unconsented)
                )
            authority.append(
                "below_reserve:" + ("court_order" if order and order.below_reserve else "consents")
            )
        owner, salt, digest = self._transient_owner(ctx, disposal.buyer_owner_hash)
        payouts, surplus = law_rules.waterfall(disposal.sale_price, disposal.costs, discharged, balances)
        paid = {p.lien_id: p for p in payouts}
        for lien in discharged:
            if lien.status is LienStatus.ASSIGNMENT_PENDING:
                ctx.stub.set_state_validation_parameter(ctx.store.key(s.LIEN, lien.lien_id), BASE_KEY_POLICY)
            ended = self._end_lien(
                lien,
                LienStatus.DISCHARGED,
                ctx,
                "disposal",
                paid=paid[lien.lien_id].paid,
                shortfall=paid[lien.lien_id].shortfall,
                release_document_id=disposal.sale_document_id,
                pending_assignee=None,
            )
            self._save_lien(ctx, ended, lien)
        previous_owner = vehicle.owner_hash
        kept = [ref for ref in vehicle.liens if ref.lien_id in {lien.lien_id for lien in remaining}]
        updated = vehicle.model_copy(
            update={
                "liens": kept,
                "owner_hash": digest,
                "status": VehicleStatus.MORTGAGED if kept else VehicleStatus.DISPOSED,
                "seizure": None,
            }
        )
        self._save_vehicle(ctx, updated, vehicle)
        self._save_owner(ctx, vin, owner, salt, digest)
        if surplus > 0:
            ctx.store.put(
                SurplusOwed(
                    vin=vehicle.vin,
                    owner_hash=previous_owner,
                    amount=surplus,
                    currency=disposal.currency,
                    sale_document_id=disposal.sale_document_id,
                    at=ctx.at,
                    tx_id=ctx.tx_id,
                ),
                k.SURPLUS,
                vehicle.vin,
                ctx.tx_id,
            )
        if order is not None:
            ctx.stub.del_state(ctx.store.key(k.SALEORDER, vehicle.vin))
        result = DisposalResult(
            vin=vin,
            sale_price=disposal.sale_price,
            currency=disposal.currency,
            distribution=payouts,
            surplus=surplus,
            buyer_owner_hash=digest,
            completed_at=ctx.at,
            mode=disposal.mode,
            costs=disposal.costs,
            costs_document_id=disposal.costs_document_id,
            surplus_owed_to=previous_owner if surplus > 0 else None,
            reserve=reserve,
            reserve_basis=basis,
            authority=authority,
            liens_remaining=[ref.lien_id for ref in kept],
        )
        ctx.emit("DisposalCompleted", **result.model_dump(mode="json"))
        return result

    @evaluate
    def get_surpluses(self, ctx: MortgageContext, vin: str) -> list[SurplusOwed]:
        vin = self._vehicle_arg(ctx, vin).vin
        return ctx.store.scan(SurplusOwed, k.SURPLUS, vin)
