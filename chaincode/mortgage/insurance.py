"""Insurance: policies recorded and lapsed by the insurer's underwriters, claims filed under them."""

from __future__ import annotations

from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import rules
from . import store as s
from .args import arg_id, arg_text
from .context import MortgageContext
from .models import Claim, ClaimIn, InsurancePolicy, InsurancePolicyIn, PolicyStatus, VehicleStatus
from .support import MortgageSupport


class InsuranceTransactions(MortgageSupport):
    """Insurance policies and claims on a vehicle (InsurerMSP underwriters)."""

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
        vin = self._vehicle_arg(ctx, vin).vin
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


__all__ = ["InsuranceTransactions"]
