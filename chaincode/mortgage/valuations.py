"""Valuations: the vehicle's value that bounds every lien's LTV, each recorded with its attestation.

A valuation names a model version a bank's model administrator registered (see
:mod:`.administration`) with a real inputs hash, or it is a manual valuation by an appraiser backed
by an anchored appraisal. The LTV check and the reserve use attested valuations only.
"""

from __future__ import annotations

from typing import Any

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import access, rules
from . import law_keys as k
from . import store as s
from .context import MortgageContext
from .law_models import ModelVersion
from .models import DocType, LienStatus, Valuation, ValuationIn
from .rules import ENCUMBERING
from .support import MortgageSupport

#: the model id of a manual valuation (an appraiser's, backed by an anchored appraisal)
MANUAL_MODEL = "manual"
APPRAISER = "appraiser"
_ZERO_HASH = "0" * 64


class ValuationTransactions(MortgageSupport):
    """Recorded valuations of a vehicle (the vehicle office, or a bank with a lien stake)."""

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

    def _attest_valuation(self, ctx: MortgageContext, valuation: ValuationIn) -> str:
        """The attestation a valuation is recorded with, or a refusal naming the rule."""
        if valuation.inputs_hash == _ZERO_HASH:
            raise BadRequestError(
                "invalid argument 'valuation': field 'inputs_hash': the all-zero hash names no inputs"
            )
        if valuation.model_id.lower() == MANUAL_MODEL:
            if ctx.role != APPRAISER:
                raise access.object_rule_denied(
                    "appraiser_only",
                    f"a manual valuation is an appraiser's; caller {ctx.msp_id} has role {ctx.role or '-'}",
                )
            if valuation.appraisal_document_id is None:
                raise BadRequestError(
                    "invalid argument 'valuation': field 'appraisal_document_id': "
                    "required for a manual valuation"
                )
            self._document(
                ctx,
                valuation.appraisal_document_id,
                "appraisal_document_id",
                {DocType.APPRAISAL},
                vin=valuation.vin,
            )
            return f"appraisal:{valuation.appraisal_document_id}"
        if valuation.appraisal_document_id is not None:
            raise BadRequestError(
                "invalid argument 'valuation': field 'appraisal_document_id': only for model_id 'manual'"
            )
        if ctx.role == APPRAISER:
            raise access.object_rule_denied(
                "appraiser_only", "an appraiser records manual valuations (model_id 'manual') only"
            )
        model = ctx.store.get(ModelVersion, k.MODEL, valuation.model_id, valuation.model_version)
        if model is None:
            raise ConflictError(
                f"valuation refused by rule 'registered_model': model {valuation.model_id} version "
                f"{valuation.model_version} is not registered on chain (RegisterModelVersion by a bank's "
                "model administrator)"
            )
        return f"model:{model.model_id}@{model.model_version}#{model.model_card_sha256}"

    @evaluate
    def get_valuations(self, ctx: MortgageContext, vin: str) -> list[Valuation]:
        vin = self._vehicle_arg(ctx, vin).vin
        return ctx.store.scan(Valuation, s.VALUATION, vin)

    @evaluate
    def get_latest_valuation(self, ctx: MortgageContext, vin: str) -> dict[str, Any]:
        vin = self._vehicle_arg(ctx, vin).vin
        latest = self._latest_valuation(ctx, vin)
        if latest is None:
            raise NotFoundError(f"vehicle {vin} has no valuation")
        config = self._config(ctx)
        return {
            **latest.model_dump(mode="json"),
            "stale": rules.is_stale(latest, config, ctx.now),
            "age_days": rules.valuation_age(latest, ctx.now).days,
        }


__all__ = ["ValuationTransactions"]
