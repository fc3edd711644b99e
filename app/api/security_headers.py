"""Security headers on every response, built with the ``secure`` library.

The pages carry no inline script or style (everything is in /web/static), so the Content-Security-
Policy allows scripts, styles and connections from this origin only; ``frame-ancestors 'none'``
(and X-Frame-Options DENY) stop clickjacking; nosniff stops content-type guessing (downloads are
``application/octet-stream`` attachments); the referrer never leaves the origin with a path.
FastAPI's interactive docs (/docs, /redoc) load Swagger UI / ReDoc from their CDN with an inline
start-up script, so those two pages alone get a CSP that admits them. The gateway's one middleware
(app/api/gateway_middleware.py) adds them to every response.
"""

from __future__ import annotations

from secure import (
    CacheControl,
    ContentSecurityPolicy,
    PermissionsPolicy,
    ReferrerPolicy,
    Secure,
    XContentTypeOptions,
    XFrameOptions,
)

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


def raw_headers(policy: Secure) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in policy.headers.items()]
