"""Liens: the request, queries, the stored lien, and a disposal's terms and result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from .fields import (
    Currency,
    Identifier,
    Money,
    MoneyOrZero,
    MspId,
    Record,
    Request,
    Sha256Hex,
    Vin,
)


class LienStatus(StrEnum):
    REQUESTED = "REQUESTED"
    RECORDED = "RECORDED"
    REJECTED = "REJECTED"
    RELEASED = "RELEASED"
    ASSIGNMENT_PENDING = "ASSIGNMENT_PENDING"
    FORECLOSING = "FORECLOSING"
    DISCHARGED = "DISCHARGED"
    LAPSED = "LAPSED"  # past maturity + grace, ended by the lapse sweep
    CANCELLED = "CANCELLED"  # struck by the vehicle office as recorded in error (correction)


class LienRequestIn(Request):
    lien_id: Identifier = Field(examples=["L-2026-0001"])
    vin: Vin = Field(examples=["1M8GDM9AXKP042788"])
    loan_number: Identifier = Field(examples=["BA-LOAN-778"])
    mortgage_contract_number: Identifier = Field(examples=["BA-MC-778"])
    secured_amount: Money
    currency: Currency
    maturity_date: date
    #: the documented fallback: a bank-anchored scan of the owner's paper consent
    consent_document_id: Identifier | None = None
    #: the owner's own signed consent (kind lien_request), verified on chain
    owner_consent_id: Identifier | None = None

    @model_validator(mode="after")
    def _one_consent(self) -> LienRequestIn:
        if (self.consent_document_id is None) == (self.owner_consent_id is None):
            raise ValueError(
                "give exactly one of owner_consent_id (the owner's signed consent) or consent_document_id "
                "(an uploaded consent scan, the documented fallback)"
            )
        return self


class LienQuery(Request):
    vin: Vin | None = None
    lienholder: MspId | None = None
    status: LienStatus | None = None


class Assignment(Record):
    from_msp: str
    to_msp: str
    at: str


class Lien(Record):
    lien_id: str
    vin: str
    lienholder: str
    loan_number: str
    mortgage_contract_number: str
    secured_amount: Decimal
    currency: str
    maturity_date: date
    consent_document_id: str | None = None
    owner_consent_id: str | None = None
    consent_method: str = "uploaded_scan"
    status: LienStatus
    priority: int | None = None
    requested_at: str
    recorded_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    release_document_id: str | None = None
    pending_assignee: str | None = None
    assignments: list[Assignment] = Field(default_factory=list)
    foreclosure_notice_document_id: str | None = None
    paid: Decimal | None = None
    shortfall: Decimal | None = None  # the deficiency left after a disposal
    version: int = 1  # +1 on every amendment, extension or correction (key history keeps each)
    updated_at: str
    last_tx_id: str


class SaleMode(StrEnum):
    """How a foreclosure sale treats liens senior to the foreclosing one."""

    #: every lien is discharged: each senior consented, or a court sale order is anchored
    FREE_AND_CLEAR = "free_and_clear"
    #: seniors stay on the vehicle and the buyer takes title subject to them
    SUBJECT_TO_SENIOR = "subject_to_senior_liens"


class DisposalTerms(Request):
    """What a disposal states besides the buyer (the API takes the buyer's data instead of its hash)."""

    sale_price: MoneyOrZero
    currency: Currency
    sale_document_id: Identifier
    mode: SaleMode = SaleMode.FREE_AND_CLEAR
    costs: MoneyOrZero = Decimal(0)
    costs_document_id: Identifier | None = None

    @model_validator(mode="after")
    def _costs_documented(self) -> DisposalTerms:
        if self.costs > 0 and self.costs_document_id is None:
            raise ValueError("costs_document_id is required when costs are claimed")
        if self.costs > self.sale_price:
            raise ValueError("costs must not exceed sale_price")
        return self


class DisposalIn(DisposalTerms):
    buyer_owner_hash: Sha256Hex


class Payout(Record):
    lien_id: str
    lienholder: str
    priority: int
    secured_amount: Decimal
    #: what the lien claims: the reported outstanding balance (capped at the secured amount)
    claim: Decimal | None = None
    claim_basis: str | None = None
    paid: Decimal
    shortfall: Decimal  # the deficiency: claim - paid


class DisposalResult(Record):
    vin: str
    sale_price: Decimal
    currency: str
    distribution: list[Payout]
    surplus: Decimal
    buyer_owner_hash: str
    completed_at: str
    mode: SaleMode = SaleMode.FREE_AND_CLEAR
    costs: Decimal = Decimal(0)
    costs_document_id: str | None = None
    #: the owner (before the sale) to whom the surplus is owed
    surplus_owed_to: str | None = None
    reserve: Decimal | None = None
    reserve_basis: str | None = None
    #: what authorised the sale: ``court_order:<doc>``, ``consent:<lien>`` entries
    authority: list[str] = Field(default_factory=list)
    #: senior liens left on the vehicle (mode subject_to_senior_liens)
    liens_remaining: list[str] = Field(default_factory=list)


__all__ = [
    "Assignment",
    "DisposalIn",
    "DisposalResult",
    "DisposalTerms",
    "Lien",
    "LienQuery",
    "LienRequestIn",
    "LienStatus",
    "Payout",
    "SaleMode",
]
