"""Authentication, API keys, user administration and the read-only rules over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.settings import Settings
from app.users.tokens import issue_token
from tests.unit.api.conftest import login

VIN = "1M8GDM9AXKP042788"
REGISTRATION: dict[str, Any] = {
    "vehicle": {
        "vin": VIN,
        "plate": "京A12345",
        "make": "BYD",
        "model": "Han",
        "trim": "EV",
        "year": 2024,
        "configuration": {},
        "registration_date": "2024-03-01",
    },
    "owner": {"name": "Li Wei", "id_number": "110101199003071234"},
}


def test_token_me_and_wrong_password(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    headers = login(client, "loan1@BankAMSP")
    me = client.get("/api/v1/auth/me", headers=headers).json()
    assert me == {"username": "loan1", "msp_id": "BankAMSP", "role": "loan_officer", "enrolled": True}
    bad = client.post("/api/v1/auth/token", data={"username": "loan1@BankAMSP", "password": "nope-nope"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthenticated"
    assert bad.headers["www-authenticate"] == "Bearer"
    # several orgs on this gateway: a bare name is ambiguous and named as the field at fault
    bare = client.post("/api/v1/auth/token", data={"username": "loan1", "password": "whatever1"})
    assert bare.status_code == 400 and bare.json()["error"]["details"][0]["field"] == "username"


def test_missing_and_forged_credentials(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    assert client.get(f"/api/v1/vehicles/{VIN}").status_code == 401
    garbled = client.get(f"/api/v1/vehicles/{VIN}", headers={"Authorization": "Bearer a.b.c"})
    assert garbled.status_code == 401 and "malformed" in garbled.json()["error"]["message"]
    other_key = issue_token(b"another-gateway-key-" + b"x" * 20, "DealerMSP/dealer1", "dealer", 600)
    forged = client.get(f"/api/v1/vehicles/{VIN}", headers={"Authorization": f"Bearer {other_key}"})
    assert forged.status_code == 401 and "signature" in forged.json()["error"]["message"]
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": "mlk_000000000000_nope"}).status_code == 401


def test_api_key_lifecycle(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    headers = login(client, "dealer1@DealerMSP")
    created = client.post("/api/v1/auth/api-keys", json={"label": "workshop"}, headers=headers)
    assert created.status_code == 201
    key, key_id = created.json()["api_key"], created.json()["key_id"]
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()["username"] == "dealer1"
    listed = client.get("/api/v1/auth/api-keys", headers=headers).json()
    assert [k["key_id"] for k in listed] == [key_id] and "secret" not in str(listed)
    assert client.delete(f"/api/v1/auth/api-keys/{key_id}", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_admin_creates_users_of_its_own_org_only(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    admin = login(client, "admin@BankBMSP")
    created = client.post(
        "/api/v1/users",
        json={"username": "loan7", "role": "loan_officer", "password": "s3cret-pass"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json() == {
        "username": "loan7", "msp_id": "BankBMSP", "role": "loan_officer", "enrolled": True, "disabled": False
    }  # fmt: skip
    wrong_role = client.post(
        "/api/v1/users",
        json={"username": "x1", "role": "registrar", "password": "s3cret-pass"},
        headers=admin,
    )
    assert wrong_role.status_code == 400 and wrong_role.json()["error"]["details"][0]["field"] == "role"
    dup = client.post(
        "/api/v1/users",
        json={"username": "loan7", "role": "auditor", "password": "s3cret-pass"},
        headers=admin,
    )
    assert dup.status_code == 409
    names = [u["username"] for u in client.get("/api/v1/users", headers=admin).json()]
    assert "loan7" in names and all(
        u["msp_id"] == "BankBMSP" for u in client.get("/api/v1/users", headers=admin).json()
    )
    not_admin = login(client, "loan1@BankBMSP")
    refused = client.get("/api/v1/users", headers=not_admin)
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    # the new user can log in; disabling stops its token at once
    token = client.post("/api/v1/auth/token", data={"username": "loan7@BankBMSP", "password": "s3cret-pass"})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert client.post("/api/v1/users/loan7/disable", headers=admin).json()["disabled"] is True
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_regulator_and_auditor_writes_refused_before_the_ledger(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    for user in ("regulator1@RegulatorMSP", "auditor1@TrafficAuthorityMSP", "admin@RegulatorMSP"):
        response = client.post("/api/v1/vehicles", json=REGISTRATION, headers=login(client, user))
        assert response.status_code == 403, (user, response.text)
        assert "access rule" in response.json()["error"]["message"]
    for path in ("/api/v1/liens/L1/record", f"/api/v1/vehicles/{VIN}/scrap"):
        response = client.post(
            path, json={"document_id": "D1"}, headers=login(client, "regulator1@RegulatorMSP")
        )
        assert response.status_code == 403


def test_regulator_gateway_is_read_only_for_everyone(tmp_path: Path, make_client) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "regulator-gw", orgs=["RegulatorMSP"])
    assert settings.read_only
    client = make_client(settings)
    admin = login(client, "admin@RegulatorMSP")
    response = client.post("/api/v1/vehicles", json=REGISTRATION, headers=admin)
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("read-only gateway")
    # users of other orgs cannot even log in here
    refused = client.post("/api/v1/auth/token", data={"username": "loan1@BankAMSP", "password": "x" * 10})
    assert refused.status_code == 401


def test_bad_input_is_400_with_field_and_reason(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    officer = login(client, "officer1@TrafficAuthorityMSP")
    body = {**REGISTRATION, "vehicle": {**REGISTRATION["vehicle"], "vin": "1M8GDM9A1KP042788"}}
    response = client.post("/api/v1/vehicles", json=body, headers=officer)
    assert response.status_code == 400
    detail = response.json()["error"]["details"][0]
    assert detail["field"] == "vehicle.vin" and "check digit" in detail["reason"]
    missing = client.post("/api/v1/liens", json={"lien_id": "L1"}, headers=login(client, "loan1@BankAMSP"))
    assert missing.status_code == 400
    assert {d["field"] for d in missing.json()["error"]["details"]} >= {"vin", "secured_amount", "currency"}
