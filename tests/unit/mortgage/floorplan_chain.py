"""Builders of floor-plan state on the in-process ledger (whitelist, line, advances, sale arguments)."""

from __future__ import annotations

from typing import Any

from .chain import Chain, owner

CORE = "ManufacturerMSP"


def whitelist(c: Chain, dealer_id: str = "D1") -> dict[str, Any]:
    return c.ok(
        "oem",
        "WhitelistDealer",
        {"dealer_id": dealer_id, "dealer_msp_id": "DealerMSP", "name": f"Dealer {dealer_id}"},
    )


def open_line(
    c: Chain,
    line_id: str = "FL1",
    dealer_id: str = "D1",
    limit: str = "100000",
    who: str = "bank_a",
    **extra: Any,
) -> dict[str, Any]:
    return c.ok(
        who,
        "OpenCreditLine",
        {
            "line_id": line_id,
            "dealer_id": dealer_id,
            "approver_msp_id": CORE,
            "limit": limit,
            "currency": "CNY",
            "rate": "0.065",
            **extra,
        },
    )


def advance_body(advance_id: str, v: str, amount: str, line_id: str = "FL1", km: int = 12) -> dict[str, Any]:
    return {"advance_id": advance_id, "line_id": line_id, "vin": v, "amount": amount, "odometer_km": km}


def finance(
    c: Chain, advance_id: str, v: str, amount: str = "20000", line_id: str = "FL1", who: str = "bank_a"
) -> dict[str, Any]:
    return c.ok(who, "FinanceVehicle", advance_body(advance_id, v, amount, line_id))


def payment(c: Chain, amount: str, ref: str = "PAY-1") -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY", "paid_on": c.today, "payment_reference": ref}


def sale_args(
    c: Chain,
    v: str,
    advance_id: str,
    payoff: str,
    buyer: str = "buyer",
    consumer: dict[str, Any] | None = None,
    sale_document_id: str | None = None,
) -> tuple[list[Any], dict[str, bytes]]:
    """RetailSale's arguments and the buyer's transient data (a sale contract is anchored for it)."""
    transient, digest = owner(f"{buyer}-{v}")
    sale: dict[str, Any] = {
        "advance_id": advance_id,
        "sale_price": "30000",
        "currency": "CNY",
        "buyer_owner_hash": digest,
        "sale_document_id": sale_document_id or c.document("dealer", "sale_contract", v),
        "payoff": payment(c, payoff, f"PO-{advance_id}"),
    }
    if consumer is not None:
        sale["consumer_lien"] = consumer
    return [v, sale], transient


def consumer_lien(c: Chain, v: str, lien_id: str, bank: str = "bank_b") -> dict[str, Any]:
    return {
        "lien_id": lien_id,
        "lienholder": {"bank_a": "BankAMSP", "bank_b": "BankBMSP"}[bank],
        "loan_number": f"LN-{lien_id}",
        "mortgage_contract_number": f"MC-{lien_id}",
        "secured_amount": "20000",
        "maturity_date": c.days_from_now(3 * 365),
        "consent_document_id": c.document(bank, "owner_consent", v),
    }
