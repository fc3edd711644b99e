"""Vehicles: the registration request, owner data, transfer and court orders, and the stored vehicle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ..text import clean_line, clean_text
from .fields import (
    Currency,
    Identifier,
    Line64,
    Line100,
    Money,
    MspId,
    Plate,
    Record,
    Request,
    Sha256Hex,
    ShortText,
    Text,
    Vin,
)


class VehicleStatus(StrEnum):
    REGISTERED = "REGISTERED"
    MORTGAGED = "MORTGAGED"
    SEIZED = "SEIZED"
    IN_DISPOSAL = "IN_DISPOSAL"
    DISPOSED = "DISPOSED"
    SCRAPPED = "SCRAPPED"
    #: in a dealer's stock, financed by a floor-plan advance (a floor-plan lien secures it)
    FLOOR_PLAN = "FLOOR_PLAN"


#: A configuration value: a short one-line string (the 9.6 MB value of issue 12 is refused), or a scalar.
ConfigValue = (
    Annotated[str, StringConstraints(max_length=200), AfterValidator(clean_line)] | int | float | bool
)


ConfigKey = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(clean_line)]


class VehicleIn(Request):
    vin: Vin = Field(examples=["1M8GDM9AXKP042788"])
    plate: Plate = Field(examples=["京A12345"])
    make: ShortText = Field(examples=["BYD"])
    model: ShortText = Field(examples=["Han"])
    trim: Line100 = Field(default="", examples=["EV 610km"])
    year: Annotated[int, Field(ge=1950, le=2100, examples=[2024])]
    configuration: dict[ConfigKey, ConfigValue] = Field(default_factory=dict)
    registration_date: date
    new_price: Money | None = None
    currency: Currency | None = None
    region: Line64 | None = Field(default=None, examples=["Beijing"])

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


class TransferTerms(Request):
    """What a title transfer states besides the new owner (the API takes the owner's data instead of
    its hash, and computes the hash)."""

    reason: Text
    document_id: Identifier | None = None
    lienholder_consent_document_id: Identifier | None = None
    #: the current owner's signed consent (kind transfer) to title going to new_owner_hash
    owner_consent_id: Identifier | None = None


class TransferIn(TransferTerms):
    new_owner_hash: Sha256Hex


class OrderIn(Request):
    document_id: Identifier
    authority: ShortText = Field(examples=["Beijing Chaoyang District Court"])
    reason: Text


class VehicleQuery(Request):
    status: VehicleStatus | None = None
    owner_hash: Sha256Hex | None = None
    lienholder: MspId | None = None
    make: ShortText | None = None


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
    liens: list[LienRef] = Field(default_factory=list)
    next_priority: int = 1
    seizure: Seizure | None = None
    holds: list[Hold] = Field(default_factory=list)
    brands: list[Brand] = Field(default_factory=list)
    colour: str | None = None
    engine_number: str | None = None
    registered_at: str
    updated_at: str
    last_tx_id: str

    @property
    def lienholders(self) -> list[str]:
        return sorted({ref.lienholder for ref in self.liens})


class OwnerRecord(Record):
    vin: str
    name: str
    id_number: str
    phone: str | None
    address: str | None
    owner_hash: str
    salt_hex: str
    since: str


__all__ = [
    "Brand",
    "BrandKind",
    "ConfigKey",
    "ConfigValue",
    "Hold",
    "HoldKind",
    "LienRef",
    "OrderIn",
    "OwnerIn",
    "OwnerRecord",
    "Seizure",
    "TransferIn",
    "TransferTerms",
    "Vehicle",
    "VehicleIn",
    "VehicleQuery",
    "VehicleStatus",
]
