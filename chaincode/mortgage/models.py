"""Pydantic models of the Mortgage-Asset contract: the requests it accepts and the records it stores.

Requests refuse unknown fields, so a misspelt field is a 400 naming it instead of silently ignored data.
Records are what goes on the ledger, serialized as stable JSON (see :func:`chaincode.mortgage.codec.dumps`).
The gateway imports the request models to validate at its edge with the same rules.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .text import clean_line, clean_text
from .vin import VinError, validate_vin

# --- field types ----------------------------------------------------------------------------


def _vin(value: str) -> str:
    try:
        return validate_vin(value)
    except VinError as exc:
        raise ValueError(str(exc)) from None


def _cid(value: str) -> str:
    if re.fullmatch(r"Qm[1-9A-HJ-NP-Za-km-z]{44}", value) or re.fullmatch(r"b[a-z2-7]{20,120}", value):
        return value
    raise ValueError("not an IPFS CID (CIDv0 'Qm…' base58 or CIDv1 base32 'b…')")


Vin = Annotated[str, AfterValidator(_vin)]
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
MspId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.-]+$")]
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True), AfterValidator(clean_text)
]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True), AfterValidator(clean_line)
]
#: One line of at most ``n`` characters (may be empty).
Line64 = Annotated[str, StringConstraints(max_length=64), AfterValidator(clean_line)]
Line100 = Annotated[str, StringConstraints(max_length=100), AfterValidator(clean_line)]
Plate = Annotated[str, StringConstraints(min_length=2, max_length=16, pattern=r"^[A-Z0-9\u4e00-\u9fff·-]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Cid = Annotated[str, AfterValidator(_cid)]
Money = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
MoneyOrZero = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Km = Annotated[int, Field(ge=0, le=10_000_000)]

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Request(BaseModel):
    model_config = STRICT


# --- enums ----------------------------------------------------------------------------------


class VehicleStatus(StrEnum):
    REGISTERED = "REGISTERED"
    MORTGAGED = "MORTGAGED"
    SEIZED = "SEIZED"
    IN_DISPOSAL = "IN_DISPOSAL"
    DISPOSED = "DISPOSED"
    SCRAPPED = "SCRAPPED"


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


class DocType(StrEnum):
    OWNER_CONSENT = "owner_consent"
    MORTGAGE_CONTRACT = "mortgage_contract"
    COURT_ORDER = "court_order"
    SEIZURE_ORDER = "seizure_order"
    RELEASE_ORDER = "release_order"
    FORECLOSURE_NOTICE = "foreclosure_notice"
    SALE_CONTRACT = "sale_contract"
    TRANSFER_DEED = "transfer_deed"
    LIENHOLDER_CONSENT = "lienholder_consent"
    INSURANCE_POLICY = "insurance_policy"
    VALUATION_REPORT = "valuation_report"
    MAINTENANCE_INVOICE = "maintenance_invoice"
    SCRAP_CERTIFICATE = "scrap_certificate"
    SALE_ORDER = "sale_order"
    SALE_COSTS = "sale_costs"
    APPRAISAL = "appraisal"
    MODEL_CARD = "model_card"
    POLICE_REPORT = "police_report"
    CUSTOMS_NOTICE = "customs_notice"
    SCRAP_NOTICE = "scrap_notice"
    LOSS_REPORT = "loss_report"
    CORRECTION_EVIDENCE = "correction_evidence"
    REGISTRATION_CHANGE = "registration_change"
    PAYOFF_RECEIPT = "payoff_receipt"
    OTHER = "other"


class CoverageType(StrEnum):
    COMPULSORY = "compulsory"
    COMPREHENSIVE = "comprehensive"
    THIRD_PARTY = "third_party"
    THEFT = "theft"
    COLLISION = "collision"


class PolicyStatus(StrEnum):
    ACTIVE = "ACTIVE"
    LAPSED = "LAPSED"


# --- requests -------------------------------------------------------------------------------

#: A configuration value: a short one-line string (the 9.6 MB value of issue 12 is refused), or a scalar.
ConfigValue = (
    Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_line)] | int | float | bool
)
ConfigKey = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(clean_line)]


class VehicleIn(Request):
    vin: Vin
    plate: Plate
    make: ShortText
    model: ShortText
    trim: Line100 = ""
    year: Annotated[int, Field(ge=1950, le=2100)]
    configuration: dict[ConfigKey, ConfigValue] = {}
    registration_date: date
    new_price: Money | None = None
    currency: Currency | None = None
    region: Line64 | None = None

    @model_validator(mode="after")
    def _price_has_currency(self) -> VehicleIn:
        if self.new_price is not None and self.currency is None:
            raise ValueError("currency is required when new_price is given")
        if len(self.configuration) > 64:
            raise ValueError("configuration: at most 64 entries")
        return self


class OwnerIn(Request):
    """Owner personal data; arrives in the transient map only and is stored in ``ownerPrivate``."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
        AfterValidator(clean_line),
    ]
    id_number: Annotated[
        str, StringConstraints(min_length=4, max_length=64, strip_whitespace=True), AfterValidator(clean_line)
    ]
    phone: Annotated[str, StringConstraints(max_length=32), AfterValidator(clean_line)] | None = None
    address: Annotated[str, StringConstraints(max_length=300), AfterValidator(clean_text)] | None = None


