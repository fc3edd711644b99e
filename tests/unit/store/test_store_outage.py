"""The gateway on a PostgreSQL store: 503 with Retry-After while PostgreSQL is down, nothing
half-written, and recovery without a restart when it is back (PostgreSQL really stopped and started)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.users.roles import Role
from tests.unit.api.builders import registration
from tests.unit.store.postgres import PostgresServer


def _gateway(tmp_path: Path, postgres: PostgresServer) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    settings = Settings(
        orgs=["TrafficAuthorityMSP"],
        data_dir=tmp_path / "gw",
        token_secret="t" * 32,
        store_url=postgres.new_database(),
        store_password_file=postgres.password_file,
        store_timeout_seconds=2.0,
    )
    app = create_app(settings)
    users = app.state.gw.users
    users.add(
        "TrafficAuthorityMSP", "officer9", Role.registrar, "officer9-password", enrollment_id="officer9"
    )
    app.state.gw.enroller.enroll("TrafficAuthorityMSP", "officer9", Role.registrar, "x")
    users.add("TrafficAuthorityMSP", "admin9", Role.admin, "admin9-password", enrollment_id="admin9")
    app.state.gw.enroller.enroll("TrafficAuthorityMSP", "admin9", Role.admin, "x")
    officer = {"X-API-Key": users.create_api_key("TrafficAuthorityMSP", "officer9")}
    admin = {"X-API-Key": users.create_api_key("TrafficAuthorityMSP", "admin9")}
    return TestClient(app), officer, admin


def test_postgres_down_answers_503_and_recovers_without_restart(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    client, officer, admin = _gateway(tmp_path, postgres)
    with client:
        body = registration(901)
        vin = body["vehicle"]["vin"]
        assert client.get("/api/v1/users", headers=admin).status_code == 200
        postgres.stop()
        try:
            down = client.get("/api/v1/users", headers=admin)
            assert down.status_code == 503 and down.headers["Retry-After"].isdigit()
            assert "store unavailable" in down.json()["error"]["message"]
            assert "password" not in down.text.lower()
            write = client.post(
                "/api/v1/vehicles", json=body, headers={**officer, "Idempotency-Key": "reg-901"}
            )
            assert write.status_code == 503 and write.headers["Retry-After"].isdigit()
            new_user = {"username": "loan7", "role": "registrar", "password": "loan7-password"}
            assert client.post("/api/v1/users", json=new_user, headers=admin).status_code == 503
            login = client.post(
                "/api/v1/auth/token", data={"username": "officer9", "password": "officer9-password"}
            )
            assert login.status_code == 503
        finally:
            postgres.start()
        deadline = time.monotonic() + 60
        while (answer := client.get("/api/v1/users", headers=admin)).status_code == 503:
            assert time.monotonic() < deadline, "the gateway did not recover after PostgreSQL came back"
            time.sleep(0.5)
        assert answer.status_code == 200
        names = [u["username"] for u in answer.json()]
        assert "loan7" not in names  # the refused write left nothing
        assert client.get(f"/api/v1/vehicles/{vin}", headers=officer).status_code == 404  # not registered
        first = client.post("/api/v1/vehicles", json=body, headers={**officer, "Idempotency-Key": "reg-901"})
        assert first.status_code == 201, first.text
        again = client.post("/api/v1/vehicles", json=body, headers={**officer, "Idempotency-Key": "reg-901"})
        assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
