"""Insurance: policies with their coverage, and claims."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import model_validator

from .fields import (
    Currency,
    Identifier,
    Money,
    Record,
    Request,
    Text,
    Vin,
)


class CoverageType(StrEnum):
    COMPULSORY = "compulsory"
    COMPREHENSIVE = "comprehensive"
    THIRD_PARTY = "third_party"
    THEFT = "theft"
    COLLISION = "collision"


class PolicyStatus(StrEnum):
    ACTIVE = "ACTIVE"
    LAPSED = "LAPSED"


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


__all__ = [
    "Claim",
    "ClaimIn",
    "Coverage",
    "CoverageIn",
    "CoverageType",
    "InsurancePolicy",
    "InsurancePolicyIn",
    "PolicyStatus",
]
