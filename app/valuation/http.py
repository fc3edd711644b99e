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

from app.valuation.errors import InputError, ModelNotFoundError

logger = logging.getLogger(__name__)

CODES = {400: "bad_request", 404: "not_found"}
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

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{"field": _field_of(e.get("loc", ())), "reason": e.get("msg", "invalid")}
                          for e in exc.errors()]  # fmt: skip
                shown = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:10])
                return error_response(400, f"invalid input: {shown}", errors)
            except InputError as exc:
                return error_response(400, str(exc), exc.as_dicts())
            except ModelNotFoundError as exc:
                return error_response(404, f"{exc}; {TRAIN_HINT}")

        return route
