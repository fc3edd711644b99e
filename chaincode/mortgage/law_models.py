"""Requests and records of lien law: enforcement consent and court sale orders, balances and payoff,
lien maintenance, registration changes, brands, model versions and risk alerts.

Kept beside :mod:`chaincode.mortgage.models` (vehicles, liens, the records every part shares) so each
concept stays small; requests refuse unknown fields like the others.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from .models import (
    BrandKind,
    Currency,
    HoldKind,
    Identifier,
    Money,
    MoneyOrZero,
    Plate,
    Record,
    Request,
    Sha256Hex,
    ShortText,
    Text,
)

NoticeDays = Annotated[int, Field(ge=1, le=365)]
Share = Annotated[Decimal, Field(gt=0, le=1, max_digits=6, decimal_places=4)]

# --- configuration ----------------------------------------------------------------------------


class LawConfigIn(Request):
    """Reserve, lapse grace and maturity notices (vehicle office admin)."""

    #: reserve = share × point value of the latest valid valuation; None: the interval's lower bound
    reserve_share: Share | None = None
    lapse_grace_days: Annotated[int, Field(ge=0, le=3650)] = 30
    notice_days: Annotated[list[NoticeDays], Field(max_length=8)] = Field(default_factory=lambda: [30, 7])


class LawConfig(Record):
    reserve_share: Decimal | None = None
    lapse_grace_days: int = 30
    notice_days: list[int] = Field(default_factory=lambda: [30, 7])
    updated_at: str | None = None


# --- enforcement --------------------------------------------------------------------------------


class EnforcementConsentIn(Request):
    """A lienholder's consent to another lien's foreclosure sale discharging its own lien."""

    foreclosing_lien_id: Identifier
    #: also consents to a sale below the reserve
    below_reserve: bool = False
    document_id: Identifier | None = None


class EnforcementConsent(Record):
    lien_id: str  # the consenting lien
    lienholder: str
    foreclosing_lien_id: str
    below_reserve: bool
    document_id: str | None
    at: str
    tx_id: str


class SaleOrderIn(Request):
    """A court's sale order, anchored by the vehicle office: sale free of all liens."""

    document_id: Identifier
    court: ShortText
    #: the court also allows a sale below the reserve
    below_reserve: bool = False
    #: the court's own floor, when it sets one
    minimum_price: MoneyOrZero | None = None


class SaleOrder(Record):
    vin: str
    document_id: str
    court: str
    below_reserve: bool
    minimum_price: Decimal | None
    at: str
    tx_id: str


class SurplusOwed(Record):
    """Proceeds left after costs and every discharged lien: owed to the owner before the sale."""

    vin: str
    owner_hash: str
    amount: Decimal
    currency: str
    sale_document_id: str
    at: str
    tx_id: str


# --- balances and payoff ------------------------------------------------------------------------


class BalanceIn(Request):
    outstanding: MoneyOrZero
    currency: Currency
    as_of: date


class Balance(Record):
    lien_id: str
    outstanding: Decimal
    currency: str
    as_of: date
    reported_by: str
    reported_at: str
    tx_id: str


class PayoffRequester(StrEnum):
    OWNER = "owner"
    DEALER = "dealer"
    BUYER = "buyer"


class PayoffRequestIn(Request):
    request_id: Identifier
    requested_by: PayoffRequester
    #: the owner's anchored consent; required unless the owner asks the lienholder directly
    owner_consent_document_id: Identifier | None = None
    #: the owner's own signed consent (kind payoff_quote_release) instead of an uploaded scan
    owner_consent_id: Identifier | None = None


class PayoffRequest(Record):
    request_id: str
    lien_id: str
    requested_by: PayoffRequester
    requester_msp: str
    owner_consent_document_id: str | None
    owner_consent_id: str | None = None
    at: str
    tx_id: str


class PayoffQuoteIn(Request):
    quote_id: Identifier
    request_id: Identifier
    amount: Money
    currency: Currency
    good_through: date


class PayoffQuote(Record):
    quote_id: str
    lien_id: str
    request_id: str
    amount: Decimal
    currency: str
    good_through: date
    issued_by: str
    issued_at: str
    paid: bool = False
    paid_at: str | None = None
    tx_id: str


