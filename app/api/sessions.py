"""Password logins, bearer tokens and their revocation: shared by the token route and the web login.

Logins are rate limited per account and client address (:class:`LoginService`); a token is the
gateway's own signed bearer token; revoking one puts its id on the revocation list until it expires.
"""

from __future__ import annotations

from fastapi import Request

from app.api import oidc_auth
from app.api.errors import ApiError
from app.api.state import GatewayState
from app.users.login import LoginAttempt, LoginService, LoginThrottled
from app.users.store import User
from app.users.tokens import TokenError, issue_token, verify_token


def client_address(request: Request) -> str:
    """The client's address as the ASGI server saw it (proxy headers applied only for trusted proxies)."""
    return request.client.host if request.client else "unknown"


def login_service(state: GatewayState) -> LoginService:
    if state.logins is None:
        state.logins = LoginService(state.settings, state.users)
    return state.logins


async def password_login(state: GatewayState, request: Request, qualified: str, password: str) -> User | None:
    """Rate-limited password check (ApiError 429 with Retry-After while locked out)."""
    attempt = LoginAttempt(qualified=qualified, password=password, client=client_address(request))
    try:
        return await login_service(state).login(attempt)
    except LoginThrottled as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc


def session_token(state: GatewayState, user: User) -> str:
    ttl = state.settings.token_ttl_seconds
    return issue_token(state.settings.signing_secret, f"{user.msp_id}/{user.username}", user.role.value, ttl)


def revoke(state: GatewayState, token: str) -> bool:
    """Put a token's id on the revocation list (until it expires). False for an invalid token."""
    if oidc_auth.handles(state, token):  # a provider's token (OIDC page session): revoke its jti here
        try:
            identity = oidc_auth.verify(state, token)
        except ApiError:
            return False
        state.users.revoke_token(identity.token_id, identity.expires_at)
        return True
    try:
        claims = verify_token(state.settings.signing_secret, token)
    except TokenError:
        return False
    state.users.revoke_token(claims.token_id, claims.expires_at)
    return True
