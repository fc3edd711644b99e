"""Request and response models at the API edge (field names as in docs/mortgage-chaincode.md).

Request bodies are the contract's own models (:mod:`chaincode.mortgage.models`, re-exported here), so
the gateway refuses exactly what the chaincode would, before a proposal is signed, and the two cannot
drift. Only where the API takes what the chaincode never sees — an owner's personal data, from which
the gateway computes the owner hash and the transient map — does a body build on the contract's terms
(:class:`OwnerData`, :class:`VehicleRegistration`, :class:`TitleTransferIn`, :class:`DisposalIn`);
the rest are path parameters in a body (one id or a reason) and the responses.
Money is a decimal with at most two places, sent to the chaincode as a string.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chaincode.mortgage.models import (
    ClaimIn,
    ConfigIn,
    ConfigKey,
    ConfigValue,
    Currency,
    DisposalTerms,
    DocType,
    InsurancePolicyIn,
    LienRequestIn,
    LienStatus,
    MaintenanceIn,
    Money,
    OdometerIn,
    OwnerIn,
    Request,
    TransferTerms,
    ValuationIn,
    VehicleIn,
    VehicleStatus,
    Vin,
)
from chaincode.mortgage.models import CoverageIn as Coverage
from chaincode.mortgage.models import OrderIn as CourtOrder
from chaincode.mortgage.text import clean_line, clean_text

EXAMPLE_VIN = "1M8GDM9AXKP042788"

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(clean_text)]
#: One line, no control characters (key-forming and short fields, path parameters).
Line = AfterValidator(clean_line)
BankMsp = Literal["BankAMSP", "BankBMSP"]

#: The base of every request body: unknown fields refused, ``chaincode_json()`` for the argument.
Strict = Request


# --- owners (personal data: transient only, never on chain) --------------------------------------


class OwnerData(OwnerIn):
    """The contract's owner record as the API takes it; it travels in the transient map only."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Li Wei", "id_number": "110101199003071234"}]},
    )

    def transient(self) -> tuple[dict[str, bytes], str]:
        """The transient map (owner JSON + a fresh salt) and the owner hash the contract recomputes."""
        salt = secrets.token_bytes(16)
        owner_hash = hashlib.sha256(salt + self.id_number.strip().upper().encode()).hexdigest()
        return {"owner": self.chaincode_json().encode(), "owner_salt": salt}, owner_hash


# --- vehicles ------------------------------------------------------------------------------------


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


class TitleTransferIn(TransferTerms):
    """The contract's transfer terms with the new owner's data instead of its hash."""

    new_owner: OwnerData


class ScrapIn(Strict):
    document_id: Id


# --- liens ---------------------------------------------------------------------------------------


class RejectIn(Strict):
    reason: Text


class CourtReleaseIn(Strict):
    court_order_document_id: Id


class AssignmentIn(Strict):
    assignee_msp_id: BankMsp


class ForeclosureIn(Strict):
    notice_document_id: Id


class DisposalIn(DisposalTerms):
    """The contract's disposal terms with the buyer's data instead of its hash."""

    buyer: OwnerData


# --- insurance, records, valuations, config, QR ---------------------------------------------------


class LapseIn(Strict):
    reason: Text


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


__all__ = [
    "EXAMPLE_VIN",
    "AssignmentIn",
    "BankMsp",
    "ClaimIn",
    "ConfigIn",
    "ConfigKey",
    "ConfigValue",
    "CourtOrder",
    "CourtReleaseIn",
    "Coverage",
    "Currency",
    "DisposalIn",
    "DocType",
    "ForeclosureIn",
    "Id",
    "InsurancePolicyIn",
    "LapseIn",
    "LienRequestIn",
    "LienStatus",
    "Line",
    "MaintenanceIn",
    "Money",
    "OdometerIn",
    "OwnerData",
    "Page",
    "QrVerifyIn",
    "RejectIn",
    "ScrapIn",
    "Strict",
    "Text",
    "TitleTransferIn",
    "TokenResponse",
    "TxResponse",
    "ValuationIn",
    "VehicleIn",
    "VehicleRegistration",
    "VehicleStatus",
    "Vin",
]
