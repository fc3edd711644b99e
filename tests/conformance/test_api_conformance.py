"""One API scenario (HTTP through the gateway) on both backends: same statuses and bodies.

The gateway is built around the conformance fixture's ledger; requests go through the real
FastAPI app (auth, validation, idempotency, error mapping) in the test's event loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ledger.port import LedgerPort
from app.main import create_app
from app.settings import Settings
from app.users.provision import demo_password, ensure_standard_users

from .conftest import settle_for

TA, BANK_A, BANK_B = "officer1@TrafficAuthorityMSP", "loan1@BankAMSP", "loan1@BankBMSP"
DEALER, AUDITOR, REGULATOR = "dealer1@DealerMSP", "auditor1@TrafficAuthorityMSP", "regulator1@RegulatorMSP"
_VOLATILE = re.compile(
    r"(^|_)(tx_id|at|timestamp|block_number|owner_hash|cid|encryption_key_ref|as_of)$|_at$"
)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_TX = re.compile(r"\b[0-9a-f]{64}\b")


def normalize(value: Any) -> Any:
    """Drop what differs by nature between runs: tx ids, times, blocks, salted hashes, ciphertext CIDs."""
    if isinstance(value, dict):
        return {k: ("<volatile>" if _VOLATILE.search(k) else normalize(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        return _TX.sub("<tx>", _TIME.sub("<time>", value))
    return value


async def api_scenario(ledger: LedgerPort, data_dir: Path, vin: str, run: str) -> list[tuple[str, int, Any]]:
    """Drive the lifecycle through HTTP; returns (step, status, normalized body) for each call."""
    app = create_app(Settings(data_dir=data_dir, token_secret="c" * 32), ledger=ledger)
    ensure_standard_users(app.state.gw.users, app.state.gw.enroller, app.state.gw.settings.orgs)
    settle = settle_for(ledger)
    transcript: list[tuple[str, int, Any]] = []
    tokens: dict[str, str] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=120
    ) as http:

        async def call(step: str, user: str, method: str, path: str, **kwargs: Any) -> Any:
            if user not in tokens:
                name, _, msp = user.partition("@")
                login = await http.post(
                    "/api/v1/auth/token", data={"username": user, "password": demo_password(msp, name)}
                )
                tokens[user] = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {tokens[user]}", **kwargs.pop("headers", {})}
            response = await http.request(method, "/api/v1" + path, headers=headers, **kwargs)
            body = response.json()
            if settle is not None and response.status_code in (200, 201) and "block_number" in body:
                await settle(body["block_number"])
            if isinstance(body, dict) and "error" in body:
                body = {"error": {k: body["error"][k] for k in ("status", "code", "message")}}
            transcript.append((step, response.status_code, normalize(body)))
            return body

        today = date.today()
        vehicle = {
            "vin": vin, "plate": f"沪C{run[-5:]}", "make": "SAIC", "model": "MG5", "trim": "1.5L",
            "year": 2023,
            "configuration": {"color": "red"}, "registration_date": "2023-06-01", "new_price": "89900.00",
            "currency": "CNY",
        }  # fmt: skip
        owner = {"name": "Xu Lan", "id_number": f"31010119900101{run[-4:]}"}
        await call("register", TA, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
        await call("register again", TA, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
        await call("dealer registers", DEALER, "POST", "/vehicles", json={"vehicle": vehicle, "owner": owner})
        await call("regulator writes", REGULATOR, "POST", "/liens/NOPE/record")
        await call("read", BANK_A, "GET", f"/vehicles/{vin}")
        await call("public status", DEALER, "GET", f"/vehicles/{vin}/status")
        await call("unknown", BANK_A, "GET", f"/vehicles/{vin[:-6]}000000")
        valuation = {
            "valuation_id": f"V-{run}", "vin": vin, "value": "80000.00", "currency": "CNY",
            "interval_low": "70000.00", "interval_high": "90000.00", "coverage": 0.9, "model_id": "m",
            "model_version": f"1-{run}", "inputs_hash": "cd" * 32, "valuer": "conformance",
        }  # fmt: skip
        model = {"model_id": "m", "model_version": f"1-{run}", "model_card_sha256": "ef" * 32}
        await call("model version", "models1@BankAMSP", "POST", "/model-versions", json=model)
        await call("valuation without a lien", BANK_A, "POST", "/valuations", json=valuation)
        form = {"doc_type": "owner_consent", "vin": vin, "document_id": f"DOC-{run}-1"}
        await call(
            "consent",
            BANK_A,
            "POST",
            "/documents",
            data=form,
            files={"file": ("c.txt", b"consent " + run.encode())},
        )
        lien = {
            "lien_id": f"L-{run}", "vin": vin, "loan_number": f"LN-{run}",
            "mortgage_contract_number": f"MC-{run}",
            "secured_amount": "60000.00", "currency": "CNY",
            "maturity_date": (today + timedelta(days=900)).isoformat(), "consent_document_id": f"DOC-{run}-1",
        }  # fmt: skip
        key = {"Idempotency-Key": f"lien-{run}"}
        await call("request lien", BANK_A, "POST", "/liens", json=lien, headers=key)
        await call("request lien retried", BANK_A, "POST", "/liens", json=lien, headers=key)
        await call("valuation", BANK_A, "POST", "/valuations", json=valuation)
        await call("bank b records", BANK_B, "POST", f"/liens/L-{run}/record")
        await call("record lien", TA, "POST", f"/liens/L-{run}/record")
        transfer = {"new_owner": {"name": "Ma Rui", "id_number": "310101199202020202"}, "reason": "sale"}
        await call("transfer while mortgaged", TA, "POST", f"/vehicles/{vin}/transfer", json=transfer)
        await call("release", BANK_A, "POST", f"/liens/L-{run}/release")
        await call("transfer", TA, "POST", f"/vehicles/{vin}/transfer", json=transfer)
        await call("history", AUDITOR, "GET", f"/vehicles/{vin}/history")
        await call("lien history", REGULATOR, "GET", f"/liens/L-{run}/history")
    return transcript


def _by_step(transcript: list[tuple[str, int, Any]]) -> dict[str, tuple[int, Any]]:
    return {step: (status, body) for step, status, body in transcript}


async def test_api_scenario(
    ledger: LedgerPort, backend: str, tmp_path: Path, new_vin: Callable[[], str], run_id: str
) -> None:
    out = _by_step(await api_scenario(ledger, tmp_path / "gw", new_vin(), f"{run_id}{backend[:1].upper()}A"))
    print(json.dumps(out, indent=1, ensure_ascii=False)[:6000])  # shown on failure
    assert out["register"][0] == 201 and out["register"][1]["result"]["status"] == "REGISTERED"
    assert out["register again"][0] == 409
    assert out["dealer registers"][0] == 403 and "registrar" in out["dealer registers"][1]["error"]["message"]
    assert out["regulator writes"][0] == 403
    assert out["read"][0] == 200 and out["public status"][1]["status"] == "REGISTERED"
    assert out["unknown"][0] in (400, 404)
    assert out["consent"][0] == 201 and out["request lien"][0] == 201
    assert out["request lien retried"] == out["request lien"]  # replayed, not re-submitted
    assert out["bank b records"][0] == 403
    assert out["valuation without a lien"][0] == 403 and "valuer_lien" in str(
        out["valuation without a lien"][1]
    )
    assert out["valuation"][0] == 201
    assert out["record lien"][1]["result"]["status"] == "RECORDED"
    assert out["transfer while mortgaged"][0] == 409
    assert out["release"][1]["result"]["status"] == "RELEASED"
    assert out["transfer"][0] == 200
    assert len(out["history"][1]) >= 4 and all(h["block_number"] == "<volatile>" for h in out["history"][1])
    assert out["lien history"][0] == 200


@pytest.mark.fabric
async def test_api_same_on_both_backends(
    make_ledger: Callable[[str], Awaitable[LedgerPort]],
    tmp_path: Path,
    new_vin: Callable[[], str],
    run_id: str,
) -> None:
    vin, run = new_vin(), f"{run_id}XA"
    embedded = await api_scenario(await make_ledger("embedded"), tmp_path / "e", vin, run)
    fabric = await api_scenario(await make_ledger("fabric"), tmp_path / "f", vin, run)
    for (step, status, body), (_, f_status, f_body) in zip(embedded, fabric, strict=True):
        assert (status, body) == (f_status, f_body), (
            f"step {step!r}: embedded {status} {body} vs fabric {f_status} {f_body}"
        )
