"""HTTP plumbing shared by the valuation and risk routers: errors in the gateway's shape.

Errors answer ``{"error": {"status", "code", "message", "details": [{"field", "reason", ...}]}}``,
the shape the gateway uses everywhere. FastAPI answers request-validation failures with 422 from
an app-level handler, which a router cannot install; :class:`FieldErrorRoute` turns them into 400
on these routes, and turns the engines' InputError (400) and ModelNotFoundError (404) into the
same shape, so endpoints just raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.valuation.errors import InputError, ModelNotFoundError

logger = logging.getLogger(__name__)

CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 413: "payload_too_large"}
BODY_LIMIT_KEY = "x-body-limit-bytes"


class AccessDenied(Exception):
    """The caller's org or role may not use this route (403)."""


class TooLarge(Exception):
    """A request body or upload over the route's limit (413)."""

    def __init__(self, message: str, field: str = "body"):
        super().__init__(message)
        self.field = field


TRAIN_HINT = "train one first (`mledger valuation train` / `mledger risk train`, or the train endpoints)"


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = {
        "status": status,
        "code": CODES.get(status, "error"),
        "message": message,
        "details": details or [],
    }
    return JSONResponse(status_code=status, content={"error": body})


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for p in (str(p) for p in loc if p not in ("body", "query", "path", "form")):
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


class FieldErrorRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        limit = (self.openapi_extra or {}).get(BODY_LIMIT_KEY)

        async def route(request: Request) -> Response:
            if limit is not None:
                declared = request.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    return error_response(
                        413,
                        f"request body of {declared} bytes is over this route's limit of {limit} bytes",
                        [{"field": "body", "reason": "too large"}],
                    )
                _cap_body(request, limit)
            try:
                return await handler(request)
            except TooLarge as exc:
                return error_response(413, str(exc), [{"field": exc.field, "reason": "too large"}])
            except HTTPException as exc:  # the body parser wraps what the capped reader raised
                cause = exc.__cause__
                if isinstance(cause, TooLarge):
                    return error_response(413, str(cause), [{"field": cause.field, "reason": "too large"}])
                raise
            except AccessDenied as exc:
                return error_response(403, f"access rule: {exc}")
            except RequestValidationError as exc:
                errors = [
                    {"field": _field_of(e.get("loc", ())), "reason": e.get("msg", "invalid")}
                    for e in exc.errors()
                ]
                shown = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:10])
                return error_response(400, f"invalid input: {shown}", errors)
            except InputError as exc:
                return error_response(400, str(exc), exc.as_dicts())
            except ModelNotFoundError as exc:
                return error_response(404, f"{exc}; {TRAIN_HINT}")

        return route


def _cap_body(request: Request, limit: int) -> None:
    """Stop reading a body (chunked or lying about its length) once it passes ``limit`` bytes."""
    receive = request._receive
    seen = 0

    async def capped() -> Any:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(f"request body is over this route's limit of {limit} bytes")
        return message

    request._receive = capped
