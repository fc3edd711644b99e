"""Liens: request, recording (priority, LTV), rejection, release, assignment, foreclosure, queries.

Enforcement, payoff and maintenance of a recorded lien are in :mod:`.enforcement`, :mod:`.payoff`
and :mod:`.lien_maintenance`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError
from chaincode.runtime.policy import KeyEndorsementPolicy, RoleType

from . import access, law_rules, rules
from . import store as s
from .args import arg_id, arg_text
from .context import MortgageContext
from .floorplan_alerts import consumer_lien_alert, ensure_not_floor_planned
from .holds import ensure_brands_acknowledged
from .models import (
    Assignment,
    DocType,
    Document,
    Lien,
    LienQuery,
    LienRef,
    LienRequestIn,
    LienStatus,
    VehicleStatus,
)
from .models.owners import ConsentKind, ConsentMethod
from .owners import OwnerTransactions
from .rules import ENCUMBERING
from .support import BASE_KEY_POLICY


class LienTransactions(OwnerTransactions):
    """A bank's security interest in a vehicle, perfected by the vehicle office's recording."""

    def _owner_consent(self, ctx: MortgageContext, request: LienRequestIn) -> str:
        """The owner's consent to this lien: the owner's own signature over these exact terms (spent
        here), or the documented fallback, a consent scan anchored by the requesting bank; the method."""
        if request.owner_consent_id is not None:
            self._use_owner_consent(
                ctx,
                request.owner_consent_id,
                "owner_consent_id",
                ConsentKind.LIEN_REQUEST,
                request.vin,
                {
                    "lien_id": request.lien_id,
                    "secured_amount": str(request.secured_amount),
                    "currency": request.currency,
                    "maturity_date": request.maturity_date.isoformat(),
                },
                f"lien:{request.lien_id}",
            )
            return ConsentMethod.OWNER_SIGNATURE.value
        self._scan_consent(ctx, request)
        return ConsentMethod.UPLOADED_SCAN.value

    def _scan_consent(self, ctx: MortgageContext, request: LienRequestIn) -> Document:
        """The fallback: a consent scan anchored by the requesting bank for this very vehicle.

        A consent with no VIN would serve every vehicle, one anchored by another org (another bank)
        was not given to this bank, and one already carried by another live lien request was spent.
        """
        field = "consent_document_id"
        assert request.consent_document_id is not None
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

    @submit
    def request_lien(self, ctx: MortgageContext, request: LienRequestIn) -> Lien:
        """A bank asks the vehicle office to record a lien; the caller's MSP becomes the lienholder."""
        if ctx.store.exists(s.LIEN, request.lien_id):
            raise ConflictError(f"lien {request.lien_id} already exists")
        vehicle = self._vehicle(ctx, request.vin)
        # a floor-planned car is asked for a consumer lien when it was sold: accepted, and an alert to the
        # floor-plan lender (sold out of trust); its recording is refused until the advance is paid off
        rules.ensure_vehicle_status(
            vehicle, rules.FREE_STATUSES | {VehicleStatus.MORTGAGED, VehicleStatus.FLOOR_PLAN}, "lien request"
        )
        law_rules.ensure_no_holds(vehicle, "lien request")
        if request.maturity_date <= ctx.today:
            raise BadRequestError(
                f"invalid argument 'request': field 'maturity_date': must be after {ctx.today.isoformat()}"
            )
        method = self._owner_consent(ctx, request)
        lien = Lien(
            **request.model_dump(),
            consent_method=method,
            lienholder=ctx.msp_id,
            status=LienStatus.REQUESTED,
            requested_at=ctx.at,
            updated_at=ctx.at,
            last_tx_id=ctx.tx_id,
        )
        lien = self._save_lien(ctx, lien, None)
        floor_plan_alert = consumer_lien_alert(ctx, vehicle, lien.lien_id, ctx.msp_id)
        ctx.emit(
            "LienRequested",
            lien_id=lien.lien_id,
            vin=lien.vin,
            lienholder=lien.lienholder,
            secured_amount=lien.secured_amount,
            currency=lien.currency,
            **({"floor_plan_alert_id": floor_plan_alert} if floor_plan_alert else {}),
        )
        return lien

    @submit
    def record_lien(self, ctx: MortgageContext, lien_id: str) -> Lien:
        """Perfect a requested lien: priority by order of recording, LTV checked, key policy set."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        rules.ensure_lien_status(lien, {LienStatus.REQUESTED}, "recording")
        ctx.store.prefetch((s.VEHICLE, lien.vin), (s.VALLATEST, lien.vin), (s.CONFIG,))
        vehicle = self._vehicle(ctx, lien.vin)
        ensure_not_floor_planned(ctx, vehicle, f"recording lien {lien.lien_id}")
        rules.ensure_vehicle_status(
            vehicle, rules.FREE_STATUSES | {VehicleStatus.MORTGAGED}, f"recording lien {lien.lien_id}"
        )
        law_rules.ensure_no_holds(vehicle, f"recording lien {lien.lien_id}")
        ensure_brands_acknowledged(ctx, vehicle, lien)
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

    @submit
    def release_lien(self, ctx: MortgageContext, lien_id: str) -> Lien:
        """The lienholder releases a paid-off lien."""
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        self._holder_only(ctx, lien)
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
        self._holder_only(ctx, lien)
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
        self._holder_only(ctx, lien)
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

    @evaluate
    def get_lien_history(self, ctx: MortgageContext, lien_id: str) -> list[dict[str, Any]]:
        lien = self._lien(ctx, arg_id(lien_id, "lien_id"))
        return self._history(ctx, ctx.store.key(s.LIEN, lien.lien_id))


__all__ = ["LienTransactions"]
