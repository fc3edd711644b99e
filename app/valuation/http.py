"""HTTP plumbing shared by the valuation and risk routers: 400s that name the field at fault.

FastAPI answers request-validation failures with 422 from an app-level handler, which a router
cannot install; :class:`FieldErrorRoute` converts them to 400 on these routes only, and
:func:`input_error` turns an engine InputError into the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.valuation.errors import InputError


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


class FieldErrorRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {"field": _field_of(e.get("loc", ())), "reason": e.get("msg", "invalid")}
                    for e in exc.errors()
                ]
                shown = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:10])
                return JSONResponse(
                    status_code=400,
                    content={"detail": {"message": f"invalid input: {shown}", "errors": errors}},
                )

        return route


def input_error(exc: InputError) -> HTTPException:
    return HTTPException(status_code=400, detail={"message": str(exc), "errors": exc.as_dicts()})
