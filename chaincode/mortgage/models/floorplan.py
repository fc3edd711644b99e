"""Dealer floor-plan finance: whitelist, credit lines, advances per VIN, floor checks, receivables.

A bank finances a dealer's stock under a credit line the dealer may hold only while a core enterprise
(manufacturer or distributor) keeps it on its whitelist; each financed vehicle carries a floor-plan lien
of its own record type and an advance, repaid by curtailments and paid off at the retail sale.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .fields import (
    Currency,
    Identifier,
    Km,
    Money,
    MspId,
    Record,
    Request,
    Sha256Hex,
    ShortText,
    Vin,
)

#: advance ids leave room for the floor-plan lien id ``FP:<advance_id>`` (64 characters at most)
AdvanceId = Annotated[
    str, StringConstraints(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=6, decimal_places=3)]
Rate = Annotated[Decimal, Field(ge=0, le=1, max_digits=8, decimal_places=6, examples=["0.0650"])]
Latitude = Annotated[Decimal, Field(ge=-90, le=90, max_digits=10, decimal_places=7)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, max_digits=11, decimal_places=7)]


def floor_plan_lien_id(advance_id: str) -> str:
    return f"FP:{advance_id}"


# --- whitelist --------------------------------------------------------------------------------


class WhitelistIn(Request):
    """A core enterprise puts one of its dealers on its whitelist (approves it for floor-plan credit)."""

    dealer_id: Identifier = Field(examples=["DLR-SH-001"])
    dealer_msp_id: MspId = Field(examples=["DealerMSP"])
    name: ShortText
    valid_to: date | None = None


class WhitelistEntry(Record):
    core_msp_id: str
    dealer_id: str
    dealer_msp_id: str
    name: str
    valid_to: date | None = None
    active: bool = True
    listed_at: str
    delisted_at: str | None = None
    delist_reason: str | None = None
    tx_id: str


# --- credit lines -------------------------------------------------------------------------------


class CurtailmentSchedule(Request):
    """Principal the dealer repays while a car stays unsold: ``first_percent`` of the advance after
    ``first_after_days``, then ``step_percent`` more every ``every_days`` (cumulative, capped at 100 %)."""

    first_after_days: int = Field(default=90, ge=1, le=3650)
    first_percent: Percent = Decimal(10)
    every_days: int = Field(default=30, ge=1, le=3650)
    step_percent: Percent = Decimal(10)


class CreditLineIn(Request):
    line_id: Identifier = Field(examples=["FPL-BA-001"])
    dealer_id: Identifier
    approver_msp_id: MspId = Field(examples=["ManufacturerMSP"])
    limit: Money
    currency: Currency
    rate: Rate
    curtailment: CurtailmentSchedule = Field(default_factory=lambda: CurtailmentSchedule())
    #: a financed car driven more than this in stock (demo or test-drive abuse) raises an alert
    odometer_threshold_km: int = Field(default=200, ge=1, le=100_000)
    maturity_date: date | None = None


class LineStatus(StrEnum):
    OPEN = "OPEN"
    SUSPENDED = "SUSPENDED"  # the dealer left the whitelist: no new advances
    CLOSED = "CLOSED"


class CreditLine(Record):
    line_id: str
    lender: str
    dealer_id: str
    dealer_msp_id: str
    approver_msp_id: str
    limit: Decimal
    currency: str
    rate: Decimal
    curtailment: CurtailmentSchedule
    odometer_threshold_km: int
    maturity_date: date | None = None
    status: LineStatus = LineStatus.OPEN
    #: the principal outstanding on open advances (kept by every advance, payment and sale)
    outstanding: Decimal = Decimal(0)
    open_advances: int = 0
    advanced_total: Decimal = Decimal(0)
    repaid_total: Decimal = Decimal(0)
    opened_at: str
    updated_at: str
    tx_id: str


# --- advances and the floor-plan lien ------------------------------------------------------------


class AdvanceIn(Request):
    advance_id: AdvanceId = Field(examples=["ADV-0001"])
    line_id: Identifier
    vin: Vin
    amount: Money
    #: the odometer when the car entered stock (the base for the in-stock mileage check)
    odometer_km: Km
    stock_number: Identifier | None = None


class AdvanceStatus(StrEnum):
    OPEN = "OPEN"
    PAID_OFF = "PAID_OFF"  # repaid without a sale (car returned, dealer paid)
    SOLD = "SOLD"  # paid off at the retail sale


class Advance(Record):
    advance_id: str
    line_id: str
    vin: str
    lender: str
    dealer_id: str
    dealer_msp_id: str
    amount: Decimal
    outstanding: Decimal
    currency: str
    stock_number: str | None = None
    odometer_km: int
    advanced_on: date
    advanced_at: str
    status: AdvanceStatus = AdvanceStatus.OPEN
    floor_plan_lien_id: str
    #: curtailment installments already alerted as unpaid (each alerts once)
    alerted_installments: list[int] = Field(default_factory=list)
    odometer_alerted: bool = False
    ended_at: str | None = None
    payment_reference: str | None = None
    updated_at: str
    tx_id: str


class FloorPlanLienStatus(StrEnum):
    RECORDED = "RECORDED"
    RELEASED = "RELEASED"


class FloorPlanLien(Record):
    """The lender's security interest in one car of the dealer's stock (its own lien type: it is not a
    consumer lien, has no priority among them and ends only by payoff)."""

    lien_id: str
    lien_type: Literal["floor_plan"] = "floor_plan"
    vin: str
    lienholder: str
    advance_id: str
    line_id: str
    dealer_id: str
    secured_amount: Decimal
    currency: str
    status: FloorPlanLienStatus = FloorPlanLienStatus.RECORDED
    recorded_at: str
    ended_at: str | None = None
    end_reason: str | None = None
    tx_id: str


class PaymentIn(Request):
    """A curtailment or payoff the lender received."""

    amount: Money
    currency: Currency
    paid_on: date
    payment_reference: Identifier


class ConsumerLienIn(Request):
    """The buyer's lender's lien, requested by the sale (the registrar records it later, with LTV)."""

    lien_id: Identifier
    lienholder: MspId
    loan_number: Identifier
    mortgage_contract_number: Identifier
    secured_amount: Money
    maturity_date: date
    consent_document_id: Identifier


class RetailSaleIn(Request):
    """Selling a financed car to a consumer: payoff, lien release, title and the consumer lien at once."""

    advance_id: AdvanceId
    sale_price: Money
    currency: Currency
    buyer_owner_hash: Sha256Hex
    sale_document_id: Identifier
    payoff: PaymentIn
    consumer_lien: ConsumerLienIn | None = None


# --- floor checks ------------------------------------------------------------------------------


class FloorCheckIn(Request):
    check_id: Identifier = Field(examples=["FC-2026-12-07"])
    line_id: Identifier
    location: ShortText


class ScanIn(Request):
    """One car seen on the lot: its QR code (or VIN), where, and optionally its odometer."""

    code_id: Identifier | None = None
    vin: Vin | None = None
    place: ShortText
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    odometer_km: Km | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> ScanIn:
        if (self.code_id is None) == (self.vin is None):
            raise ValueError("give exactly one of code_id (the scanned QR code) or vin")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together")
        return self


class FloorCheckStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class FloorCheck(Record):
    check_id: str
    line_id: str
    lender: str
    dealer_id: str
    location: str
    status: FloorCheckStatus = FloorCheckStatus.OPEN
    opened_by: str
    opened_at: str
    scans: int = 0
    closed_at: str | None = None
    seen: list[str] = Field(default_factory=list)
    not_seen: list[str] = Field(default_factory=list)
    not_financed: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    tx_id: str


class FloorCheckScan(Record):
    check_id: str
    vin: str
    code_id: str | None = None
    place: str
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    odometer_km: int | None = None
    seen_at: str
    scanned_by: str
    advance_id: str | None = None  # None: the car is not financed under this line
    tx_id: str


# --- receivables -------------------------------------------------------------------------------


class ReceivableKind(StrEnum):
    REBATE = "rebate"
    HOLDBACK = "holdback"
    INCENTIVE = "incentive"
    OTHER = "other"


class ReceivableIn(Request):
    receivable_id: Identifier = Field(examples=["REB-2026-Q4-001"])
    debtor_msp_id: MspId = Field(examples=["ManufacturerMSP"])
    line_id: Identifier
    kind: ReceivableKind
    amount: Money
    currency: Currency
    due_date: date
    document_id: Identifier | None = None


class PledgeStatus(StrEnum):
    PLEDGED = "PLEDGED"
    RELEASED = "RELEASED"


class ReceivablePledge(Record):
    receivable_id: str
    debtor_msp_id: str
    line_id: str
    kind: ReceivableKind
    amount: Decimal
    currency: str
    due_date: date
    document_id: str | None = None
    pledgor_msp_id: str
    dealer_id: str
    pledgee: str
    status: PledgeStatus = PledgeStatus.PLEDGED
    pledged_at: str
    released_at: str | None = None
    tx_id: str


class FloorPlanQuery(Request):
    lender: MspId | None = None
    dealer_id: Identifier | None = None


__all__ = [
    "Advance",
    "AdvanceId",
    "AdvanceIn",
    "AdvanceStatus",
    "ConsumerLienIn",
    "CreditLine",
    "CreditLineIn",
    "CurtailmentSchedule",
    "FloorCheck",
    "FloorCheckIn",
    "FloorCheckScan",
    "FloorCheckStatus",
    "FloorPlanLien",
    "FloorPlanLienStatus",
    "FloorPlanQuery",
    "LineStatus",
    "PaymentIn",
    "PledgeStatus",
    "ReceivableIn",
    "ReceivableKind",
    "ReceivablePledge",
    "RetailSaleIn",
    "ScanIn",
    "WhitelistEntry",
    "WhitelistIn",
    "floor_plan_lien_id",
]
