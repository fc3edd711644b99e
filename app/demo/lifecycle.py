"""The scripted lifecycle of one car loan, step by step, through the gateway API.

register → value → insure → service + odometer (with an anomaly) → consent + lien request → record
→ transfer refused while mortgaged → second lien → QR issue + verify → regulator refused → release
→ foreclosure → disposal (proceeds by priority) → audit history. Each step returns a line to show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.demo.client import DemoClient
from app.demo.data import demo_vin

TA, BANK_A, BANK_B = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP", "loan1@BankBMSP"
INSURER, DEALER = "underwriter1@InsurerMSP", "dealer1@DealerMSP"
AUDITOR, REGULATOR = "auditor1@TrafficAuthorityMSP", "regulator1@RegulatorMSP"


@dataclass
class Step:
    title: str
    run: Callable[[], Any]


def _inputs_hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


async def lifecycle(client: DemoClient, serial: int) -> AsyncIterator[tuple[str, str]]:
    """Yield (step title, outcome) as each step completes; raises DemoError on a surprise."""
    vin = demo_vin(serial, "LHG", "CV1F3")
    tag = f"{serial:06d}"
    today = date.today()
    vehicle = {
        "vin": vin,
        "plate": f"京Q{tag[-5:]}",
        "make": "Honda",
        "model": "Accord",
        "trim": "260TURBO",
        "year": 2022,
        "configuration": {"color": "blue", "engine": "1.5T"},
        "registration_date": "2022-05-10",
        "new_price": "179800.00",
        "currency": "CNY",
        "region": "Beijing",
    }
    owner = {"name": "Chen Jie", "id_number": f"11010119850101{tag[-4:]}"}
    r = await client.call(TA, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
    yield "Vehicle office registers the car", f"VIN {vin}, tx {r['tx_id'][:12]}… block {r['block_number']}"

    valuation = {
        "valuation_id": f"VAL-{tag}",
        "vin": vin,
        "value": "150000.00",
        "currency": "CNY",
        "interval_low": "138000.00",
        "interval_high": "162000.00",
        "coverage": 0.9,
        "model_id": "demo-hedonic",
        "model_version": "1.0.0",
        "inputs_hash": _inputs_hash(vin, "2022", "Accord"),
        "valuer": "vehicle office appraisal",
    }
    await client.register_model("BankAMSP", "demo-hedonic", "1.0.0")
    # the vehicle office values any vehicle; a bank only one it holds or has requested a lien on
    await client.call(TA, "POST", "/valuation-records", json=valuation)
    yield "The vehicle office records a valuation", "150000.00 CNY (90% interval 138000–162000)"

    policy = {
        "policy_id": f"POL-{tag}",
        "vin": vin,
        "coverage": {"type": "comprehensive", "amount": "180000.00", "currency": "CNY"},
        "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_to": (today + timedelta(days=335)).isoformat(),
    }
    await client.call(INSURER, "POST", "/insurance/policies", json=policy)
    yield "Insurer records a comprehensive policy", f"POL-{tag} valid to {policy['valid_to']}"

    maintenance = {
        "record_id": f"MNT-{tag}",
        "vin": vin,
        "date": today.isoformat(),
        "odometer_km": 42100,
        "cost": "860.00",
        "currency": "CNY",
        "kind": "service",
        "description": "40,000 km service",
    }
    await client.call(DEALER, "POST", "/maintenance", json=maintenance)
    low = {"vin": vin, "odometer_km": 30500, "source": "dealer_inspection"}
    await client.call(DEALER, "POST", "/odometer", json=low)
    odo = await client.call(AUDITOR, "GET", f"/vehicles/{vin}/odometer")
    anomalies = len(odo.get("anomalies", [])) if isinstance(odo, dict) else "?"
    max_km = odo.get("odometer_km") if isinstance(odo, dict) else "?"
    yield "Dealer records 42100 km, then a 30500 km reading", f"max {max_km} km, {anomalies} anomaly"

    consent = await client.upload(BANK_A, "owner_consent", f"Owner consent {vin} {tag}".encode(), vin=vin)
    lien = {
        "lien_id": f"L-{tag}-A",
        "vin": vin,
        "loan_number": f"BA-LOAN-{tag}",
        "mortgage_contract_number": f"BA-MC-{tag}",
        "secured_amount": "100000.00",
        "currency": "CNY",
        "maturity_date": (today + timedelta(days=3 * 365)).isoformat(),
        "consent_document_id": consent,
    }
    await client.call(BANK_A, "POST", "/liens", json=lien)
    r = await client.call(TA, "POST", f"/liens/L-{tag}-A/record")
    yield "Bank A requests a lien, the office records it", f"priority {r['result'].get('priority')}"

    refused = await client.call(
        TA,
        "POST",
        f"/vehicles/{vin}/transfer",
        json={"new_owner": {"name": "Sun Li", "id_number": "110101199901019999"}, "reason": "sale"},
        expect=409,
    )
    yield "Title transfer while mortgaged", f"refused 409: {refused['error']['message'][:90]}"

    consent_b = await client.upload(BANK_B, "owner_consent", f"2nd consent {vin} {tag}".encode(), vin=vin)
    lien_b = dict(
        lien,
        lien_id=f"L-{tag}-B",
        loan_number=f"BB-LOAN-{tag}",
        mortgage_contract_number=f"BB-MC-{tag}",
        secured_amount="15000.00",
        consent_document_id=consent_b,
    )
    await client.call(BANK_B, "POST", "/liens", json=lien_b)
    r = await client.call(TA, "POST", f"/liens/L-{tag}-B/record")
    yield "Bank B takes a second lien", f"priority {r['result'].get('priority')} (LTV within the cap)"

    qr = await client.call(TA, "POST", f"/vehicles/{vin}/qr", expect=(201, 404, 503))
    if isinstance(qr, dict) and "payload" in qr:
        verified = await client.call(DEALER, "POST", "/qr/verify", json={"payload": qr["payload"]})
        status = verified.get("status", {})
        outcome = f"valid={verified.get('valid')}, status {status.get('status')}"
        yield "QR identity issued and scanned by a dealer", outcome

    denied = await client.call(REGULATOR, "POST", f"/liens/L-{tag}-B/release", expect=403)
    yield "Regulator tries a write", f"refused 403: {denied['error']['message'][:80]}"

    await client.call(BANK_B, "POST", f"/liens/L-{tag}-B/release")
    yield "Bank B is repaid and releases its lien", f"L-{tag}-B RELEASED"

    notice = await client.upload(BANK_A, "foreclosure_notice", f"Notice {tag}".encode(), lien_id=f"L-{tag}-A")
    await client.call(BANK_A, "POST", f"/liens/L-{tag}-A/foreclosure", json={"notice_document_id": notice})
    sale = await client.upload(BANK_A, "sale_contract", f"Auction sale contract {tag}".encode(), vin=vin)
    disposal = {
        "sale_price": "112000.00",
        "currency": "CNY",
        "buyer": {"name": "Zhou Ming", "id_number": "110101199505055555"},
        "sale_document_id": sale,
    }
    r = await client.call(BANK_A, "POST", f"/vehicles/{vin}/disposal", json=disposal)
    result = r["result"] or {}
    paid = ", ".join(f"{d['lien_id']} paid {d['paid']}" for d in result.get("distribution", []))
    yield "Bank A forecloses and sells the car", f"{paid}; surplus {result.get('surplus')}"

    history = await client.call(AUDITOR, "GET", f"/vehicles/{vin}/history")
    blocks = sorted({h.get("block_number") for h in history if h.get("block_number") is not None})
    yield "Auditor reads the vehicle's history", f"{len(history)} versions in blocks {blocks[:6]}…"
