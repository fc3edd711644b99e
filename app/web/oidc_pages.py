"""Page sign-on through the bank's identity provider: authorization code with PKCE (OIDC).

``GET /login/oidc`` sends the browser to the provider with a fresh ``state``, ``nonce`` and PKCE
verifier, kept in a short-lived HttpOnly cookie signed with the gateway's key (so any replica can
finish the login); ``GET /login/oidc/callback`` checks the state, exchanges the code (client secret +
verifier) with Authlib's client, checks the ID token (signature, issuer, audience, expiry, nonce,
``at_hash``) and the access token like an API bearer token, and keeps the access token as the page
session. The session ends when the token expires or on logout (its ``jti`` is revoked).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from html import escape
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api import oidc_auth
from app.api.deps import AuthUser
from app.api.errors import ApiError
from app.api.state import GatewayState
from app.users.oidc import OidcProvider, OidcProviderError, OidcTokenError
from app.web.pages import error_page, home_for, render, state_of
from app.web.session import SESSION_COOKIE, cookie_secure

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

FLOW_COOKIE = "mledger_oidc_flow"
FLOW_PATH = "/login/oidc"
FLOW_TTL_SECONDS = 600
CALLBACK_PATH = "/login/oidc/callback"


def client_secret(state: GatewayState) -> str | None:
    """The client secret: from its file (preferred) or the environment; never logged."""
    settings = state.settings
    if settings.oidc_client_secret_file is not None:
        return settings.oidc_client_secret_file.read_text().strip()
    if settings.oidc_client_secret is not None:
        return settings.oidc_client_secret.get_secret_value()
    return None


def redirect_uri(state: GatewayState) -> str:
    return state.settings.public_base_url.rstrip("/") + CALLBACK_PATH


def _sign(state: GatewayState, payload: bytes) -> str:
    mac = hmac.new(state.settings.signing_secret, b"oidc-flow:" + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(payload).decode() + "." + base64.urlsafe_b64encode(mac).decode()


def _unsign(state: GatewayState, value: str) -> dict[str, Any] | None:
    body, _, mac = value.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body.encode())
        presented = base64.urlsafe_b64decode(mac.encode())
    except (ValueError, UnicodeError):
        return None
    expected = hmac.new(state.settings.signing_secret, b"oidc-flow:" + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, presented):
        return None
    flow = json.loads(payload)
    if not isinstance(flow, dict) or float(flow.get("exp", 0)) < time.time():
        return None
    return flow


def _provider(state: GatewayState) -> OidcProvider:
    provider = oidc_auth.oidc_provider(state)
    if provider is None or not provider.config.client_id:
        raise ApiError(404, "sign-on through an identity provider is not configured on this gateway")
    return provider


def _client(state: GatewayState, provider: OidcProvider) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.config.client_id,
        client_secret=client_secret(state),
        scope=provider.config.scopes,
        redirect_uri=redirect_uri(state),
        code_challenge_method="S256",
        timeout=provider.config.http_timeout_seconds,
    )


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else ""


@router.get(FLOW_PATH, response_model=None)
async def oidc_login(request: Request, next: str = "") -> Response:
    state = state_of(request)
    try:
        provider = _provider(state)
        metadata = provider.metadata()
    except ApiError as exc:
        return error_page(request, exc.status, exc.message)
    except OidcProviderError as exc:
        return error_page(request, 503, str(exc))
    verifier, nonce = generate_token(64), generate_token(32)
    async with _client(state, provider) as client:
        url, flow_state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            audience=provider.config.audience,
        )
    flow = {"state": flow_state, "nonce": nonce, "verifier": verifier, "next": _safe_next(next[:500])}
    flow["exp"] = int(time.time()) + FLOW_TTL_SECONDS
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        _sign(state, json.dumps(flow).encode()),
        max_age=FLOW_TTL_SECONDS,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to the callback
        secure=cookie_secure(state, request),
        path=FLOW_PATH,
    )
    return response


def _refused(request: Request, reason: str) -> HTMLResponse:
    log.info("oidc: page sign-on refused", extra={"reason": reason})
    response = render(request, "login.html", status_code=401, next="", failed=False, oidc_error=reason)
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response


@router.get(CALLBACK_PATH, response_model=None)
async def oidc_callback(request: Request) -> Response:
    state = state_of(request)
    try:
        provider = _provider(state)
    except ApiError as exc:
        return error_page(request, exc.status, exc.message)
    flow = _unsign(state, request.cookies.get(FLOW_COOKIE, ""))
    params = request.query_params
    if flow is None:
        return _refused(request, "sign-on expired or started elsewhere: start again")
    if not hmac.compare_digest(str(flow.get("state", "")), params.get("state", "")):
        return _refused(request, "state does not match the sign-on this browser started")
    if params.get("error"):
        return _refused(request, f"the identity provider refused: {params.get('error', '')[:60]}")
    code = params.get("code")
    if not code:
        return _refused(request, "the identity provider sent no code")
    try:
        metadata = provider.metadata()
        async with _client(state, provider) as client:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=flow["verifier"],
            )
    except (OAuthError, OidcProviderError, ValueError) as exc:
        return _refused(request, f"code exchange failed ({type(exc).__name__})")
    except Exception as exc:  # httpx transport errors
        log.warning("oidc: code exchange failed", extra={"error": type(exc).__name__})
        return _refused(request, "code exchange failed: identity provider unreachable")
    access_token = str(token.get("access_token", ""))
    id_token = token.get("id_token")
    if not id_token:
        return _refused(request, "the identity provider sent no ID token")
    try:
        provider.verify_id_token(str(id_token), nonce=str(flow["nonce"]), access_token=access_token)
    except OidcTokenError as exc:
        return _refused(request, f"ID token refused: {exc}")
    except OidcProviderError as exc:
        return error_page(request, 503, str(exc))
    try:
        identity = oidc_auth.verify(state, access_token)
    except ApiError as exc:
        return _refused(request, exc.message)
    user = oidc_auth.as_user(identity)
    target = flow.get("next") or home_for(AuthUser(user, signer=identity.signer))
    # A page that moves on by itself: a redirect chain that began at the provider is cross-site,
    # and browsers would not send the SameSite=Strict session cookie on its last hop.
    html = (
        f'<!doctype html><meta http-equiv="refresh" content="0;url={escape(target)}">'
        f'<p><a href="{escape(target)}">Continue</a></p>'
    )
    response = HTMLResponse(html, status_code=200)
    response.set_cookie(
        SESSION_COOKIE,
        access_token,
        max_age=max(1, identity.expires_at - int(time.time())),
        httponly=True,
        samesite="strict",
        secure=cookie_secure(state, request),
        path="/",
    )
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    log.info("oidc: page sign-on", extra={"msp_id": identity.msp_id, "role": identity.role.value})
    return response
