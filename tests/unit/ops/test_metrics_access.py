"""/metrics is not public: a scrape token (Prometheus ``credentials_file``) or an operator's login."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.unit.api.builders import Api
from tests.unit.api.conftest import login


def test_metrics_refuse_anonymous_scrapes(api: Api) -> None:
    response = api.client.get("/metrics")
    assert response.status_code == 401, response.text
    assert "mledger_http_requests_total" not in response.text
    assert response.headers["www-authenticate"] == "Bearer"


def test_metrics_refuse_business_roles(api: Api) -> None:
    response = api.client.get("/metrics", headers=login(api.client, "loan1@BankAMSP"))
    assert response.status_code == 403, response.text


def test_metrics_for_an_operator_login(api: Api) -> None:
    response = api.client.get("/metrics", headers=login(api.client, "admin@BankAMSP"))
    assert response.status_code == 200, response.text
    assert "mledger_http_request_seconds_bucket" in response.text


def test_metrics_scrape_token_from_a_file(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token_file = tmp_path / "scrape-token"
    token_file.write_text("s" * 40 + "\n")
    client: TestClient = make_client(
        Settings(data_dir=tmp_path / "gw", token_secret="t" * 32, metrics_token_file=token_file)
    )
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "s" * 40}).status_code == 200
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401
