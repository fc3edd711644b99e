"""Sign-on through the bank's identity provider (issue 23.3), against a running ory hydra.

Pages: authorization code + PKCE through hydra and the test login app, session cookie after the
callback, state checked. API: the provider's JWT access tokens as bearer tokens, roles from the
``roles`` claim mapped to the project's roles; each bad-token class refused with 401 naming the reason
(never the token); a key rotation at the provider picked up without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.main import create_app
from app.settings import Settings
from app.users.oidc import unverified_parts
from tests.oidc.conftest import AUDIENCE, GATEWAY, follow
from tests.oidc.provider import Hydra


def page_login(gateway: TestClient, next_page: str = "/lender", trail: list[str] | None = None) -> str:
    """Log in through the pages; the session token the gateway set."""
    final = follow(gateway, f"/login/oidc?next={next_page}", trail=trail)
    assert final.status_code == 200, final.text[:300]
    assert f"url={next_page}" in final.text
    token = gateway.cookies.get("mledger_session")
    assert token
    return str(token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_hydra_token_refused_without_oidc_settings(
    tmp_path: Path, hydra: Hydra, oidc_client: tuple[str, str]
) -> None:
    """The baseline: a gateway without OIDC settings does not take the provider's tokens."""
    token = hydra.client_credentials_token(*oidc_client, audience=AUDIENCE)
    settings = Settings(data_dir=tmp_path / "plain", token_secret="t" * 32, orgs=["BankAMSP"])
    settings.data_dir.mkdir(parents=True)
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert token not in response.text


def test_page_login_with_pkce_gives_a_session_with_the_mapped_role(
    gateway: TestClient, as_user: Callable[..., None]
) -> None:
    as_user("alice", "staff", "bank-loan-officers")
    trail: list[str] = []
    token = page_login(gateway, "/lender", trail)
    authorize = parse_qs(urlsplit(next(u for u in trail if "/oauth2/auth?" in u)).query)
    assert authorize["code_challenge_method"] == ["S256"]
    assert len(authorize["code_challenge"][0]) >= 43
    assert authorize["nonce"][0] and authorize["state"][0]
    assert authorize["audience"] == [AUDIENCE]
    assert any(u.startswith(f"{GATEWAY}/login/oidc/callback?code=") for u in trail)

    page = gateway.get("/lender", follow_redirects=False)
    assert page.status_code == 200  # not sent back to /login
    me = gateway.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert me == {"username": "alice", "msp_id": "BankAMSP", "role": "loan_officer", "enrolled": True}


def test_callback_with_a_foreign_state_is_refused(gateway: TestClient, hydra: Hydra) -> None:
    start = gateway.get("/login/oidc?next=/lender", follow_redirects=False)
    assert start.status_code == 303
    refused = gateway.get("/login/oidc/callback?code=forged&state=not-the-one-sent", follow_redirects=False)
    assert refused.status_code == 401
    assert "state does not match" in refused.text
    assert gateway.cookies.get("mledger_session") is None


def test_callback_without_the_flow_cookie_is_refused(gateway: TestClient) -> None:
    refused = gateway.get("/login/oidc/callback?code=x&state=y", follow_redirects=False)
    assert refused.status_code == 401
    assert "start again" in refused.text


def test_provider_refusing_the_login_gives_no_session(gateway: TestClient, hydra: Hydra) -> None:
    hydra.login.deny_next = True
    final = follow(gateway, "/login/oidc?next=/lender")
    assert final.status_code == 401
    assert "access_denied" in final.text
    assert gateway.cookies.get("mledger_session") is None


def test_roles_come_from_the_configured_claim(gateway: TestClient, as_user: Callable[..., None]) -> None:
    as_user("bob", "bank-auditors")
    token = page_login(gateway, "/audit")
    assert gateway.get("/api/v1/auth/me", headers=bearer(token)).json()["role"] == "auditor"
    refused = gateway.post("/api/v1/liens", headers=bearer(token), json={})
    assert refused.status_code == 403
    assert "read-only" in refused.json()["error"]["message"]


def test_first_mapped_role_wins(gateway: TestClient, as_user: Callable[..., None]) -> None:
    as_user("bob2", "bank-auditors", "bank-admins")  # the map lists bank-admins first
    token = page_login(gateway, "/audit")
    assert gateway.get("/api/v1/auth/me", headers=bearer(token)).json()["role"] == "admin"


