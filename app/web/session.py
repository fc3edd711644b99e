"""Browser sessions: the gateway's own bearer token kept in an HttpOnly cookie, plus a CSRF token.

The login form goes through the same user store and token issuer as ``POST /api/v1/auth/token``;
each page resolves the cookie exactly like the API resolves an ``Authorization`` header.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from fastapi.responses import Response

from app.api.deps import AuthUser
from app.api.state import GatewayState
from app.users.store import UserError, split_qualified
from app.users.tokens import TokenError, issue_token, verify_token

SESSION_COOKIE = "mledger_session"


def login(state: GatewayState, qualified: str, password: str) -> str | None:
    """A bearer token for ``name@MSP`` + password, or None when they do not match."""
    default = state.settings.orgs[0] if len(state.settings.orgs) == 1 else None
    try:
        msp_id, username = split_qualified(qualified.strip(), default)
    except UserError:
        return None
    if msp_id not in state.settings.orgs:
        return None
    user = state.users.authenticate(msp_id, username, password)
    if user is None:
        return None
    ttl = state.settings.token_ttl_seconds
    return issue_token(state.settings.signing_secret, f"{user.msp_id}/{user.username}", user.role.value, ttl)


def set_session(response: Response, state: GatewayState, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=state.settings.token_ttl_seconds,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def user_for_token(state: GatewayState, token: str) -> AuthUser | None:
    """The same checks as the API's bearer auth: signature, expiry, user still there and enabled."""
    try:
        claims = verify_token(state.settings.signing_secret, token)
    except TokenError:  # expired or forged: treated as logged out
        return None
    msp_id, _, username = claims.subject.partition("/")
    user = state.users.get(msp_id, username)
    if user is None or user.disabled or msp_id not in state.settings.orgs:
        return None
    return AuthUser(user)


def session_user(request: Request, state: GatewayState) -> AuthUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    return user_for_token(state, token) if token else None


def csrf_token(state: GatewayState, request: Request) -> str:
    """Bound to the session token: a form posted from another site cannot know it."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(state.settings.signing_secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def csrf_ok(state: GatewayState, request: Request, presented: str) -> bool:
    return bool(request.cookies.get(SESSION_COOKIE)) and hmac.compare_digest(
        csrf_token(state, request), presented
    )
