"""Valuation attestations: a valuation names a model version a bank's model administrator registered on
chain (with its model card hash) and a real inputs hash, or it is a manual valuation by an appraiser
backed by an anchored appraisal. The LTV check and the reserve use attested valuations only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError

from . import access
from . import law_keys as k
from .enforcement import LawSupport
from .law_models import ModelVersion, ModelVersionIn
from .models import DocType, ValuationIn

if TYPE_CHECKING:
    from .contract import MortgageContext

MANUAL_MODEL = "manual"
APPRAISER = "appraiser"
_ZERO_HASH = "0" * 64


class AttestationTransactions(LawSupport):
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

    @submit
    def register_model_version(self, ctx: MortgageContext, model: ModelVersionIn) -> ModelVersion:
        """A bank's model administrator registers a valuation model version and its model card hash."""
        if ctx.store.exists(k.MODEL, model.model_id, model.model_version):
            raise ConflictError(
                f"model {model.model_id} version {model.model_version} is already registered "
                "(versions are immutable)"
            )
        if model.model_id.lower() == MANUAL_MODEL:
            raise BadRequestError(
                "invalid argument 'model': field 'model_id': 'manual' is reserved for appraisals"
            )
        if model.document_id is not None:
            self._document(ctx, model.document_id, "document_id", {DocType.MODEL_CARD})
        record = ModelVersion(
            **model.model_dump(), registered_by=ctx.msp_id, registered_at=ctx.at, tx_id=ctx.tx_id
        )
        ctx.store.put(record, k.MODEL, model.model_id, model.model_version)
        ctx.emit(
            "ModelVersionRegistered",
            model_id=model.model_id,
            model_version=model.model_version,
            model_card_sha256=model.model_card_sha256,
            registered_by=ctx.msp_id,
        )
        return record

    @evaluate
    def get_model_versions(self, ctx: MortgageContext) -> list[ModelVersion]:
        return ctx.store.scan(ModelVersion, k.MODEL)
