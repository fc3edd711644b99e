"""The gateway's own per-request work in one pure-ASGI layer: security headers, request limits, metrics.

They were three layers, each a coroutine frame and (for two of them) a ``send`` wrapper per request.
One layer keeps their order and effects: the security headers go on every response, the limits' own
early 401/303/413/503 answers included; the limits run before any body is read; then the request is
counted and timed by its route template (a request the limits refused is not counted, as before).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.metrics import Metrics, route_template
from app.api.request_limits import BODY_METHODS, RequestLimits
from app.api.security_headers import DOC_PATHS, DOCS, PAGES, raw_headers


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, *, state: Any, metrics: Metrics) -> None:
        self.app = app
        self.limits = RequestLimits(app, state=state)
        self.metrics = metrics
        self._pages = raw_headers(PAGES)
        self._docs = raw_headers(DOCS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope["path"] in DOC_PATHS else self._pages
        status = 500

        async def respond(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]  # keep any a route set itself
                message = {**message, "headers": headers}
            await send(message)

        if scope["method"] in BODY_METHODS:
            admitted = await self.limits.admit(scope, receive, respond)
            if admitted is None:
                return
            receive = admitted
        start = time.perf_counter()
        try:
            await self.app(scope, receive, respond)
        finally:
            route = route_template(scope)
            method = str(scope["method"])
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(time.perf_counter() - start)