def test_a_token_without_a_mapped_role_is_refused(gateway: TestClient, as_user: Callable[..., None]) -> None:
    as_user("carol", "canteen-staff")
    final = follow(gateway, "/login/oidc?next=/lender")
    assert final.status_code in (401, 403)
    assert "roles" in final.text
    assert gateway.cookies.get("mledger_session") is None


def test_logout_revokes_the_page_session(gateway: TestClient, as_user: Callable[..., None]) -> None:
    as_user("dave", "bank-loan-officers")
    token = page_login(gateway)
    assert gateway.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
    home = gateway.get("/")
    csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    gateway.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    refused = gateway.get("/api/v1/auth/me", headers=bearer(token))
    assert refused.status_code == 401
    assert "revoked" in refused.text


# --- bad tokens ----------------------------------------------------------------------------------


def _claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": issuer, "sub": "mallory", "aud": [AUDIENCE], "exp": now + 300, "iat": now}
    claims["roles"] = ["bank-admins"]
    claims.update(overrides)
    return claims


def _self_signed(claims: dict[str, Any], kid: str) -> str:
    key = RSAKey.generate_key(2048)
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


def _refused(gateway: TestClient, token: str, reason: str) -> None:
    response = gateway.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert reason in response.text
    assert token not in response.text
    assert token.split(".")[1] not in response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_token_from_another_issuer_is_refused(gateway: TestClient, hydra: Hydra) -> None:
    token = _self_signed(_claims("https://idp.elsewhere.example"), kid=hydra.published_kids()[0])
    _refused(gateway, token, "wrong issuer")


def test_expired_token_is_refused(gateway: TestClient, hydra: Hydra) -> None:
    client_id, secret = hydra.create_client(f"{GATEWAY}/cb", [AUDIENCE])
    hydra.set_lifespans(client_id, client_credentials_grant_access_token_lifespan="1s")
    token = hydra.client_credentials_token(client_id, secret, audience=AUDIENCE)
    time.sleep(2.2)
    _refused(gateway, token, "token expired")


def test_token_for_another_audience_is_refused(
    gateway: TestClient, hydra: Hydra, oidc_client: tuple[str, str]
) -> None:
    token = hydra.client_credentials_token(*oidc_client, audience="https://other.example/api")
    _refused(gateway, token, "wrong audience")


def test_token_signed_by_an_unknown_key_is_refused(gateway: TestClient, hydra: Hydra) -> None:
    _refused(
        gateway, _self_signed(_claims(hydra.issuer), kid="not-published-by-hydra"), "unknown signing key"
    )


def test_token_with_a_published_kid_but_a_foreign_signature_is_refused(
    gateway: TestClient, hydra: Hydra
) -> None:
    for kid in hydra.published_kids():
        _refused(gateway, _self_signed(_claims(hydra.issuer), kid=kid), "bad signature")


def test_token_without_an_audience_is_refused(gateway: TestClient, hydra: Hydra) -> None:
    """Hydra leaves ``aud`` empty when no audience was asked for: not a token for this API."""
    client_id, secret = hydra.create_client(f"{GATEWAY}/cb", [AUDIENCE])
    token = httpx.post(
        f"{hydra.issuer}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    ).json()["access_token"]
    _refused(gateway, token, "wrong audience")


# --- key rotation --------------------------------------------------------------------------------


def test_key_rotation_at_the_provider_is_picked_up(
    gateway: TestClient, hydra: Hydra, as_user: Callable[..., None]
) -> None:
    as_user("frank", "bank-loan-officers")
    before = page_login(gateway)
    assert gateway.get("/api/v1/auth/me", headers=bearer(before)).status_code == 200
    provider = gateway.app.state.gw.extras["oidc_provider"]  # type: ignore[attr-defined]
    fetches = provider.jwks_fetches

    new_kid = hydra.rotate_access_token_key()
    gateway.cookies.clear()
    after = page_login(gateway)
    assert unverified_parts(after)[0]["kid"] == new_kid
    me = gateway.get("/api/v1/auth/me", headers=bearer(after))
    assert me.status_code == 200, me.text
    assert provider.jwks_fetches > fetches  # refetched on the unknown kid, no restart


def test_client_secret_is_not_logged(
    gateway: TestClient,
    oidc_client: tuple[str, str],
    as_user: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    as_user("grace", "bank-loan-officers")
    page_login(gateway)
    assert oidc_client[1] not in caplog.text
