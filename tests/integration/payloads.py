"""The contract's JSON arguments as the real-network tests send them: one builder each, so a change to a
transaction's shape is made once (the embedded-ledger tests have their own in tests/unit/mortgage)."""

from __future__ import annotations

import json
from typing import Any


def vehicle(
    vin: str,
    plate: str,
    *,
    make: str = "BYD",
    model: str = "Han",
    year: int = 2024,
    registration_date: str = "2024-03-01",
    **extra: Any,
) -> str:
    """RegisterVehicle's argument."""
    doc = {"vin": vin, "plate": plate, "make": make, "model": model, "year": year}
    return json.dumps({**doc, **extra, "registration_date": registration_date})


def valuation(
    valuation_id: str,
    vin: str,
    value: int,
    *,
    interval: tuple[int, int] | None = None,
    inputs_hash: str = "12" * 32,
    model_version: str = "1.0.0",
) -> str:
    """RecordValuation's argument: the residual model's value with a 90 % interval (default ±10 %)."""
    low, high = interval or (value * 9 // 10, value * 11 // 10)
    return json.dumps(
        {
            "valuation_id": valuation_id,
            "vin": vin,
            "value": str(value),
            "currency": "CNY",
            "interval_low": str(low),
            "interval_high": str(high),
            "coverage": "0.9",
            "model_id": "residual-lgbm",
            "model_version": model_version,
            "inputs_hash": inputs_hash,
            "valuer": "valuation-service",
        }
    )


def lien_request(
    lien_id: str,
    vin: str,
    amount: str,
    consent: str,
    *,
    maturity: str = "2029-01-01",
    loan: str | None = None,
) -> str:
    """RequestLien's argument (loan and contract numbers derived from the lien id unless given)."""
    loan = loan or f"LN-{lien_id}"
    return json.dumps(
        {
            "lien_id": lien_id,
            "vin": vin,
            "loan_number": loan,
            "mortgage_contract_number": f"MC-{loan.removeprefix('LN-')}",
            "secured_amount": amount,
            "currency": "CNY",
            "maturity_date": maturity,
            "consent_document_id": consent,
        }
    )
