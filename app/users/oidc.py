"""Sign-on through the bank's identity provider: OIDC discovery, its published keys, token checks.

The API takes the provider's JWT access tokens as bearer tokens and checks them here, locally, as a
bank's resource server does: the issuer, the audience (this gateway's API), expiry and not-before
(with a small leeway for clock skew), and the signature by a key the provider publishes in its JWKS.
Keys are cached; a token whose ``kid`` is not in the cache makes one refetch (at most one per
``oidc_jwks_min_refetch_seconds``, so random key ids cannot make the gateway hammer the provider), which
is how a key rotation at the provider is picked up without a restart.

The org's roles come from a configured claim (``oidc_role_claim``, dots descend into objects) and are
mapped to the project's roles by ``oidc_role_map``; the first entry of the map the token holds wins.

Failures are :class:`OidcTokenError` with a reason class (issuer, audience, expired, unknown key, ...)
and never the token itself. The JOSE work is joserfc's (Authlib's JOSE library); the ID token's
nonce and ``at_hash`` checks are Authlib's :class:`~authlib.oidc.core.CodeIDToken`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key, KeySet
from joserfc.jwt import JWTClaimsRegistry

from app.users.roles import STANDARD_USERS, Role, check_role_for_org

log = logging.getLogger(__name__)

# Asymmetric algorithms only: a provider's tokens are checked with its public keys, never a shared
# secret (no "alg": "none", no HS256 with a public key as the secret).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OidcTokenError(Exception):
    """A token refused; ``reason`` is its class (issuer, audience, expired, unknown key, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


class OidcRoleError(Exception):
    """A valid token whose role claim holds none of the mapped roles (the message names the claim)."""


class OidcProviderError(Exception):
    """The provider's discovery document or keys cannot be fetched (the gateway answers 503)."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """What the gateway needs to know about its identity provider (from the settings)."""

    issuer: str
    audience: str
    client_id: str | None
    msp_id: str
    role_claim: str = "roles"
    role_map: Mapping[str, Role] | None = None
    username_claim: str = "sub"
    signers: Mapping[Role, str] | None = None
    scopes: str = "openid profile"
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 300
    jwks_min_refetch_seconds: float = 10.0
    http_timeout_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """A person the provider vouches for, as this gateway sees them."""

    subject: str
    username: str
    msp_id: str
    role: Role
    signer: str  # the enrolled Fabric identity their transactions are signed with
    token_id: str  # the jti (what a logout revokes); the token's hash when it has none
    expires_at: int


def config_from_settings(settings: Any) -> OidcConfig | None:
    """The OIDC configuration, or None when sign-on is off (no issuer). ValueError names the setting."""
    issuer = settings.oidc_issuer
    if not issuer:
        return None
    client_id = settings.oidc_client_id
    audience = settings.oidc_audience or client_id
    if not audience:
        raise ValueError("oidc_audience: required (or oidc_client_id) when oidc_issuer is set")
    msp_id = settings.oidc_org
    if msp_id is None:
        if len(settings.orgs) != 1:
            raise ValueError("oidc_org: required when the gateway serves more than one org")
        msp_id = settings.orgs[0]
    if msp_id not in settings.orgs:
        raise ValueError(f"oidc_org: {msp_id!r} is not an org of this gateway ({settings.orgs})")
    role_map: dict[str, Role] = {}
    for idp_value, name in settings.oidc_role_map.items():
        try:
            role = Role(name)
        except ValueError:
            raise ValueError(f"oidc_role_map: {name!r} (for {idp_value!r}) is not a role") from None
        check_role_for_org(msp_id, role)
        role_map[idp_value] = role
    if not role_map:
        raise ValueError("oidc_role_map: required when oidc_issuer is set (IdP role -> project role)")
    signers: dict[Role, str] = {}
    for name, user in settings.oidc_signers.items():
        try:
            signers[Role(name)] = user
        except ValueError:
            raise ValueError(f"oidc_signers: {name!r} is not a role") from None
    if settings.backend == "fabric":  # sign as the org's standard user of the role unless configured
        for user, role in STANDARD_USERS.get(msp_id, []):
            signers.setdefault(role, user)
    return OidcConfig(
        issuer=issuer,
        audience=audience,
        client_id=client_id,
        msp_id=msp_id,
        role_claim=settings.oidc_role_claim,
        role_map=role_map,
        username_claim=settings.oidc_username_claim,
        signers=signers,
        scopes=settings.oidc_scopes,
        leeway_seconds=settings.oidc_leeway_seconds,
        jwks_cache_seconds=settings.oidc_jwks_cache_seconds,
        jwks_min_refetch_seconds=settings.oidc_jwks_min_refetch_seconds,
        http_timeout_seconds=settings.oidc_http_timeout_seconds,
    )


def _b64json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, unchecked: only to route the token and pick its key."""
    parts = token.split(".")
    if len(parts) != 3:
        raise OidcTokenError("malformed token", "not a compact JWT")
    try:
        return _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, UnicodeError) as exc:
        raise OidcTokenError("malformed token", "header or claims are not base64url JSON") from exc


