"""Request and response models at the API edge (field names as in docs/mortgage-chaincode.md).

The chaincode validates everything again and is the authority; these models give clients an
OpenAPI schema with examples and catch malformed input before a proposal is signed.
Money is a decimal with at most two places, sent to the chaincode as a string.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from chaincode.mortgage.text import clean_line, clean_text
from chaincode.mortgage.vin import VinError, validate_vin

EXAMPLE_VIN = "1M8GDM9AXKP042788"

Money = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2, examples=["120000.00"])]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["CNY"])]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(clean_text)]
#: One line, no control characters (key-forming and short fields); ``Line`` adds the length bounds.
Line = AfterValidator(clean_line)
Vin = Annotated[str, Field(min_length=17, max_length=17, examples=[EXAMPLE_VIN])]

DocType = Literal[
    "owner_consent",
    "mortgage_contract",
    "court_order",
    "seizure_order",
    "release_order",
    "foreclosure_notice",
    "sale_contract",
    "transfer_deed",
    "lienholder_consent",
    "insurance_policy",
    "valuation_report",
    "maintenance_invoice",
    "scrap_certificate",
    "sale_order",
    "sale_costs",
    "appraisal",
    "model_card",
    "police_report",
    "customs_notice",
    "scrap_notice",
    "loss_report",
    "correction_evidence",
    "registration_change",
    "payoff_receipt",
    "other",
]
VehicleStatus = Literal["REGISTERED", "MORTGAGED", "SEIZED", "IN_DISPOSAL", "DISPOSED", "SCRAPPED"]
LienStatus = Literal[
    "REQUESTED",
    "RECORDED",
    "REJECTED",
    "RELEASED",
    "ASSIGNMENT_PENDING",
    "FORECLOSING",
    "DISCHARGED",
    "LAPSED",
    "CANCELLED",
]
BankMsp = Literal["BankAMSP", "BankBMSP"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def chaincode_json(self) -> str:
        """Compact JSON for the chaincode argument (decimals as strings, dates as YYYY-MM-DD)."""
        return self.model_dump_json(exclude_none=True)


def _check_vin(value: str) -> str:
    try:
        return validate_vin(value)
    except VinError as exc:
        raise ValueError(str(exc)) from exc


# --- owners (personal data: transient only, never on chain) --------------------------------------


class OwnerData(Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), Line] = Field(examples=["Li Wei"])
    id_number: Annotated[str, Field(min_length=4, max_length=64, examples=["110101199003071234"]), Line]
    phone: Annotated[str, Line] | None = Field(default=None, max_length=32)
    address: Annotated[str, AfterValidator(clean_text)] | None = Field(default=None, max_length=300)

    def transient(self) -> tuple[dict[str, bytes], str]:
        """The transient map (owner JSON + a fresh salt) and the owner hash the contract recomputes."""
        salt = secrets.token_bytes(16)
        owner_hash = hashlib.sha256(salt + self.id_number.strip().upper().encode()).hexdigest()
        return {"owner": self.chaincode_json().encode(), "owner_salt": salt}, owner_hash


#: Configuration entries: short one-line keys and values (values at most 200 characters).
ConfigKey = Annotated[str, Field(min_length=1, max_length=64), Line]
ConfigValue = Annotated[str, Field(max_length=200), Line] | int | float | bool


# --- vehicles ------------------------------------------------------------------------------------


class VehicleIn(Strict):
    vin: Vin
    plate: Annotated[
        str, Field(min_length=2, max_length=16, pattern="^[A-Z0-9\u4e00-\u9fff·-]+$", examples=["京A12345"])
    ]
    make: Annotated[str, Field(min_length=1, max_length=64, examples=["BYD"]), Line]
    model: Annotated[str, Field(min_length=1, max_length=64, examples=["Han"]), Line]
    trim: Annotated[str, Field(min_length=1, max_length=64, examples=["EV 610km"]), Line]
    year: Annotated[int, Field(ge=1900, le=2100, examples=[2024])]
    configuration: dict[ConfigKey, ConfigValue] = Field(
        default_factory=dict, max_length=64, examples=[{"color": "white", "battery_kwh": 85.4}]
    )
    registration_date: date
    new_price: Money | None = None
    currency: Currency | None = None
    region: Annotated[str, Line] | None = Field(default=None, max_length=64, examples=["Beijing"])

    _vin = field_validator("vin")(_check_vin)


class VehicleRegistration(Strict):
    vehicle: VehicleIn
    owner: OwnerData

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "vehicle": {
                        "vin": EXAMPLE_VIN,
                        "plate": "京A12345",
                        "make": "BYD",
                        "model": "Han",
                        "trim": "EV 610km",
                        "year": 2024,
                        "configuration": {"color": "white"},
                        "registration_date": "2024-03-01",
                        "new_price": "259800.00",
                        "currency": "CNY",
                        "region": "Beijing",
                    },
                    "owner": {"name": "Li Wei", "id_number": "110101199003071234"},
                }
            ]
        },
    )


class TitleTransferIn(Strict):
    new_owner: OwnerData
    reason: Text = Field(examples=["sale"])
    document_id: Id | None = None
    lienholder_consent_document_id: Id | None = None


class CourtOrder(Strict):
    document_id: Id
    authority: Text = Field(examples=["Beijing Chaoyang District Court"])
    reason: Text = Field(examples=["enforcement of judgment (2026) Jing 0105 Zhi 123"])


class ScrapIn(Strict):
    document_id: Id


# --- liens ---------------------------------------------------------------------------------------


class LienRequestIn(Strict):
    lien_id: Id = Field(examples=["L-2026-0001"])
    vin: Vin
    loan_number: Id = Field(examples=["BA-LOAN-778"])
    mortgage_contract_number: Id = Field(examples=["BA-MC-778"])
    secured_amount: Money
    currency: Currency
    maturity_date: date
    consent_document_id: Id

    _vin = field_validator("vin")(_check_vin)


class RejectIn(Strict):
    reason: Text


class CourtReleaseIn(Strict):
    court_order_document_id: Id


class AssignmentIn(Strict):
    assignee_msp_id: BankMsp


class ForeclosureIn(Strict):
    notice_document_id: Id


class DisposalIn(Strict):
    sale_price: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2, examples=["98000.00"])]
    currency: Currency
    buyer: OwnerData
    sale_document_id: Id
    mode: Literal["free_and_clear", "subject_to_senior_liens"] = Field(
        default="free_and_clear",
        description="free_and_clear: every lien discharged (seniors consented or a court sale order); "
        "subject_to_senior_liens: seniors stay on the vehicle",
    )
    costs: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)] = Decimal(0)
    costs_document_id: Id | None = None


# --- insurance, records, valuations, config -----------------------------------------------------


class Coverage(Strict):
    type: Literal["compulsory", "comprehensive", "third_party", "theft", "collision"]
    amount: Money
    currency: Currency


class InsurancePolicyIn(Strict):
    policy_id: Id
    vin: Vin
    coverage: Coverage
    valid_from: date
    valid_to: date
    document_id: Id | None = None

    _vin = field_validator("vin")(_check_vin)


class LapseIn(Strict):
    reason: Text


class ClaimIn(Strict):
    claim_id: Id
    policy_id: Id
    incident_date: date
    amount: Money
    description: Text


class MaintenanceIn(Strict):
    record_id: Id
    vin: Vin
    date: date
    odometer_km: Annotated[int, Field(ge=0, le=5_000_000)]
    cost: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
    currency: Currency
    kind: Annotated[str, Field(min_length=1, max_length=64, examples=["service"]), Line]
    description: Text

    _vin = field_validator("vin")(_check_vin)


class OdometerIn(Strict):
    vin: Vin
    odometer_km: Annotated[int, Field(ge=0, le=5_000_000)]
    source: Annotated[str, Field(min_length=1, max_length=64, examples=["dealer_inspection"]), Line]
    recorded_at: datetime | None = None

    _vin = field_validator("vin")(_check_vin)


class ValuationIn(Strict):
    valuation_id: Id
    vin: Vin
    value: Money
    currency: Currency
    interval_low: Money
    interval_high: Money
    coverage: Annotated[float, Field(gt=0, le=1, examples=[0.9])]
    model_id: Annotated[str, Field(min_length=1, max_length=64), Line]
    model_version: Annotated[str, Field(min_length=1, max_length=64), Line]
    inputs_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    valuer: Annotated[str, Field(min_length=1, max_length=100), Line]
    appraisal_document_id: Id | None = Field(
        default=None, description="model_id 'manual' only: the anchored appraisal (role appraiser)"
    )

    _vin = field_validator("vin")(_check_vin)


class ConfigIn(Strict):
    ltv_cap: Annotated[Decimal, Field(gt=0, le=2, max_digits=6, decimal_places=4, examples=["0.8"])]
    valuation_max_age_days: Annotated[int, Field(ge=1, le=3650, examples=[90])]


class QrVerifyIn(Strict):
    payload: Annotated[str, Field(min_length=1, max_length=4096, description="The QR code's text.")]


# --- responses -----------------------------------------------------------------------------------


class TxResponse(BaseModel):
    """A committed transaction and the chaincode's result."""

    tx_id: str
    block_number: int
    validation_code: str
    timestamp: datetime
    result: Any = None


class Page(BaseModel):
    records: list[dict[str, Any]]
    bookmark: str = ""
    fetched: int = 0


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    msp_id: str