class TransferIn(Request):
    new_owner_hash: Sha256Hex
    reason: Text
    document_id: Identifier | None = None
    lienholder_consent_document_id: Identifier | None = None


class OrderIn(Request):
    document_id: Identifier
    authority: ShortText
    reason: Text


class LienRequestIn(Request):
    lien_id: Identifier
    vin: Vin
    loan_number: Identifier
    mortgage_contract_number: Identifier
    secured_amount: Money
    currency: Currency
    maturity_date: date
    consent_document_id: Identifier


class SaleMode(StrEnum):
    """How a foreclosure sale treats liens senior to the foreclosing one."""

    #: every lien is discharged: each senior consented, or a court sale order is anchored
    FREE_AND_CLEAR = "free_and_clear"
    #: seniors stay on the vehicle and the buyer takes title subject to them
    SUBJECT_TO_SENIOR = "subject_to_senior_liens"


class DisposalIn(Request):
    sale_price: MoneyOrZero
    currency: Currency
    buyer_owner_hash: Sha256Hex
    sale_document_id: Identifier
    mode: SaleMode = SaleMode.FREE_AND_CLEAR
    costs: MoneyOrZero = Decimal(0)
    costs_document_id: Identifier | None = None

    @model_validator(mode="after")
    def _costs_documented(self) -> DisposalIn:
        if self.costs > 0 and self.costs_document_id is None:
            raise ValueError("costs_document_id is required when costs are claimed")
        if self.costs > self.sale_price:
            raise ValueError("costs must not exceed sale_price")
        return self


class VehicleQuery(Request):
    status: VehicleStatus | None = None
    owner_hash: Sha256Hex | None = None
    lienholder: MspId | None = None
    make: ShortText | None = None


class LienQuery(Request):
    vin: Vin | None = None
    lienholder: MspId | None = None
    status: LienStatus | None = None


class CoverageIn(Request):
    type: CoverageType
    amount: Money
    currency: Currency


class InsurancePolicyIn(Request):
    policy_id: Identifier
    vin: Vin
    coverage: CoverageIn
    valid_from: date
    valid_to: date
    document_id: Identifier | None = None

    @model_validator(mode="after")
    def _validity(self) -> InsurancePolicyIn:
        if self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class ClaimIn(Request):
    claim_id: Identifier
    policy_id: Identifier
    incident_date: date
    amount: Money
    description: Text


class MaintenanceIn(Request):
    record_id: Identifier
    vin: Vin
    date: date
    odometer_km: Km
    cost: MoneyOrZero
    currency: Currency
    kind: ShortText
    description: Text


class OdometerIn(Request):
    vin: Vin
    odometer_km: Km
    source: ShortText
    recorded_at: date | None = None


class ValuationIn(Request):
    valuation_id: Identifier
    vin: Vin
    value: Money
    currency: Currency
    interval_low: MoneyOrZero
    interval_high: Money
    coverage: Annotated[Decimal, Field(gt=0, le=1, max_digits=6, decimal_places=4)]
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


class DocumentIn(Request):
    document_id: Identifier
    doc_type: DocType
    cid: Cid
    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0, le=10**12)]
    encryption_key_ref: Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_line)]
    vin: Vin | None = None
    lien_id: Identifier | None = None
    #: The orgs whose keys wrap the document's data key (who may read it); None: a legacy anchor.
    parties: Annotated[list[MspId], Field(min_length=1, max_length=16)] | None = None

    @model_validator(mode="after")
    def _unique_parties(self) -> DocumentIn:
        if self.parties is not None:
            if len(set(self.parties)) != len(self.parties):
                raise ValueError("parties: each org at most once")
            self.parties = sorted(self.parties)
        return self


class DocumentQuery(Request):
    vin: Vin | None = None
    lien_id: Identifier | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DocumentQuery:
        if (self.vin is None) == (self.lien_id is None):
            raise ValueError("give exactly one of vin, lien_id")
        return self


