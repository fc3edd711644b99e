"""Configuration: the LTV cap and the maximum age of a valuation the LTV check accepts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from .fields import (
    Record,
    Request,
)


class ConfigIn(Request):
    ltv_cap: Annotated[Decimal, Field(gt=0, le=2, max_digits=6, decimal_places=4, examples=["0.8"])]
    valuation_max_age_days: Annotated[int, Field(ge=1, le=3650, examples=[90])]


class Config(Record):
    ltv_cap: Decimal = Decimal("0.8")
    valuation_max_age_days: int = 90
    updated_at: str | None = None


__all__ = ["Config", "ConfigIn"]
