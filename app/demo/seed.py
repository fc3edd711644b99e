"""Seed an embedded gateway with demo users and a few vehicles (idempotent: skips what exists).

Goes through the gateway's own API (in process, over ASGI) so the demo data obeys every rule.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta

import httpx
from fastapi import FastAPI

from app.api.state import GatewayState
from app.demo.client import DemoClient, DemoError
from app.demo.data import VEHICLES
from app.users.provision import ensure_standard_users
from app.users.store import User

log = logging.getLogger(__name__)

TA, BANK_A, INSURER = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP", "underwriter1@InsurerMSP"


def seed_users(state: GatewayState) -> list[tuple[User, str]]:
    return ensure_standard_users(state.users, state.enroller, state.settings.orgs)


async def seed_vehicles(app: FastAPI) -> int:
    """Register the demo vehicles (one insured, one mortgaged); returns how many were new."""
    transport = httpx.ASGITransport(app=app)
    created = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        client = DemoClient(http)
        today = date.today()
        for i, v in enumerate(VEHICLES):
            existing = await client.call(TA, "GET", f"/vehicles/{v.vin}", expect=(200, 404))
            if isinstance(existing, dict) and existing.get("vin") == v.vin:
                continue
            vehicle = {
                "vin": v.vin, "plate": v.plate, "make": v.make, "model": v.model, "trim": v.trim,
                "year": v.year, "configuration": {}, "registration_date": f"{v.year}-03-01",
                "new_price": v.new_price, "currency": "CNY", "region": "Beijing",
            }  # fmt: skip
            owner = {"name": v.owner_name, "id_number": v.owner_id}
            await client.call(TA, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
            created += 1
            if i == 0:
                policy = {
                    "policy_id": f"POL-{v.vin[-6:]}", "vin": v.vin,
                    "coverage": {"type": "compulsory", "amount": "200000.00", "currency": "CNY"},
                    "valid_from": (today - timedelta(days=10)).isoformat(),
                    "valid_to": (today + timedelta(days=355)).isoformat(),
                }  # fmt: skip
                await client.call(INSURER, "POST", "/insurance/policies", json=policy)
            if i == 1:
                await _mortgage(client, v.vin, today)
    return created


async def _mortgage(client: DemoClient, vin: str, today: date) -> None:
    valuation = {
        "valuation_id": f"VAL-{vin[-6:]}", "vin": vin, "value": "160000.00", "currency": "CNY",
        "interval_low": "150000.00", "interval_high": "170000.00", "coverage": 0.9,
        "model_id": "demo-hedonic", "model_version": "1.0.0",
        "inputs_hash": hashlib.sha256(f"demo inputs {vin}".encode()).hexdigest(),
        "valuer": "BankA collateral desk",
    }  # fmt: skip
    await client.register_model("BankAMSP", "demo-hedonic", "1.0.0")
    consent = await client.upload(BANK_A, "owner_consent", f"Owner consent {vin}".encode(), vin=vin)
    lien = {
        "lien_id": f"L-{vin[-6:]}", "vin": vin, "loan_number": f"BA-{vin[-6:]}",
        "mortgage_contract_number": f"BA-MC-{vin[-6:]}", "secured_amount": "120000.00", "currency": "CNY",
        "maturity_date": (today + timedelta(days=1095)).isoformat(), "consent_document_id": consent,
    }  # fmt: skip
    await client.call(BANK_A, "POST", "/liens", json=lien)
    # a bank values a vehicle once it has requested a lien on it (chaincode rule valuer_lien)
    await client.call(BANK_A, "POST", "/valuation-records", json=valuation)
    await client.call(TA, "POST", f"/liens/{lien['lien_id']}/record")


async def seed_demo(app: FastAPI) -> None:
    state: GatewayState = app.state.gw
    seed_users(state)
    try:
        created = await seed_vehicles(app)
    except DemoError as exc:
        log.warning("demo vehicles not seeded: %s", exc)
        state.extras["seed_error"] = str(exc)
        return
    log.info("demo data: %d new vehicle(s)", created)