class QrCodeIn(Request):
    code_id: Identifier
    payload_sha256: Sha256Hex


class ConfigIn(Request):
    ltv_cap: Annotated[Decimal, Field(gt=0, le=2, max_digits=6, decimal_places=4)]
    valuation_max_age_days: Annotated[int, Field(ge=1, le=3650)]


# --- stored records -------------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LienRef(Record):
    lien_id: str
    lienholder: str
    priority: int


class Seizure(Record):
    document_id: str
    authority: str
    reason: str
    at: str


class HoldKind(StrEnum):
    """Holds the vehicle office sets and lifts with a document; each blocks new liens and transfers."""

    STOLEN = "stolen"
    CUSTOMS = "customs"
    SCRAP_AGE = "scrap_age"


class BrandKind(StrEnum):
    """Title brands an insurer records; permanent and public."""

    TOTAL_LOSS = "total_loss"
    SALVAGE = "salvage"
    FLOOD = "flood"


class Hold(Record):
    kind: HoldKind
    document_id: str
    authority: str
    reason: str
    at: str


class Brand(Record):
    kind: BrandKind
    document_id: str
    insurer: str
    claim_id: str | None = None
    at: str


class Vehicle(Record):
    vin: str
    plate: str
    make: str
    model: str
    trim: str
    year: int
    configuration: dict[str, Any]
    registration_date: date
    new_price: Decimal | None
    currency: str | None
    region: str | None
    owner_hash: str
    status: VehicleStatus
    liens: list[LienRef] = []
    next_priority: int = 1
    seizure: Seizure | None = None
    holds: list[Hold] = []
    brands: list[Brand] = []
    colour: str | None = None
    engine_number: str | None = None
    registered_at: str
    updated_at: str
    last_tx_id: str

    @property
    def lienholders(self) -> list[str]:
        return sorted({ref.lienholder for ref in self.liens})


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
    consent_document_id: str
    status: LienStatus
    priority: int | None = None
    requested_at: str
    recorded_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    release_document_id: str | None = None
    pending_assignee: str | None = None
    assignments: list[Assignment] = []
    foreclosure_notice_document_id: str | None = None
    paid: Decimal | None = None
    shortfall: Decimal | None = None  # the deficiency left after a disposal
    version: int = 1  # +1 on every amendment, extension or correction (key history keeps each)
    updated_at: str
    last_tx_id: str


class OwnerRecord(Record):
    vin: str
    name: str
    id_number: str
    phone: str | None
    address: str | None
    owner_hash: str
    salt_hex: str
    since: str


class Coverage(Record):
    type: CoverageType
    amount: Decimal
    currency: str


class InsurancePolicy(Record):
    policy_id: str
    vin: str
    insurer: str
    coverage: Coverage
    valid_from: date
    valid_to: date
    document_id: str | None
    status: PolicyStatus
    lapsed_at: str | None = None
    lapse_reason: str | None = None
    recorded_at: str
    last_tx_id: str


class Claim(Record):
    claim_id: str
    policy_id: str
    vin: str
    incident_date: date
    amount: Decimal
    description: str
    filed_at: str
    last_tx_id: str


class MaintenanceRecord(Record):
    record_id: str
    vin: str
    dealer: str
    date: date
    odometer_km: int
    cost: Decimal
    currency: str
    kind: str
    description: str
    odometer_anomaly: bool
    recorded_at: str
    last_tx_id: str


class OdometerReading(Record):
    vin: str
    seq: int
    odometer_km: int
    source: str
    reading_date: date
    recorded_by: str
    recorded_at: str
    anomaly: bool
    previous_km: int | None
    tx_id: str


class OdometerState(Record):
    vin: str
    odometer_km: int
    last_reading_at: str
    readings: int
    anomalies: int


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


class Document(Record):
    document_id: str
    doc_type: DocType
    cid: str
    sha256: str
    size: int
    encryption_key_ref: str
    vin: str | None
    lien_id: str | None
    anchored_by: str
    anchored_at: str
    tx_id: str
    parties: list[str] | None = None


class QrIdentity(Record):
    code_id: str
    vin: str
    payload_sha256: str
    issued_at: str
    revoked: bool = False
    revoked_at: str | None = None
    superseded_by: str | None = None
    tx_id: str


class Config(Record):
    ltv_cap: Decimal = Decimal("0.8")
    valuation_max_age_days: int = 90
    updated_at: str | None = None


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
    authority: list[str] = []
    #: senior liens left on the vehicle (mode subject_to_senior_liens)
    liens_remaining: list[str] = []
