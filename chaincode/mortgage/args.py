"""Checks of the raw-string arguments and the transient map, each refusal a 400 naming the argument.

Objects arrive as JSON and are validated by the request models; these cover what arrives as a bare
string (a VIN, an id, a reason, a plate) or as a transient value (owner personal data).
"""

from __future__ import annotations

from typing import TypeVar

import pydantic

from chaincode.runtime.errors import BadRequestError
from chaincode.runtime.interfaces import ChaincodeStub

from .text import bad_character
from .vin import VinError, validate_vin

M = TypeVar("M", bound=pydantic.BaseModel)

ID_MAX = 64


def arg_vin(vin: str, name: str = "vin") -> str:
    try:
        return validate_vin(vin)
    except VinError as exc:
        raise BadRequestError(f"invalid argument '{name}': {exc}") from None


def arg_id(value: str, name: str) -> str:
    if not value or len(value) > ID_MAX or not (value[0].isascii() and value[0].isalnum()):
        raise BadRequestError(f"invalid argument '{name}': must be 1..{ID_MAX} characters [A-Za-z0-9._:-]")
    if not all(c.isascii() and (c.isalnum() or c in "._:-") for c in value):
        raise BadRequestError(f"invalid argument '{name}': only A-Z, a-z, 0-9 and . _ : - are allowed")
    return value


def arg_text(value: str, name: str) -> str:
    value = value.strip()
    if not value or len(value) > 500:
        raise BadRequestError(f"invalid argument '{name}': must be 1..500 characters")
    reason = bad_character(value, multiline=True)
    if reason:
        raise BadRequestError(f"invalid argument '{name}': {reason}")
    return value


def arg_plate(value: str, name: str = "plate") -> str:
    if not value or len(value) > 16:
        raise BadRequestError(f"invalid argument '{name}': must be 1..16 characters")
    reason = bad_character(value)
    if reason:
        raise BadRequestError(f"invalid argument '{name}': {reason}")
    return value


def transient_model(stub: ChaincodeStub, name: str, model: type[M], why: str) -> M:
    """The transient value ``name`` parsed as ``model``; personal data never travels as an argument."""
    raw = stub.get_transient().get(name)
    if raw is None:
        raise BadRequestError(f"transient '{name}': missing ({why})")
    try:
        return model.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        detail = "; ".join(
            f"field '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise BadRequestError(f"transient '{name}': {detail}") from None


__all__ = ["arg_id", "arg_plate", "arg_text", "arg_vin", "transient_model"]
