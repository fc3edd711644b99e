"""Administration: the consortium's configuration (LTV cap, valuation age, lien-law parameters) and the
registered valuation model versions valuations are attested against.
"""

from __future__ import annotations

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError

from . import law_keys as k
from . import store as s
from .context import MortgageContext
from .law_models import LawConfig, LawConfigIn, ModelVersion, ModelVersionIn
from .models import Config, ConfigIn, DocType
from .support import MortgageSupport
from .valuations import MANUAL_MODEL


class AdministrationTransactions(MortgageSupport):
    """Configuration set by the vehicle office's admin; model versions by a bank's model administrator."""

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

    @submit
    def set_law_config(self, ctx: MortgageContext, config: LawConfigIn) -> LawConfig:
        """Reserve share, lapse grace and maturity notice days (vehicle office admin)."""
        record = LawConfig(**config.model_dump(), updated_at=ctx.at)
        record.notice_days = sorted(set(record.notice_days), reverse=True)
        ctx.store.put(record, k.LAWCONFIG)
        ctx.emit("LawConfigChanged", **record.model_dump(mode="json"))
        return record

    @evaluate
    def get_law_config(self, ctx: MortgageContext) -> LawConfig:
        return self._law_config(ctx)

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


__all__ = ["AdministrationTransactions"]