def is_provider_token(token: str) -> bool:
    """True for a JWT that names an issuer (the gateway's own tokens have none)."""
    try:
        _, claims = unverified_parts(token)
    except OidcTokenError:
        return False
    return "iss" in claims


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class OidcProvider:
    """The identity provider as seen by one gateway: discovery, cached keys, token checks.

    Thread-safe; the HTTP calls are synchronous and short (discovery and keys are cached, refetched
    only on expiry or an unknown key id), so the pages and the API share one code path.
    """

    def __init__(
        self,
        config: OidcConfig,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._http = http or httpx.Client(timeout=config.http_timeout_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, Key] = {}
        self._keys_at = float("-inf")
        self.jwks_fetches = 0  # how often the key set was fetched (rotation is visible in tests)

    # --- discovery and keys ---------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached like the keys); its issuer must be ours."""
        with self._lock:
            now = self._clock()
            if self._metadata is None or now - self._metadata_at > self.config.jwks_cache_seconds:
                url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
                document = self._get_json(url, "discovery document")
                if document.get("issuer") != self.config.issuer:
                    raise OidcProviderError(
                        f"the discovery document names issuer {document.get('issuer')!r}, "
                        f"not the configured {self.config.issuer!r}"
                    )
                self._metadata, self._metadata_at = document, now
            return self._metadata

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = self._http.get(url)
            response.raise_for_status()
            value = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcProviderError(f"identity provider {what} unavailable ({type(exc).__name__})") from exc
        if not isinstance(value, dict):
            raise OidcProviderError(f"identity provider {what} is not a JSON object")
        return value

    def _fetch_keys(self) -> None:
        jwks_uri = self.metadata().get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise OidcProviderError("the discovery document has no jwks_uri")
        document = self._get_json(jwks_uri, "key set")
        keys: dict[str, Key] = {}
        for entry in document.get("keys", []):
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[str(entry["kid"])] = KeySet.import_key_set({"keys": [entry]}).keys[0]
            except (JoseError, ValueError, TypeError):
                log.warning(
                    "oidc: skipped an unusable key in the provider's key set", extra={"kid": entry["kid"]}
                )
        with self._lock:
            self._keys, self._keys_at = keys, self._clock()
            self.jwks_fetches += 1
        log.info("oidc: fetched the provider's key set", extra={"keys": len(keys)})

    def key_for(self, kid: str | None) -> Key:
        """The published key with this id; refetches the key set on an unknown id (rotation)."""
        if not kid:
            raise OidcTokenError("unknown signing key", "the token header has no kid")
        now = self._clock()
        with self._lock:
            stale = now - self._keys_at > self.config.jwks_cache_seconds
            key = None if stale else self._keys.get(kid)
            may_refetch = stale or now - self._keys_at >= self.config.jwks_min_refetch_seconds
        if key is not None:
            return key
        if may_refetch:
            self._fetch_keys()
            with self._lock:
                key = self._keys.get(kid)
        if key is None:
            raise OidcTokenError("unknown signing key", "the provider publishes no key with the token's kid")
        return key

    # --- tokens ---------------------------------------------------------------------------------

    def _decode(self, token: str, registry: JWTClaimsRegistry) -> tuple[dict[str, Any], dict[str, Any]]:
        header, unverified = unverified_parts(token)
        if unverified.get("iss") != self.config.issuer:
            raise OidcTokenError("wrong issuer", "the token was not issued by the configured provider")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise OidcTokenError("unsupported algorithm", f"{str(alg)[:20]!r} is not accepted")
        key = self.key_for(header.get("kid"))
        try:
            decoded = jwt.decode(token, key, algorithms=[str(alg)])
        except BadSignatureError as exc:
            raise OidcTokenError("bad signature", "not signed by the provider's key") from exc
        except JoseError as exc:
            raise OidcTokenError("malformed token", type(exc).__name__) from exc
        claims = dict(decoded.claims)
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise OidcTokenError("token expired") from exc
        except MissingClaimError as exc:
            raise OidcTokenError("missing claim", exc.claim[:40]) from exc
        except InvalidClaimError as exc:
            claim = exc.claim
            if claim == "aud":
                raise OidcTokenError("wrong audience", "the token is not meant for this gateway") from exc
            if claim in ("nbf", "iat"):
                raise OidcTokenError("not yet valid", claim) from exc
            raise OidcTokenError("invalid claim", claim[:40]) from exc
        return decoded.header, claims

    def _registry(self, audience: str) -> JWTClaimsRegistry:
        return JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.config.leeway_seconds,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def verify_access_token(self, token: str) -> OidcIdentity:
        """The identity behind a provider's access token; OidcTokenError/OidcRoleError otherwise."""
        _, claims = self._decode(token, self._registry(self.config.audience))
        role = self.role_of(claims)
        username = claim_at(claims, self.config.username_claim)
        if not isinstance(username, str) or not username:
            raise OidcTokenError("missing claim", self.config.username_claim)
        signers = self.config.signers or {}
        token_id = claims.get("jti")
        if not isinstance(token_id, str) or not token_id:
            token_id = "sha256:" + hashlib.sha256(token.encode()).hexdigest()
        return OidcIdentity(
            subject=str(claims["sub"]),
            username=username,
            msp_id=self.config.msp_id,
            role=role,
            signer=signers.get(role, username),
            token_id=token_id,
            expires_at=int(claims["exp"]),
        )

    def role_of(self, claims: Mapping[str, Any]) -> Role:
        """The project role of the token's holder: the first role-map entry the role claim holds."""
        held = claim_at(claims, self.config.role_claim)
        if isinstance(held, str):
            values = set(held.split())
        elif isinstance(held, list):
            values = {str(v) for v in held}
        else:
            values = set()
        for idp_value, role in (self.config.role_map or {}).items():
            if idp_value in values:
                return role
        raise OidcRoleError(
            f"the token's {self.config.role_claim!r} claim holds no role mapped for this gateway"
        )

    def verify_id_token(self, id_token: str, *, nonce: str, access_token: str | None) -> dict[str, Any]:
        """The ID token of a login: provider's signature, issuer, audience = our client id, expiry, and
        Authlib's OIDC checks (the nonce we sent, ``at_hash`` of the access token)."""
        client_id = self.config.client_id or ""
        header, claims = self._decode(id_token, self._registry(client_id))
        params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
        if access_token is not None:
            params["access_token"] = access_token
        id_claims = CodeIDToken(claims, header, None, params)
        try:
            id_claims.validate(now=int(self._clock()), leeway=self.config.leeway_seconds)
        except JoseError as exc:
            claim = str(getattr(exc, "claim", "") or exc.description or type(exc).__name__)
            raise OidcTokenError("invalid id token", claim[:40]) from exc
        return claims
