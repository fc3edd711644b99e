"""Owners for the tests: enrolled by the office, each with a key that stays on the test's "device"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.ledger.embedded.enrolment import issue_user_identity
from app.users.owner_signin import sign_challenge
from tests.unit.api.builders import BANK_A, TA, Api, lien, valuation, vin


@dataclass(frozen=True)
class Owner:
    account: str
    vin: str
    cert_pem: str
    key_pem: bytes


def enrol(api: Api, account: str, serial: int) -> Owner:
    """Register vehicle ``serial``, issue the owner's fabric-ca-like identity (role owner) and have the
    vehicle office enrol it for the vehicle."""
    api.register(serial)
    issued = issue_user_identity(
        api.gw.settings.embedded_ledger_dir, "TrafficAuthorityMSP", account, {"role": "owner"}
    )
    owner = Owner(account, vin(serial), issued.cert_pem.decode(), issued.key_pem)
    api.ok(api.post(TA, "/owners", json={"certificate_pem": owner.cert_pem, "vins": [owner.vin]}))
    return owner


def ask_lien_consent(api: Api, serial: int, consent_id: str, suffix: str = "A") -> dict[str, Any]:
    """BankA asks the vehicle's owner to consent to a lien; returns the lien body it will request."""
    body = lien(serial, suffix, "unused")
    del body["consent_document_id"]
    terms = {k: str(body[k]) for k in ("lien_id", "secured_amount", "currency", "maturity_date")}
    request = {"consent_id": consent_id, "vin": vin(serial), "kind": "lien_request", "terms": terms}
    api.ok(api.post(BANK_A, "/owner-consents", json=request))
    return body


def challenge(api: Api, account: str) -> Any:
    return api.client.post("/api/v1/owner-auth/challenge", json={"account_id": account})


def answer(api: Api, found: dict[str, Any], key_pem: bytes, account: str | None = None) -> Any:
    body = {
        "challenge_id": found["challenge_id"],
        "account_id": account or found["account_id"],
        "signature": sign_challenge(key_pem, found["document"]),
    }
    return api.client.post("/api/v1/owner-auth/response", json=body)


def sign_in(api: Api, owner: Owner) -> dict[str, str]:
    found = api.ok(challenge(api, owner.account))
    token = api.ok(answer(api, found, owner.key_pem))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def record_lien(api: Api, serial: int, body: dict[str, Any], consent_id: str) -> None:
    """BankA lends on the owner's signed consent; the office records the lien."""
    api.register_model()
    api.ok(api.post(BANK_A, "/liens", json={**body, "owner_consent_id": consent_id}), 201)
    api.post(BANK_A, "/valuation-records", json=valuation(serial))
    api.ok(api.post(TA, f"/liens/{body['lien_id']}/record"))
