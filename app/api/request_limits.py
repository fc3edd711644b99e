"""Request limits enforced before any body is read: who may send a body, and how large.

An ASGI middleware in front of every route (API and web pages):

1. Authentication first. A body-carrying request (POST/PUT/PATCH/DELETE) to a route that needs a user
   is answered 401 when it carries no valid credentials (Bearer token, API key, or the web session
   cookie), before a byte of its body is read. Only the login, the owner's challenge sign-in, QR
   verification/scan and the public web forms take anonymous bodies, with small (or photo-sized)
   limits. An owner's session authenticates the owner's own routes only.
2. Size per route. ``Content-Length`` above the route's limit is answered 413 at once; a body without
   one (chunked) is counted as it streams and the request fails with 413 at the first byte over.

Upload routes get ``max_upload_bytes`` (plus room for the multipart framing); everything else
``max_body_bytes``. Starlette spools uploaded files to temporary disk past 1 MiB, so with the cap an
upload never sits in memory whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import ApiError, TranslatingRoute, error_json, error_response
from app.services.errors import TooLarge, field_error
from app.store.database import StoreUnavailable

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MULTIPART_OVERHEAD = 64 * 1024
SMALL_FORM_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class RouteLimit:
    pattern: re.Pattern[str]
    anonymous: bool  # may be called without credentials
    upload: bool  # file upload: max_upload_bytes instead of max_body_bytes
    small: bool = False  # a login-sized form


def _route(pattern: str, *, anonymous: bool = False, upload: bool = False, small: bool = False) -> RouteLimit:
    return RouteLimit(re.compile(pattern), anonymous, upload, small)


# First match wins; paths not listed need a user and get max_body_bytes.
ROUTES: tuple[RouteLimit, ...] = (
    _route(r"^/api/v1/auth/token$", anonymous=True, small=True),
    _route(r"^/api/v1/owner-auth/(challenge|response)$", anonymous=True, small=True),
    _route(r"^/owner/signin$", anonymous=True, small=True),
    _route(r"^/api/v1/qr/verify$", anonymous=True, small=True),
    _route(r"^/api/v1/qr/scan$", anonymous=True, upload=True),
    _route(r"^/api/v1/documents(/[^/]+/verify)?$", upload=True),
    _route(r"^/api/v1/(valuation|risk/scorecard)/(train|evaluate)(/.*)?$", upload=True),  # CSV files
    _route(r"^/login$", anonymous=True, small=True),
    _route(r"^/logout$", anonymous=True, small=True),
    _route(r"^/scan$", anonymous=True, upload=True),
    _route(r"^/lender/liens$", upload=True),
)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI passes HTTPException on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body: larger than the {limit} byte limit of this route")


class RequestLimits:
    """See the module docstring. ``authenticate(scope) -> bool`` says whether credentials are valid."""

    def __init__(self, app: ASGIApp, *, state: Any) -> None:
        self.app = app
        self.state = state

    def limit_for(self, route: RouteLimit | None) -> int:
        settings = self.state.settings
        if route is not None and route.upload:
            return int(settings.max_upload_bytes) + MULTIPART_OVERHEAD
        if route is not None and route.small:
            return SMALL_FORM_BYTES
        return int(settings.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        counted = await self.admit(scope, receive, send)
        if counted is not None:
            await self.app(scope, counted, send)

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """For a body-carrying HTTP request: None when it was refused here (401/303/413/503 sent), else
        the ``receive`` to pass on, which fails with 413 at the first streamed byte over the limit."""
        path: str = scope["path"]
        route = next((r for r in ROUTES if r.pattern.match(path)), None)
        try:
            authenticated = bool(route and route.anonymous) or self._authenticated(scope)
        except StoreUnavailable as exc:
            await _refuse(send, 503, "off-chain store unavailable; retry later",
                          {"Retry-After": str(exc.retry_after)})  # fmt: skip
            return None
        if not authenticated:
            if not path.startswith("/api/"):  # a web form with no (or an ended) session: log in again
                await _redirect(send, "/login")
                return None
            await _refuse(send, 401, "authentication required (Bearer token, X-API-Key or a session)",
                          {"WWW-Authenticate": "Bearer"})  # fmt: skip
            return None
        limit = self.limit_for(route)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(send, 413, f"request body: {length} bytes, larger than the {limit} byte limit")
            return None
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return counted

    def _authenticated(self, scope: Scope) -> bool:
        from app.api.deps import bearer_auth

        headers = _headers(scope)
        api_key = headers.get("x-api-key")
        if api_key:
            user = self.state.users.user_for_api_key(api_key)
            return user is not None
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            token = _cookie(headers.get("cookie", ""), "mledger_session") or ""
        if not token:
            return False
        try:
            bearer_auth(self.state, token.strip())
        except ApiError:
            return _owner_session(self.state, scope["path"], token.strip())
        return True


def _owner_session(state: Any, path: str, token: str) -> bool:
    """An owner's session authenticates the owner's own routes only (``/api/v1/owner/…``, ``/owner/…``)."""
    from app.services.owner_portal import is_owner_token

    if not path.startswith(("/api/v1/owner/", "/owner/")):
        return False
    return is_owner_token(state.settings.signing_secret, token)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip('"')
    return None


async def _refuse(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(error_json(status, message), separators=(",", ":")).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(b"connection", b"close")]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode()), (b"content-length", b"0"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


# A route's own body limit, stricter than the gateway's (``openapi_extra={BODY_LIMIT_KEY: bytes}``).
BODY_LIMIT_KEY = "x-body-limit-bytes"


class BodyLimitRoute(TranslatingRoute):
    """A route with its own body limit: over ``Content-Length`` at once, or a streamed body at the first
    byte past it, answers 413 (for routers also mounted without the gateway's middleware)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit = (self.openapi_extra or {}).get(BODY_LIMIT_KEY)
        if limit is None:
            return handler

        async def route(request: Request) -> Response:
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                message = f"request body of {declared} bytes is over this route's limit of {limit} bytes"
                return error_response(field_error(TooLarge, "body", "too large", message))
            _cap_body(request, limit)
            try:
                return await handler(request)
            except HTTPException as exc:  # the body parser wraps what the capped reader raised
                if isinstance(exc.__cause__, TooLarge):
                    return error_response(exc.__cause__)
                raise

        return route


def _cap_body(request: Request, limit: int) -> None:
    """Stop reading a body (chunked or lying about its length) once it passes ``limit`` bytes."""
    receive = request._receive
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                text = f"request body is over this route's limit of {limit} bytes"
                raise field_error(TooLarge, "body", "too large", text)
        return message

    request._receive = capped
