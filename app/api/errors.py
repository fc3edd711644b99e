"""The one mapping from failures to HTTP: the chaincode's verdicts keep their status and reason.

Body shape for every error: ``{"error": {"status", "code", "message", "details": [{field, reason}]}}``.
400 bad input (field + reason), 401 no/invalid credentials, 403 refused by an access rule (the rule is
in the message), 404 unknown, 409 state conflict or invalidated transaction, 413 too large, 503
network down. The app installs it with :func:`install_error_handlers`; a router that may also be
mounted on its own (valuation, risk) uses :class:`TranslatingRoute`, which answers through the same
:func:`error_response`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.ledger.port import (
    ChaincodeRefused,
    LedgerError,
    LedgerUnavailable,
    TransactionInvalidated,
)
from app.services.errors import ServiceError
from app.store.database import StoreUnavailable
from app.valuation.errors import AccessDenied, InputError, ModelNotFoundError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    502: "bad_gateway",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """One reason; ``field`` for bad input, ``address``/``msp_id`` for a peer's answer on the network."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    reason: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
    validation_code: str | None = None
    tx_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """Raised by routes and dependencies for a known failure."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers


# A file path of this machine: absolute, at least two segments, not the path part of a URL.
_ANY_PATH = re.compile(r"(?<![\w:/.~-])/(?:[\w.@+~-]+/)+[\w.@+~-]*")
# Paths under the usual file-system roots are redacted whatever the status; a 4xx may name API routes.
_FS_PATH = re.compile(
    r"(?<![\w:/.~-])/(?:tmp|home|root|var|srv|opt|work|usr|etc|mnt|data|run|proc)/[\w.@+~/-]*"
)
SERVER_PATH = "<server path>"


def redact_paths(status: int, text: str) -> str:
    """An error message as a client may see it: no file path of the server (a 5xx names none at all).

    Failures deep in a store (a blob that fails its integrity check, a corrupt model file) carry the
    file's path in their message; that tells an outsider the server's layout, so it is logged, not sent.
    """
    redacted = (_ANY_PATH if status >= 500 else _FS_PATH).sub(SERVER_PATH, text)
    if redacted != text:
        log.warning("error %d: server path redacted from the answer: %s", status, text[:500])
    return redacted


def error_json(
    status: int, message: str, details: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """The error body (see the module docstring); file paths are redacted (:func:`redact_paths`)."""
    clean = [
        {k: redact_paths(status, v) if isinstance(v, str) else v for k, v in detail.items()}
        for detail in details or []
    ]
    body: dict[str, Any] = {
        "status": status,
        "code": CODES.get(status, "error"),
        "message": redact_paths(status, message),
        "details": clean,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return {"error": body}


# Statuses a chaincode may give that the API passes through as they are.
_PASS_THROUGH = {400, 401, 403, 404, 409, 413}
_FIELD_IN_MESSAGE = re.compile(r"^(?P<field>[A-Za-z_][\w.\[\]]*): (?P<reason>.+)$")
_FIELD_PATTERNS = (  # how the contract and its runtime name a bad field
    re.compile(r"field '(?P<field>[^']+)': (?P<reason>.+)$"),
    _FIELD_IN_MESSAGE,
    re.compile(r"invalid argument '(?P<field>[^']+)': (?P<reason>.+)$"),
)


def field_of(message: str) -> dict[str, str] | None:
    for pattern in _FIELD_PATTERNS:
        match = pattern.search(message)
        if match:
            return {"field": match["field"], "reason": match["reason"]}
    return None


def ledger_error_response(exc: LedgerError) -> JSONResponse:
    """Map a LedgerError to its HTTP answer (also used by the idempotency store)."""
    status, body = ledger_error_status_and_body(exc)
    return JSONResponse(status_code=status, content=body)


def _detail(raw: dict[str, str]) -> dict[str, str]:
    """Every detail has a ``reason`` (peers' details carry ``message``, ours ``field`` + ``reason``)."""
    detail = dict(raw)
    if "reason" not in detail:
        detail["reason"] = detail.pop("message", "")
    return detail


def ledger_error_status_and_body(exc: LedgerError) -> tuple[int, dict[str, Any]]:
    details = [_detail(d) for d in exc.details]
    if isinstance(exc, LedgerUnavailable):
        return 503, error_json(503, f"ledger unavailable: {exc.message}", details)
    if isinstance(exc, TransactionInvalidated):
        return 409, error_json(
            409,
            f"transaction invalidated at commit ({exc.validation_code}): {exc.message}",
            details,
            validation_code=exc.validation_code,
            tx_id=exc.tx_id,
        )
    status = exc.status if exc.status in _PASS_THROUGH else None
    if status is None and isinstance(exc, ChaincodeRefused):
        status = 400 if 400 <= exc.status < 500 else 502
    if status is None:
        status = 502
    if status == 400 and not any(d.get("field") for d in details):
        named = field_of(exc.message)  # e.g. "vin: check digit is '9', expected 'X'"
        if named:
            details = [named, *details]
    return status, error_json(status, exc.message, details)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """A validation error's place as a client writes it: ``vehicle.mileage_km``, ``rows[0].price``."""
    out = ""
    for part in (str(p) for p in loc if p not in ("body", "query", "path", "header", "form")):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def _validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    return [
        {"field": _field_of(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))} for e in exc.errors()
    ]


