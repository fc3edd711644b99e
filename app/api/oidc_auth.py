"""The gateway's second authenticator: bearer tokens of the bank's identity provider (OIDC).

Opt-in by settings (``MLEDGER_OIDC_ISSUER`` and friends, docs/sign-on.md); local accounts, the gateway's
own tokens and API keys keep working beside it. A bearer token that names an issuer is the provider's
and is checked here; the gateway's own tokens carry no issuer and go on to the local check.
"""

from __future__ import annotations

from app.api.errors import ApiError
from app.api.state import GatewayState
from app.users.oidc import (
    OidcIdentity,
    OidcProvider,
    OidcProviderError,
    OidcRoleError,
    OidcTokenError,
    config_from_settings,
    is_provider_token,
)
from app.users.store import User

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_KEY = "oidc_provider"


def oidc_provider(state: GatewayState) -> OidcProvider | None:
    """The gateway's identity provider client (built once from the settings), None when OIDC is off."""
    if _KEY not in state.extras:
        config = config_from_settings(state.settings)
        state.extras[_KEY] = OidcProvider(config) if config is not None else None
    provider = state.extras[_KEY]
    return provider if isinstance(provider, OidcProvider) else None


def handles(state: GatewayState, token: str) -> bool:
    """Whether this token is the identity provider's (OIDC on and the token names an issuer)."""
    return oidc_provider(state) is not None and is_provider_token(token)


def verify(state: GatewayState, token: str) -> OidcIdentity:
    """The token's identity; ApiError 401 naming the reason class (never the token), 403 when it holds
    no mapped role, 503 when the provider's keys cannot be fetched."""
    provider = oidc_provider(state)
    if provider is None:
        raise ApiError(
            401, "invalid bearer token: sign-on through an identity provider is off", headers=_CHALLENGE
        )
    try:
        identity = provider.verify_access_token(token)
    except OidcTokenError as exc:
        raise ApiError(401, f"invalid bearer token: {exc}", headers=_CHALLENGE) from None
    except OidcRoleError as exc:
        raise ApiError(403, f"access rule: {exc}") from None
    except OidcProviderError as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": "5"}) from None
    if state.users.token_revoked(identity.token_id):
        raise ApiError(401, "invalid bearer token: revoked (logged out)", headers=_CHALLENGE)
    return identity


def as_user(identity: OidcIdentity) -> User:
    """The provider's user as the gateway's user record (not stored: the provider is the directory)."""
    return User(
        msp_id=identity.msp_id,
        username=identity.username,
        role=identity.role,
        enrolled=True,
        enrollment_id=None,
        disabled=False,
    )
