"""Sign-on tests against a real OIDC provider (ory hydra, native process; see provider.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.oidc.provider import Hydra, OrgUser, copy_secret, running_hydra

GATEWAY = "http://testserver"
AUDIENCE = "https://gateway.banka.example/api"
ROLE_MAP = {"bank-admins": "admin", "bank-loan-officers": "loan_officer", "bank-auditors": "auditor"}


@pytest.fixture(scope="session")
def hydra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hydra]:
    with running_hydra(tmp_path_factory.mktemp("hydra")) as provider:
        yield provider


@pytest.fixture(scope="session")
def oidc_client(hydra: Hydra) -> tuple[str, str]:
    return hydra.create_client(f"{GATEWAY}/login/oidc/callback", [AUDIENCE, "https://other.example/api"])


@pytest.fixture
def oidc_settings(tmp_path: Path, hydra: Hydra, oidc_client: tuple[str, str]) -> Settings:
    client_id, secret = oidc_client
    return Settings(
        data_dir=tmp_path / "gateway",
        token_secret="test-secret-" + "x" * 20,
        orgs=["BankAMSP"],
        public_base_url=GATEWAY,
        oidc_issuer=hydra.issuer,
        oidc_client_id=client_id,
        oidc_client_secret_file=copy_secret(secret, tmp_path / "client-secret"),
        oidc_audience=AUDIENCE,
        oidc_role_claim="roles",
        oidc_role_map=ROLE_MAP,
        oidc_leeway_seconds=0,
        oidc_jwks_min_refetch_seconds=0,
    )


@pytest.fixture
def gateway(oidc_settings: Settings) -> Iterator[TestClient]:
    oidc_settings.data_dir.mkdir(parents=True, exist_ok=True)
    with TestClient(create_app(oidc_settings), base_url=GATEWAY) as client:
        yield client


@pytest.fixture
def as_user(hydra: Hydra) -> Callable[..., None]:
    def set_user(subject: str, *roles: str) -> None:
        hydra.login.user = OrgUser(subject, list(roles))

    return set_user


def follow(gateway: TestClient, url: str, *, trail: list[str] | None = None) -> httpx.Response:
    """Follow redirects like a browser: the gateway's through its test client, the provider's and
    the login app's over real HTTP (with their own cookie jar)."""
    outside = httpx.Client(timeout=10)
    response: Any = gateway.get(url, follow_redirects=False)
    for _ in range(20):
        if response.status_code not in (301, 302, 303, 307):
            return response  # type: ignore[no-any-return]
        target = urljoin(str(response.url), response.headers["location"])
        if trail is not None:
            trail.append(target)
        if target.startswith(GATEWAY):
            response = gateway.get(target, follow_redirects=False)
        else:
            response = outside.get(target, follow_redirects=False)
    raise AssertionError("too many redirects")
