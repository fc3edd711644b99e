"""The FastAPI application factory: one gateway per org (or all orgs on the embedded demo ledger)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.api.deps import current_user
from app.api.errors import ERROR_RESPONSES, install_error_handlers
from app.api.idempotency import IdempotencyStore
from app.api.ledger_provider import build_ledger
from app.api.metrics import Metrics, install_metrics_middleware
from app.api.routers import (
    auth,
    config,
    documents,
    events,
    health,
    insurance,
    lien_law,
    liens,
    qr,
    users,
    vehicles,
)
from app.api.state import GatewayState
from app.api.writes import IdempotentReplay
from app.ledger.port import LedgerPort
from app.settings import Settings
from app.users.enrolment import EmbeddedEnroller, EnrolledIdentity, Enroller, EnrolmentError
from app.users.roles import Role
from app.users.store import UserStore

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

DESCRIPTION = """
The gateway of one org in the vehicle-collateral consortium (or of every org, on the embedded demo
ledger). Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow, username `name@MSP`) and
send `Authorization: Bearer <token>`, or send an API key as `X-API-Key`.

Writes accept an `Idempotency-Key` header: a retry with the same key gets the stored answer. Errors
are `{"error": {"status", "code", "message", "details": [{"field", "reason"}]}}`: 400 bad input, 401,
403 (the access rule is named), 404, 409 state conflict, 503 network down.
"""


class _NoEnroller:
    """Fabric mode without a CA configured: users can be created, enrolment says what is missing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        raise EnrolmentError(self.reason)


def build_enroller(settings: Settings) -> Enroller:
    if settings.backend == "embedded":
        return EmbeddedEnroller(settings.embedded_ledger_dir)
    try:
        from app.users.fabric_profile import enroller_from_profile

        return enroller_from_profile(settings)
    except (ImportError, EnrolmentError, OSError, ValueError) as exc:
        return _NoEnroller(f"fabric-ca enrolment not configured: {exc}")


def build_documents(settings: Settings) -> Any:
    from app.documents.service import DocumentService

    return DocumentService.from_settings(settings)


def _optional_router(module_name: str) -> APIRouter | None:
    """Routers owned by other engineers (valuation, risk, web): included when present."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    router = getattr(module, "router", None)
    return router if isinstance(router, APIRouter) else None


def create_app(
    settings: Settings | None = None,
    *,
    ledger: LedgerPort | None = None,
    document_service: Any = None,
) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    metrics = Metrics()
    state = GatewayState(
        settings=settings,
        ledger=ledger or build_ledger(settings),
        users=UserStore(settings.users_db),
        enroller=build_enroller(settings),
        idempotency=IdempotencyStore(settings.idempotency_db),
        metrics=metrics,
        documents=document_service if document_service is not None else build_documents(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(qr.ensure_scanner_identity, state)
        if settings.seed_demo:
            from app.demo.seed import seed_demo

            await seed_demo(app)
        try:
            yield
        finally:
            await state.ledger.close()

    try:
        from app.api.qr_service import QrService

        state.qr = QrService.from_settings(settings)
    except (ImportError, ValueError, OSError) as exc:  # QR missing or misconfigured: its routes say 503
        log.error("QR identity not available: %s", exc)

    app = FastAPI(
        title="Vehicle Mortgage Ledger Gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gw = state
    install_error_handlers(app)
    install_metrics_middleware(app, metrics)

    @app.exception_handler(IdempotentReplay)
    async def _replay(_: Request, exc: IdempotentReplay) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.body, headers={"Idempotent-Replayed": "true"})

    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (auth, users, vehicles, liens, lien_law, insurance, documents, config, events):
        api.include_router(module.router)
    api.include_router(qr.router)
    for name in ("app.valuation.router", "app.risk.router"):
        extra = _optional_router(name)
        if extra is not None:  # other engineers' routers: behind the same authentication
            api.include_router(extra, dependencies=[Depends(current_user)])
    app.include_router(api)
    web = _optional_router("app.web.router")  # web pages (another engineer's), mounted at the root
    if web is not None:
        app.include_router(web)
    return app
