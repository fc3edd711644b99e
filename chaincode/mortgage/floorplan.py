"""Dealer floor-plan finance: whitelist, credit lines, advances per VIN, curtailments, retail sale,
floor checks and receivable pledges (issue 19; docs/floor-plan.md).

A core enterprise (manufacturer or distributor) whitelists its dealers; a bank opens a credit line for a
whitelisted dealer and advances money per vehicle in stock, each advance secured by a floor-plan lien
(its own record type) with the vehicle in status ``FLOOR_PLAN`` and its key endorsed by the vehicle
office and the lender. The line's exposure is kept on the line record by every transaction that moves
it, so the limit is one key read and concurrent advances on a line conflict (MVCC) instead of
overrunning it. The retail sale pays the advance off, releases the lien, moves the title and requests
the buyer's lender's lien in one transaction; a floor check lists the financed cars not seen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import access, law_rules
from . import floorplan_rules as fr
from . import store as s
from .args import arg_id, arg_text
from .context import MortgageContext
from .floorplan_alerts import (
    FPADV,
    FPLIEN,
    FPLINE,
    FPVIN,
    FPWL,
    IDX_FPAPPROVER,
    IDX_FPDEALER,
    IDX_FPLENDER,
    IDX_FPLINEADV,
    FloorPlanSupport,
    raise_alert,
)
from .models import DocType, Lien, LienStatus, VehicleStatus
from .models.floorplan import (
    Advance,
    AdvanceIn,
    AdvanceStatus,
    ConsumerLienIn,
    CreditLine,
    CreditLineIn,
    FloorPlanLien,
    FloorPlanLienStatus,
    LineStatus,
    PaymentIn,
    RetailSaleIn,
    WhitelistEntry,
    WhitelistIn,
    floor_plan_lien_id,
)
from .rules import money


class FloorPlanTransactions(FloorPlanSupport):
    def _save_line(self, ctx: MortgageContext, line: CreditLine, **update: Any) -> CreditLine:
        line = line.model_copy(update={**update, "updated_at": ctx.at, "tx_id": ctx.tx_id})
        ctx.store.put(line, FPLINE, line.line_id)
        return line

    def _payment(self, ctx: MortgageContext, payment: PaymentIn, currency: str, field: str) -> None:
        if payment.currency != currency:
            raise BadRequestError(f"invalid argument '{field}': field 'currency': must be {currency}")
        if payment.paid_on > ctx.today:
            raise BadRequestError(f"invalid argument '{field}': field 'paid_on': is in the future")

    def _end_advance(
        self, ctx: MortgageContext, advance: Advance, status: AdvanceStatus, payment: PaymentIn, reason: str
    ) -> tuple[Advance, CreditLine]:
        """Pay the advance off: the line's exposure drops, the floor-plan lien ends, the vehicle's key goes
        back to the chaincode policy (the caller saves the vehicle)."""
        line = self._line(ctx, advance.line_id)
        if payment.amount < advance.outstanding:
            raise ConflictError(
                f"{reason} refused by rule 'payoff_amount': paid {money(payment.amount)} {payment.currency}, "
                f"advance {advance.advance_id} owes {money(advance.outstanding)} {advance.currency} "
                f"(short by {money(advance.outstanding - payment.amount)})"
            )
        paid = advance.outstanding
        ended = advance.model_copy(
            update={
                "status": status,
                "outstanding": Decimal("0.00"),
                "ended_at": ctx.at,
                "payment_reference": payment.payment_reference,
                "updated_at": ctx.at,
                "tx_id": ctx.tx_id,
            }
        )
        ctx.store.put(ended, FPADV, advance.advance_id)
        lien = ctx.store.get(FloorPlanLien, FPLIEN, advance.floor_plan_lien_id)
        if lien is not None:
            ctx.store.put(
                lien.model_copy(
                    update={
                        "status": FloorPlanLienStatus.RELEASED,
                        "ended_at": ctx.at,
                        "end_reason": reason,
                        "tx_id": ctx.tx_id,
                    }
                ),
                FPLIEN,
                lien.lien_id,
            )
        ctx.stub.del_state(ctx.store.key(FPVIN, advance.vin))
        line = self._save_line(
            ctx,
            line,
            outstanding=line.outstanding - paid,
            open_advances=line.open_advances - 1,
            repaid_total=line.repaid_total + paid,
        )
        self._set_vehicle_policy(ctx, advance.vin, [])
        return ended, line

    # --- whitelist (core enterprise) -----------------------------------------------------------
    @submit
    def whitelist_dealer(self, ctx: MortgageContext, entry: WhitelistIn) -> WhitelistEntry:
        """The core enterprise approves one of its dealers for floor-plan credit (or renews it)."""
        if entry.valid_to is not None and entry.valid_to < ctx.today:
            raise BadRequestError("invalid argument 'entry': field 'valid_to': is in the past")
        if entry.dealer_msp_id != access.DEALER:
            raise BadRequestError(f"invalid argument 'entry': field 'dealer_msp_id': must be {access.DEALER}")
        record = WhitelistEntry(
            **entry.model_dump(), core_msp_id=ctx.msp_id, listed_at=ctx.at, tx_id=ctx.tx_id
        )
        ctx.store.put(record, FPWL, ctx.msp_id, entry.dealer_id)
        ctx.emit(
            "DealerWhitelisted", core_msp_id=ctx.msp_id, dealer_id=entry.dealer_id, valid_to=entry.valid_to
        )
        return record

    @submit
    def delist_dealer(self, ctx: MortgageContext, dealer_id: str, reason: str) -> WhitelistEntry:
        """Take a dealer off the whitelist: its lines approved by this core enterprise take no new advance."""
        dealer_id, reason = arg_id(dealer_id, "dealer_id"), arg_text(reason, "reason")
        entry = ctx.store.get(WhitelistEntry, FPWL, ctx.msp_id, dealer_id)
        if entry is None or not entry.active:
            raise NotFoundError(f"dealer {dealer_id} is not on the whitelist of {ctx.msp_id}")
        ended = entry.model_copy(
            update={"active": False, "delisted_at": ctx.at, "delist_reason": reason, "tx_id": ctx.tx_id}
        )
        ctx.store.put(ended, FPWL, ctx.msp_id, dealer_id)
        ctx.emit(
            "DealerDelisted",
            core_msp_id=ctx.msp_id,
            dealer_id=dealer_id,
            dealer_msp_id=entry.dealer_msp_id,
            reason=reason,
        )
        return ended

    @evaluate
    def get_dealer_whitelist(self, ctx: MortgageContext, core_msp_id: str) -> list[WhitelistEntry]:
        return ctx.store.scan(WhitelistEntry, FPWL, arg_id(core_msp_id, "core_msp_id"))

    # --- credit lines and advances (lender) ----------------------------------------------------
    @submit
    def open_credit_line(self, ctx: MortgageContext, line: CreditLineIn) -> CreditLine:
        if line.approver_msp_id not in access.CORE_ENTERPRISES:
            raise BadRequestError(
                "invalid argument 'line': field 'approver_msp_id': must be a core enterprise ("
                + ", ".join(sorted(access.CORE_ENTERPRISES))
                + ")"
            )
        if ctx.store.exists(FPLINE, line.line_id):
            raise ConflictError(f"credit line {line.line_id} already exists")
        if line.maturity_date is not None and line.maturity_date <= ctx.today:
            raise BadRequestError("invalid argument 'line': field 'maturity_date': must be after today")
        entry = self._whitelisted(ctx, line.approver_msp_id, line.dealer_id, "credit line")
        record = CreditLine(
            **line.model_dump(exclude={"curtailment"}),
            curtailment=line.curtailment,
            lender=ctx.msp_id,
            dealer_msp_id=entry.dealer_msp_id,
            opened_at=ctx.at,
            updated_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, FPLINE, line.line_id)
        ctx.store.index_put(IDX_FPLENDER, ctx.msp_id, line.line_id)
        ctx.store.index_put(IDX_FPDEALER, entry.dealer_msp_id, line.line_id)
        ctx.store.index_put(IDX_FPAPPROVER, line.approver_msp_id, line.line_id)
        ctx.emit(
            "CreditLineOpened",
            line_id=line.line_id,
            lender=ctx.msp_id,
            dealer_msp_id=entry.dealer_msp_id,
            dealer_id=line.dealer_id,
            limit=line.limit,
            currency=line.currency,
        )
        return record

    @submit
    def finance_vehicle(self, ctx: MortgageContext, advance: AdvanceIn) -> Advance:
        """Advance money on one car in the dealer's stock, within the line's limit; the floor-plan lien
        attaches and the vehicle's key needs the lender's endorsement from now on."""
        line = self._line(ctx, advance.line_id)
        self._lender_only(ctx, line.lender, f"credit line {line.line_id}")
        if line.status is not LineStatus.OPEN:
            raise ConflictError(f"advance refused: credit line {line.line_id} is {line.status.value}")
        if line.maturity_date is not None and line.maturity_date <= ctx.today:
            raise ConflictError(f"advance refused: credit line {line.line_id} matured {line.maturity_date}")
        self._whitelisted(ctx, line.approver_msp_id, line.dealer_id, "advance")
        if ctx.store.exists(FPADV, advance.advance_id):
            raise ConflictError(f"advance {advance.advance_id} already exists")
        vehicle = self._vehicle(ctx, advance.vin)
        if ctx.store.get_raw(FPVIN, advance.vin) is not None:
            raise ConflictError(f"advance refused: vehicle {advance.vin} is already floor-plan financed")
        law_rules.ensure_no_holds(vehicle, "advance")
        if vehicle.status not in (VehicleStatus.REGISTERED, VehicleStatus.DISPOSED) or vehicle.liens:
            raise ConflictError(
                f"advance refused: vehicle {advance.vin} is {vehicle.status.value}"
                + (f" with lien(s) {', '.join(r.lien_id for r in vehicle.liens)}" if vehicle.liens else "")
                + "; only unencumbered stock is floor-plan financed"
            )
        if advance.amount + line.outstanding > line.limit:
            raise ConflictError(
                f"advance refused by rule 'line_limit': line {line.line_id} exposure "
                f"{money(line.outstanding)} + {money(advance.amount)} {line.currency} exceeds the limit "
                f"{money(line.limit)} (available {money(line.limit - line.outstanding)})"
            )
        lien_id = floor_plan_lien_id(advance.advance_id)
        record = Advance(
            **advance.model_dump(exclude={"amount"}),
            amount=advance.amount,
            outstanding=advance.amount,
            currency=line.currency,
            lender=line.lender,
            dealer_id=line.dealer_id,
            dealer_msp_id=line.dealer_msp_id,
            advanced_on=ctx.today,
            advanced_at=ctx.at,
            floor_plan_lien_id=lien_id,
            updated_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(record, FPADV, advance.advance_id)
        ctx.store.index_put(IDX_FPLINEADV, line.line_id, advance.advance_id)
        ctx.store.unique_put(FPVIN, advance.vin, advance.advance_id)
        lien = FloorPlanLien(
            lien_id=lien_id,
            vin=advance.vin,
            lienholder=line.lender,
            advance_id=advance.advance_id,
            line_id=line.line_id,
            dealer_id=line.dealer_id,
            secured_amount=advance.amount,
            currency=line.currency,
            recorded_at=ctx.at,
            tx_id=ctx.tx_id,
        )
        ctx.store.put(lien, FPLIEN, lien_id)
        self._save_line(
            ctx,
            line,
            outstanding=line.outstanding + advance.amount,
            open_advances=line.open_advances + 1,
            advanced_total=line.advanced_total + advance.amount,
        )
        self._save_vehicle(ctx, vehicle.model_copy(update={"status": VehicleStatus.FLOOR_PLAN}), vehicle)
        self._set_vehicle_policy(ctx, advance.vin, [line.lender])
        ctx.emit(
            "VehicleFinanced",
            vin=advance.vin,
            advance_id=advance.advance_id,
            line_id=line.line_id,
            lender=line.lender,
            dealer_msp_id=line.dealer_msp_id,
            dealer_id=line.dealer_id,
            amount=advance.amount,
            currency=line.currency,
            floor_plan_lien_id=lien_id,
        )
        return record

    @submit
    def record_curtailment(self, ctx: MortgageContext, advance_id: str, payment: PaymentIn) -> Advance:
        """A curtailment the lender received: principal down, the line's exposure with it."""
        advance = self._advance(ctx, arg_id(advance_id, "advance_id"))
        self._lender_only(ctx, advance.lender, f"advance {advance.advance_id}")
        if advance.status is not AdvanceStatus.OPEN:
            raise ConflictError(
                f"curtailment refused: advance {advance.advance_id} is {advance.status.value}"
            )
        self._payment(ctx, payment, advance.currency, "payment")
        if payment.amount >= advance.outstanding:
            raise ConflictError(
                f"curtailment refused: {money(payment.amount)} pays the whole outstanding "
                f"{money(advance.outstanding)}; use PayOffAdvance (it releases the floor-plan lien)"
            )
        line = self._line(ctx, advance.line_id)
        updated = advance.model_copy(
            update={
                "outstanding": advance.outstanding - payment.amount,
                "updated_at": ctx.at,
                "tx_id": ctx.tx_id,
            }
        )
        ctx.store.put(updated, FPADV, advance.advance_id)
        self._save_line(
            ctx,
            line,
            outstanding=line.outstanding - payment.amount,
            repaid_total=line.repaid_total + payment.amount,
        )
        ctx.emit(
            "CurtailmentPaid",
            advance_id=advance.advance_id,
            line_id=advance.line_id,
            vin=advance.vin,
            lender=advance.lender,
            dealer_msp_id=advance.dealer_msp_id,
            amount=payment.amount,
            outstanding=updated.outstanding,
        )
        return updated

    @submit
    def pay_off_advance(self, ctx: MortgageContext, advance_id: str, payment: PaymentIn) -> Advance:
        """The dealer repaid the whole advance without a retail sale: the lien ends, the car is free."""
        advance = self._advance(ctx, arg_id(advance_id, "advance_id"))
        self._lender_only(ctx, advance.lender, f"advance {advance.advance_id}")
        if advance.status is not AdvanceStatus.OPEN:
            raise ConflictError(f"payoff refused: advance {advance.advance_id} is {advance.status.value}")
        self._payment(ctx, payment, advance.currency, "payment")
        vehicle = self._vehicle(ctx, advance.vin)
        ended, _ = self._end_advance(ctx, advance, AdvanceStatus.PAID_OFF, payment, "payoff")
        self._save_vehicle(ctx, vehicle.model_copy(update={"status": VehicleStatus.REGISTERED}), vehicle)
        ctx.emit(
            "AdvancePaidOff",
            advance_id=advance.advance_id,
            line_id=advance.line_id,
            vin=advance.vin,
            lender=advance.lender,
            dealer_msp_id=advance.dealer_msp_id,
            amount=advance.outstanding,
        )
        return ended

    def _consumer_lien(self, ctx: MortgageContext, vin: str, terms: ConsumerLienIn, currency: str) -> Lien:
        if terms.lienholder not in access.BANKS:
            raise BadRequestError(
                "invalid argument 'sale': field 'consumer_lien.lienholder': must be a bank ("
                + ", ".join(sorted(access.BANKS))
                + ")"
            )
        if ctx.store.exists(s.LIEN, terms.lien_id):
            raise ConflictError(f"lien {terms.lien_id} already exists")
        if terms.maturity_date <= ctx.today:
            raise BadRequestError(
                "invalid argument 'sale': field 'consumer_lien.maturity_date': must be after today"
            )
        field = "consumer_lien.consent_document_id"
        doc = self._document(ctx, terms.consent_document_id, field, {DocType.OWNER_CONSENT}, vin=vin)
        if doc.vin is None or doc.anchored_by != terms.lienholder:
            raise ConflictError(
                f"{field}: owner consent {doc.document_id} must name vehicle {vin} and be anchored by the "
                f"buyer's lender {terms.lienholder} (rule 'owner_consent_bound')"
            )
        lien = Lien(
            lien_id=terms.lien_id,
            vin=vin,
            lienholder=terms.lienholder,
            loan_number=terms.loan_number,
            mortgage_contract_number=terms.mortgage_contract_number,
            secured_amount=terms.secured_amount,
            currency=currency,
            maturity_date=terms.maturity_date,
            consent_document_id=terms.consent_document_id,
            status=LienStatus.REQUESTED,
            requested_at=ctx.at,
            updated_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        return self._save_lien(ctx, lien, None)

    @submit
    def retail_sale(self, ctx: MortgageContext, vin: str, sale: RetailSaleIn) -> dict[str, Any]:
        """Sell a financed car to a consumer, all or nothing: the advance paid off (or the sale refused),
        the floor-plan lien released, the title moved to the buyer, the buyer's lender's lien requested."""
        vehicle = self._vehicle_arg(ctx, vin)
        advance = self._advance(ctx, sale.advance_id)
        if advance.vin != vehicle.vin:
            raise ConflictError(
                f"advance {advance.advance_id} finances vehicle {advance.vin}, not {vehicle.vin}"
            )
        self._lender_only(ctx, advance.lender, f"advance {advance.advance_id}")
        if advance.status is not AdvanceStatus.OPEN:
            raise ConflictError(
                f"retail sale refused: advance {advance.advance_id} is {advance.status.value}; the car is no "
                "longer floor-plan financed, its title moves with TransferTitle"
            )
        law_rules.ensure_no_holds(vehicle, "retail sale")
        if vehicle.status is not VehicleStatus.FLOOR_PLAN:
            raise ConflictError(f"retail sale refused: vehicle {vehicle.vin} is {vehicle.status.value}")
        if sale.currency != advance.currency:
            raise BadRequestError(f"invalid argument 'sale': field 'currency': must be {advance.currency}")
        self._payment(ctx, sale.payoff, advance.currency, "sale.payoff")
        self._document(
            ctx, sale.sale_document_id, "sale_document_id", {DocType.SALE_CONTRACT}, vin=vehicle.vin
        )
        if sale.buyer_owner_hash == vehicle.owner_hash:
            raise ConflictError(
                f"retail sale refused: the buyer already holds the title of vehicle {vehicle.vin}"
            )
        owner, salt, digest = self._transient_owner(ctx, sale.buyer_owner_hash)
        consumer = (
            self._consumer_lien(ctx, vehicle.vin, sale.consumer_lien, sale.currency)
            if sale.consumer_lien
            else None
        )
        _, line = self._end_advance(ctx, advance, AdvanceStatus.SOLD, sale.payoff, "retail sale")
        previous = vehicle.owner_hash
        self._save_vehicle(
            ctx,
            vehicle.model_copy(update={"status": VehicleStatus.REGISTERED, "owner_hash": digest}),
            vehicle,
        )
        self._save_owner(ctx, vehicle.vin, owner, salt, digest)
        result = {
            "vin": vehicle.vin,
            "advance_id": advance.advance_id,
            "line_id": advance.line_id,
            "lender": advance.lender,
            "dealer_id": advance.dealer_id,
            "dealer_msp_id": advance.dealer_msp_id,
            "sale_price": sale.sale_price,
            "currency": sale.currency,
            "payoff_amount": advance.outstanding,
            "payment_reference": sale.payoff.payment_reference,
            "floor_plan_lien_id": advance.floor_plan_lien_id,
            "floor_plan_lien_status": FloorPlanLienStatus.RELEASED.value,
            "previous_owner_hash": previous,
            "new_owner_hash": digest,
            "consumer_lien_id": consumer.lien_id if consumer else None,
            "consumer_lienholder": consumer.lienholder if consumer else None,
            "line_outstanding": line.outstanding,
            "sold_at": ctx.at,
        }
        ctx.emit("RetailSaleCompleted", **{k: v for k, v in result.items() if k != "previous_owner_hash"})
        return result

    # --- curtailments --------------------------------------------------------------------------
    def _stock_view(self, ctx: MortgageContext, line: CreditLine, advance: Advance) -> dict[str, Any]:
        view: dict[str, Any] = advance.model_dump(mode="json")
        if advance.status is AdvanceStatus.OPEN:
            pos = fr.position(advance, line.curtailment, ctx.today)
            view["curtailment"] = {
                "installments_due": pos.installments_due,
                "required": str(pos.required),
                "repaid": str(pos.repaid),
                "due_now": str(pos.due_now),
                "overdue_installments": list(pos.overdue),
                "next_date": pos.next_date.isoformat() if pos.next_date else None,
                "next_required": str(pos.next_required) if pos.next_required is not None else None,
            }
            view["days_in_stock"] = (ctx.today - advance.advanced_on).days
        return view

    @evaluate
    def get_floor_plan_stock(self, ctx: MortgageContext, line_id: str) -> dict[str, Any]:
        """The line with every advance and, for open ones, the curtailment position as of the query."""
        line = self._readable_line(ctx, line_id)
        advances = [self._advance(ctx, i) for i in ctx.store.index_ids(IDX_FPLINEADV, line.line_id)]
        return {
            "line": line,
            "available": line.limit - line.outstanding,
            "advances": [self._stock_view(ctx, line, a) for a in advances],
            "as_of": ctx.at,
        }

    @submit
    def check_curtailments(self, ctx: MortgageContext, line_id: str) -> dict[str, Any]:
        """Raise one alert per installment past its date and unpaid, on every open advance of the line."""
        line = self._line(ctx, arg_id(line_id, "line_id"))
        self._lender_only(ctx, line.lender, f"credit line {line.line_id}")
        raised = []
        for advance_id in ctx.store.index_ids(IDX_FPLINEADV, line.line_id):
            advance = self._advance(ctx, advance_id)
            if advance.status is not AdvanceStatus.OPEN:
                continue
            pos = fr.position(advance, line.curtailment, ctx.today)
            fresh = [n for n in pos.overdue if n not in advance.alerted_installments]
            if not fresh:
                continue
            n = max(fresh)
            alert = raise_alert(
                ctx,
                advance,
                "curtailment_unpaid",
                f"{advance.advance_id}:{n}",
                installment=n,
                due_date=fr.installment_date(advance.advanced_on, line.curtailment, n).isoformat(),
                required=str(fr.required_repaid(advance.amount, line.curtailment, n)),
                repaid=str(pos.repaid),
                due_now=str(pos.due_now),
            )
            ctx.store.put(
                advance.model_copy(
                    update={
                        "alerted_installments": sorted({*advance.alerted_installments, *fresh}),
                        "updated_at": ctx.at,
                        "tx_id": ctx.tx_id,
                    }
                ),
                FPADV,
                advance.advance_id,
            )
            raised.append(alert.alert_id)
        if raised:
            ctx.emit(
                "CurtailmentsOverdue",
                line_id=line.line_id,
                lender=line.lender,
                dealer_msp_id=line.dealer_msp_id,
                alerts=raised,
            )
        return {"line_id": line.line_id, "alerts": raised, "as_of": ctx.at}


__all__ = ["FloorPlanTransactions"]