TRAIN_HINT = "train one first (`mledger valuation train` / `mledger risk train`, or the train endpoints)"

# Every exception type this module answers for (the app's handlers and TranslatingRoute alike).
TRANSLATED: tuple[type[Exception], ...] = (
    ApiError,
    LedgerError,
    ServiceError,
    RequestValidationError,
    AccessDenied,
    InputError,
    ModelNotFoundError,
)


def error_response(exc: Exception) -> JSONResponse:
    """The HTTP answer to one of :data:`TRANSLATED` (anything else is a 500 that names nothing)."""
    if isinstance(exc, ApiError):
        body = error_json(exc.status, exc.message, exc.details)
        return JSONResponse(status_code=exc.status, content=body, headers=exc.headers)
    if isinstance(exc, LedgerError):
        return ledger_error_response(exc)
    if isinstance(exc, ServiceError):
        return JSONResponse(status_code=exc.status, content=error_json(exc.status, exc.message, exc.details))
    if isinstance(exc, RequestValidationError):
        details = _validation_details(exc)
        summary = "; ".join(f"{d['field']}: {d['reason']}" for d in details[:10])
        return JSONResponse(status_code=400, content=error_json(400, f"invalid request: {summary}", details))
    if isinstance(exc, AccessDenied):
        return JSONResponse(status_code=403, content=error_json(403, f"access rule: {exc}"))
    if isinstance(exc, InputError):
        return JSONResponse(status_code=400, content=error_json(400, str(exc), exc.as_dicts()))
    if isinstance(exc, ModelNotFoundError):
        return JSONResponse(status_code=404, content=error_json(404, f"{exc}; {TRAIN_HINT}"))
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(status_code=500, content=error_json(500, "internal error"))


class TranslatingRoute(APIRoute):
    """Answers :data:`TRANSLATED` failures itself, for a router that may run without the app's handlers
    (FastAPI's request-validation failures are caught by an app-level handler a router cannot add)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except TRANSLATED as exc:
                return error_response(exc)

        return route


async def _translate(_: Request, exc: Exception) -> Response:
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    for kind in TRANSLATED:
        app.add_exception_handler(kind, _translate)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content=error_json(exc.status_code, str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        # nothing was written (each store write is one transaction); the pool reconnects on its own
        return JSONResponse(
            status_code=503,
            content=error_json(503, "off-chain store unavailable; retry later"),
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(ValueError)
    async def _value_error(_: Request, exc: ValueError) -> JSONResponse:
        # Our own validators raise ValueError("field: reason"); surface them as 400, not 500.
        message = str(exc)
        match = _FIELD_IN_MESSAGE.match(message)
        details = [{"field": match["field"], "reason": match["reason"]}] if match else []
        return JSONResponse(status_code=400, content=error_json(400, message, details))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad input (field and reason)"},
    401: {"model": ErrorResponse, "description": "Missing or invalid credentials"},
    403: {"model": ErrorResponse, "description": "Refused by an access rule (named in the message)"},
    404: {"model": ErrorResponse, "description": "Not found"},
    409: {"model": ErrorResponse, "description": "State conflict or transaction invalidated"},
    503: {"model": ErrorResponse, "description": "Ledger network unavailable"},
}
