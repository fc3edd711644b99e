"""Field types and the two bases of the contract's models: requests (arguments) and records (state)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..text import clean_line, clean_text
from ..vin import VinError, validate_vin


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
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(examples=["CNY"])]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Cid = Annotated[str, AfterValidator(_cid)]
Money = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2, examples=["120000.00"])]
MoneyOrZero = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Km = Annotated[int, Field(ge=0, le=10_000_000)]

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Request(BaseModel):
    """A transaction's JSON argument: unknown fields refused, so a misspelt field is a 400 naming it."""

    model_config = STRICT

    def chaincode_json(self) -> str:
        """The argument as a client sends it: compact JSON, decimals as strings, dates as YYYY-MM-DD."""
        return self.model_dump_json(exclude_none=True)


class Record(BaseModel):
    """What the contract stores (stable JSON); unknown fields refused when read back."""

    model_config = ConfigDict(extra="forbid")


__all__ = [
    "STRICT",
    "Cid",
    "Currency",
    "Identifier",
    "Km",
    "Line64",
    "Line100",
    "Money",
    "MoneyOrZero",
    "MspId",
    "Plate",
    "Record",
    "Request",
    "Sha256Hex",
    "ShortText",
    "Text",
    "Vin",
]