class PayoffPaymentIn(Request):
    quote_id: Identifier
    amount: Money
    currency: Currency
    paid_on: date
    payment_reference: ShortText
    receipt_document_id: Identifier | None = None


# --- lien maintenance ---------------------------------------------------------------------------


class AmendmentIn(Request):
    """Change a recorded lien's terms; an increase needs the owner's anchored consent."""

    secured_amount: Money | None = None
    maturity_date: date | None = None
    loan_number: Identifier | None = None
    mortgage_contract_number: Identifier | None = None
    owner_consent_document_id: Identifier | None = None
    #: the owner's own signed consent (kind amount_increase) instead of an uploaded scan
    owner_consent_id: Identifier | None = None
    reason: Text

    @model_validator(mode="after")
    def _something(self) -> AmendmentIn:
        fields = (self.secured_amount, self.maturity_date, self.loan_number, self.mortgage_contract_number)
        if all(f is None for f in fields):
            raise ValueError(
                "give at least one of secured_amount, maturity_date, loan_number, mortgage_contract_number"
            )
        return self


class ExtensionIn(Request):
    """Continuation: a later maturity, filed before the current one."""

    maturity_date: date
    document_id: Identifier | None = None


class CorrectionIn(Request):
    """A lien recorded in error, corrected (fields) or struck (``cancel``) by the vehicle office."""

    evidence_document_id: Identifier
    reason: Text
    cancel: bool = False
    secured_amount: Money | None = None
    maturity_date: date | None = None
    loan_number: Identifier | None = None
    mortgage_contract_number: Identifier | None = None

    @model_validator(mode="after")
    def _cancel_or_fields(self) -> CorrectionIn:
        fields = (self.secured_amount, self.maturity_date, self.loan_number, self.mortgage_contract_number)
        if self.cancel == any(f is not None for f in fields):
            raise ValueError("give either cancel=true or the corrected fields, not both and not neither")
        return self


class SweepIn(Request):
    page_size: Annotated[int, Field(ge=1, le=200)] = 100


# --- holds, registration changes, brands --------------------------------------------------------


class HoldIn(Request):
    kind: HoldKind
    document_id: Identifier
    authority: ShortText
    reason: Text


class RegistrationChangeIn(Request):
    """变更登记: plate, colour, engine number; owner contact travels in the transient map."""

    change_id: Identifier
    document_id: Identifier
    plate: Plate | None = None
    colour: ShortText | None = None
    engine_number: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    owner_contact: bool = False  # the transient 'owner_contact' carries {phone, address}


class OwnerContactIn(Request):
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None


class RegistrationChange(Record):
    change_id: str
    vin: str
    document_id: str
    #: field → {"before": ..., "after": ...}; owner contact only as "changed" (it is private)
    changes: dict[str, dict[str, str | None]]
    at: str
    tx_id: str


class BrandIn(Request):
    kind: BrandKind
    document_id: Identifier
    claim_id: Identifier | None = None


class BrandAcknowledgementIn(Request):
    brands: Annotated[list[BrandKind], Field(min_length=1, max_length=3)]


class BrandAcknowledgement(Record):
    lien_id: str
    lienholder: str
    brands: list[BrandKind]
    at: str
    tx_id: str


# --- valuation models ----------------------------------------------------------------------------


class ModelVersionIn(Request):
    model_id: ShortText
    model_version: ShortText
    model_card_sha256: Sha256Hex
    document_id: Identifier | None = None


class ModelVersion(Record):
    model_id: str
    model_version: str
    model_card_sha256: str
    document_id: str | None
    registered_by: str
    registered_at: str
    tx_id: str


# --- risk alerts ---------------------------------------------------------------------------------


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class RiskAlertIn(Request):
    alert_id: Identifier
    lien_id: Identifier
    rule: ShortText
    severity: Severity
    alert_sha256: Sha256Hex


class RiskAlert(Record):
    alert_id: str
    lien_id: str
    vin: str
    lienholder: str
    rule: str
    severity: Severity
    alert_sha256: str
    raised_by: str
    raised_at: str
    acknowledged: bool = False
    acknowledged_at: str | None = None
    acknowledgement: str | None = None
    tx_id: str


class AlertQuery(Request):
    lien_id: Identifier | None = None
    lienholder: Annotated[str, StringConstraints(max_length=64)] | None = None
    unacknowledged: bool = False


__all__ = [name for name in dir() if name[0].isupper()]
