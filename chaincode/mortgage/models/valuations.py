"""Valuations: the recorded value of a vehicle with its interval, model and inputs hash."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, model_validator

from .fields import (
    Currency,
    Identifier,
    Money,
    MoneyOrZero,
    Record,
    Request,
    Sha256Hex,
    ShortText,
    Vin,
)


class ValuationIn(Request):
    valuation_id: Identifier
    vin: Vin
    value: Money
    currency: Currency
    interval_low: MoneyOrZero
    interval_high: Money
    coverage: Annotated[Decimal, Field(gt=0, le=1, max_digits=6, decimal_places=4, examples=[0.9])]
    model_id: ShortText
    model_version: ShortText
    inputs_hash: Sha256Hex
    valuer: ShortText
    #: a manual valuation (model_id ``manual``) names the anchored appraisal it comes from
    appraisal_document_id: Identifier | None = None

    @model_validator(mode="after")
    def _interval(self) -> ValuationIn:
        if not self.interval_low <= self.value <= self.interval_high:
            raise ValueError("interval_low <= value <= interval_high must hold")
        return self


class Valuation(Record):
    valuation_id: str
    vin: str
    value: Decimal
    currency: str
    interval_low: Decimal
    interval_high: Decimal
    coverage: Decimal
    model_id: str
    model_version: str
    inputs_hash: str
    valuer: str
    appraisal_document_id: str | None = None
    #: ``model:<id>@<version>#<card sha256>`` or ``appraisal:<document id>``; the LTV check uses no other
    attestation: str | None = None
    recorded_by: str
    recorded_at: str
    last_tx_id: str


__all__ = ["Valuation", "ValuationIn"]
