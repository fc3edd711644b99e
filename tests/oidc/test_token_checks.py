"""The token checks of app.users.oidc with a key set served in-process (fast; hydra tests cover the rest)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.users.oidc import OidcConfig, OidcProvider, OidcRoleError, OidcTokenError
from app.users.roles import Role

ISSUER = "https://idp.banka.example"
K1 = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
K2 = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig", "alg": "RS256"})


class Idp:
    def __init__(self) -> None:
        self.published = [K1]

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": ISSUER + "/jwks"})
        return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.published]})


@pytest.fixture
def idp() -> Idp:
    return Idp()


@pytest.fixture
def provider(idp: Idp) -> OidcProvider:
    config = OidcConfig(
        issuer=ISSUER,
        audience="api",
        client_id="gateway",
        msp_id="BankAMSP",
        role_map={"admins": Role.admin, "lo": Role.loan_officer},
        leeway_seconds=0,
        jwks_min_refetch_seconds=0,
    )
    return OidcProvider(config, http=httpx.Client(transport=httpx.MockTransport(idp.handler)))


def token(key: RSAKey, kid: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "alice", "aud": ["api"], "exp": now + 60, "iat": now, "jti": "j1"}
    body["roles"] = ["lo"]
    body.update(claims)
    return jwt.encode({"alg": "RS256", "kid": kid}, body, key)


def test_a_good_token(provider: OidcProvider) -> None:
    identity = provider.verify_access_token(token(K1, "k1"))
    assert (identity.username, identity.msp_id, identity.role) == ("alice", "BankAMSP", Role.loan_officer)
    assert identity.token_id == "j1"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: token(K1, "k1", iss="https://elsewhere.example"), "wrong issuer"),
        (lambda: token(K1, "k1", exp=int(time.time()) - 5), "token expired"),
        (lambda: token(K1, "k1", aud=["other"]), "wrong audience"),
        (lambda: token(K1, "k1", aud=[]), "wrong audience"),
        (lambda: token(K1, "k1", nbf=int(time.time()) + 600), "not yet valid"),
        (lambda: token(K2, "k2"), "unknown signing key"),
        (lambda: token(K2, "k1"), "bad signature"),
        (lambda: "a.b", "malformed token"),
        (lambda: jwt.encode({"alg": "HS256"}, {"iss": ISSUER}, RSAKey.generate_key(2048)), "unsupported"),
    ],
)
def test_bad_tokens_name_their_reason(provider: OidcProvider, make: Any, reason: str) -> None:
    try:
        bad = make()
    except Exception:  # joserfc refuses to make an HS256 token with an RSA key: forge the header
        bad = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5iYW5rYS5leGFtcGxlIn0.c2ln"
    with pytest.raises(OidcTokenError, match=reason) as caught:
        provider.verify_access_token(bad)
    assert bad not in str(caught.value)


def test_no_mapped_role(provider: OidcProvider) -> None:
    with pytest.raises(OidcRoleError, match="'roles' claim"):
        provider.verify_access_token(token(K1, "k1", roles=["canteen"]))


def test_first_mapped_role_wins_and_strings_are_split(provider: OidcProvider) -> None:
    assert provider.verify_access_token(token(K1, "k1", roles="lo admins")).role is Role.admin


def test_rotation_refetches_once_on_an_unknown_kid(provider: OidcProvider, idp: Idp) -> None:
    provider.verify_access_token(token(K1, "k1"))
    fetched = provider.jwks_fetches
    provider.verify_access_token(token(K1, "k1"))
    assert provider.jwks_fetches == fetched  # cached
    idp.published.append(K2)
    assert provider.verify_access_token(token(K2, "k2")).role is Role.loan_officer
    assert provider.jwks_fetches == fetched + 1


def test_unknown_kids_do_not_hammer_the_provider(idp: Idp) -> None:
    config = OidcConfig(
        issuer=ISSUER, audience="api", client_id=None, msp_id="BankAMSP", role_map={"lo": Role.loan_officer}
    )
    provider = OidcProvider(config, http=httpx.Client(transport=httpx.MockTransport(idp.handler)))
    provider.verify_access_token(token(K1, "k1"))
    for i in range(5):
        with pytest.raises(OidcTokenError, match="unknown signing key"):
            provider.verify_access_token(token(K2, f"random{i}"))
    assert provider.jwks_fetches == 1  # within the minimum refetch interval
