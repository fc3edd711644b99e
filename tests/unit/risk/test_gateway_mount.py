"""The risk router as the gateway mounts it: real authentication (API keys of stored users)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.users.roles import Role


def test_gateway_applies_the_risk_access_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLEDGER_MODELS_DIR", str(tmp_path / "models"))
    settings = Settings(data_dir=tmp_path / "gateway", token_secret="test-secret-" + "x" * 20)
    settings.data_dir.mkdir(parents=True)
    app = create_app(settings)
    with TestClient(app) as client:
        users = app.state.gw.users
        keys = {}
        for msp, name, role in (
            ("BankAMSP", "mrm1", Role.model_admin),
            ("BankAMSP", "loanx", Role.loan_officer),
            ("DealerMSP", "dealerx", Role.dealer),
            ("RegulatorMSP", "regx", Role.regulator),
        ):
            users.add(msp, name, role, "pw-" + "y" * 16)
            keys[name] = {"X-API-Key": users.create_api_key(msp, name)}
        promote = "/api/v1/risk/scorecard/promote"
        assert client.post(promote, json={"version": 1}).status_code == 401
        for name in ("loanx", "dealerx", "regx"):
            r = client.post(promote, json={"version": 1}, headers=keys[name])
            assert r.status_code == 403 and "model_admin" in r.json()["error"]["message"], r.text
        r = client.post(promote, json={"version": 1}, headers=keys["mrm1"])  # allowed; nothing registered yet
        assert r.status_code == 404 and "application-scorecard-banka" in r.text
        r = client.post("/api/v1/risk/score", json={"application": {}}, headers=keys["loanx"])
        assert r.status_code == 404 and "no promoted version" in r.text
        assert "/api/v1/risk/scorecard/promote" in client.get("/openapi.json").json()["paths"]
