"""Browser sessions: the gateway's own bearer token kept in an HttpOnly cookie, plus a CSRF token.

The login form goes through the same rate-limited login service and token issuer as
``POST /api/v1/auth/token``; each page resolves the cookie exactly like the API resolves an
``Authorization`` header (signature, expiry, revocation, user enabled, demo rules). Logout puts the
token's id on the revocation list, so a copied cookie stops working too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from app.api.deps import AuthUser, bearer_auth
from app.api.errors import ApiError
from app.api.sessions import password_login, revoke, session_token
from app.api.state import GatewayState

SESSION_COOKIE = "mledger_session"


async def login(state: GatewayState, request: Request, qualified: str, password: str) -> str | None:
    """A bearer token for ``name@MSP`` + password, or None when they do not match.

    ApiError 429 while the account or the client address is locked out.
    """
    user = await password_login(state, request, qualified, password)
    return session_token(state, user) if user is not None else None


def cookie_secure(state: GatewayState, request: Request) -> bool:
    """Secure when the settings say so, else when the request came over https (X-Forwarded-Proto from a
    trusted proxy is applied to the scheme by the proxy-headers middleware)."""
    configured = state.settings.cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


def set_session(response: Response, state: GatewayState, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=state.settings.token_ttl_seconds,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(state, request),
        path="/",
    )


def end_session(state: GatewayState, request: Request, response: Response) -> None:
    """Revoke the session's token and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke(state, token)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=cookie_secure(state, request), httponly=True)


def user_for_token(state: GatewayState, token: str) -> AuthUser | None:
    """The same checks as the API's bearer auth; None when the token no longer stands for a user."""
    try:
        auth = bearer_auth(state, token)
    except ApiError:  # expired, forged or revoked: treated as logged out
        return None
    user = auth.user
    if user.msp_id not in state.settings.orgs or (user.demo and not state.settings.demo_mode):
        return None
    return auth


def session_user(request: Request, state: GatewayState) -> AuthUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    return user_for_token(state, token) if token else None


CSRF_COOKIE = "mledger_csrf"


def csrf_seed(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie value, or a new one to set (``True`` when new)."""
    seed = request.cookies.get(CSRF_COOKIE, "")
    if len(seed) >= 32:
        return seed, False
    cached = getattr(request.state, "csrf_seed", None)
    if cached:
        return str(cached), True
    seed = secrets.token_urlsafe(32)
    request.state.csrf_seed = seed
    return seed, True


def _mac(state: GatewayState, seed: str, session: str) -> str:
    message = f"csrf:{seed}:{session}".encode()
    return hmac.new(state.settings.signing_secret, message, hashlib.sha256).hexdigest()[:40]


def csrf_token(state: GatewayState, request: Request) -> str:
    """The token every form carries: an HMAC (server key) of the browser's CSRF cookie and its session.

    A signed double-submit cookie: another site can neither read the cookie nor compute the HMAC
    for a cookie it managed to plant, and the token changes when the session does (login, logout).
    """
    seed, _ = csrf_seed(request)
    return _mac(state, seed, request.cookies.get(SESSION_COOKIE, ""))


def set_csrf_cookie(response: Response, state: GatewayState, request: Request) -> None:
    seed, new = csrf_seed(request)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            seed,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(state, request),
            path="/",
        )


def csrf_ok(state: GatewayState, request: Request, presented: str) -> bool:
    seed = request.cookies.get(CSRF_COOKIE, "")
    if len(seed) < 32 or not presented:
        return False
    return hmac.compare_digest(_mac(state, seed, request.cookies.get(SESSION_COOKIE, "")), presented)
