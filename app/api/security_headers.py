"""Security headers on every response, built with the ``secure`` library.

The pages carry no inline script or style (everything is in /web/static), so the Content-Security-
Policy allows scripts, styles and connections from this origin only; ``frame-ancestors 'none'``
(and X-Frame-Options DENY) stop clickjacking; nosniff stops content-type guessing (downloads are
``application/octet-stream`` attachments); the referrer never leaves the origin with a path.
FastAPI's interactive docs (/docs, /redoc) load Swagger UI / ReDoc from their CDN with an inline
start-up script, so those two pages alone get a CSP that admits them.
"""

from __future__ import annotations

from fastapi import FastAPI
from secure import (
    CacheControl,
    ContentSecurityPolicy,
    PermissionsPolicy,
    ReferrerPolicy,
    Secure,
    XContentTypeOptions,
    XFrameOptions,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CDN = "https://cdn.jsdelivr.net"
DOC_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


def _policy(csp: ContentSecurityPolicy) -> Secure:
    return Secure(
        csp=csp,
        xfo=XFrameOptions().deny(),
        xcto=XContentTypeOptions().nosniff(),
        referrer=ReferrerPolicy().strict_origin_when_cross_origin(),
        permissions=PermissionsPolicy().geolocation().microphone().camera("'self'"),
        cache=None,
    )


PAGES = _policy(
    ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'")
    .style_src("'self'")
    .img_src("'self'", "data:", "blob:")
    .connect_src("'self'")
    .object_src("'none'")
    .base_uri("'self'")
    .form_action("'self'")
    .frame_ancestors("'none'")
)
DOCS = _policy(
    ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'", "'unsafe-inline'", CDN)
    .style_src("'self'", "'unsafe-inline'", CDN)
    .img_src("'self'", "data:", "https://fastapi.tiangolo.com")
    .worker_src("'self'", "blob:")
    .object_src("'none'")
    .base_uri("'self'")
    .frame_ancestors("'none'")
)
NO_STORE = CacheControl().no_store()


def _raw(policy: Secure) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in policy.headers.items()]


class SecurityHeaders:
    """Adds the policy's headers to every HTTP response (keeping any a route set itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._pages = _raw(PAGES)
        self._docs = _raw(DOCS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope["path"] in DOC_PATHS else self._pages

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeaders)
