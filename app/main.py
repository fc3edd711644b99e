"""The FastAPI application factory: one gateway per org (or all orgs on the embedded demo ledger)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.api import oidc_auth
from app.api.deps import current_user
from app.api.errors import ERROR_RESPONSES, install_error_handlers
from app.api.flat_routes import include_flat
from app.api.gateway_middleware import GatewayMiddleware
from app.api.idempotency import IdempotencyStore
from app.api.ledger_provider import build_ledger
from app.api.metrics import Metrics
from app.api.routers import (
    auth,
    certificates,
    config,
    documents,
    events,
    floor_checks,
    floor_plan_advances,
    floor_plan_lines,
    floor_plan_receivables,
    floor_plan_whitelist,
    health,
    insurance,
    lien_law,
    liens,
    maintenance,
    model_versions,
    notifications,
    odometer,
    owner_portal,
    owners,
    qr,
    reports,
    risk,
    risk_alerts,
    transactions,
    users,
    valuation,
    valuation_records,
    vehicles,
)
from app.api.state import GatewayState
from app.api.writes import IdempotentReplay
from app.data_files import secure_dir, tighten_tree
from app.documents.service import DocumentService
from app.hsm.enrol import hsm_enroller_from_profile
from app.hsm.startup import open_configured
from app.hsm.wrapping import TokenKeyWrapper
from app.ledger.port import LedgerPort
from app.notifications.runtime import Notifier
from app.ops.collector import SliCollector
from app.readmodel import metrics as readmodel_metrics
from app.readmodel.runtime import ReadModel
from app.services.owner_portal import ensure_owner_desk_identity
from app.services.qr import QrService, ensure_scanner_identity
from app.settings import Settings
from app.store.config import open_component
from app.store.database import StoreError
from app.users.enrolment import EmbeddedEnroller, EnrolledIdentity, Enroller, EnrolmentError
from app.users.fabric_profile import enroller_from_profile
from app.users.login import LoginService
from app.users.provision import refuse_live_demo_passwords
from app.users.roles import Role
from app.users.store import UserStore
from app.web.router import router as web_router

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
        token = open_configured(settings)  # users' keys made in the HSM when one is configured
        if token is not None:
            return hsm_enroller_from_profile(settings, token)
        return enroller_from_profile(settings)
    except (EnrolmentError, OSError, ValueError) as exc:
        return _NoEnroller(f"fabric-ca enrolment not configured: {exc}")


def document_key_wrap(settings: Settings) -> TokenKeyWrapper | None:
    """With ``hsm_wrap_key_label`` the stored document keys are sealed by that key in the token."""
    if not settings.hsm_wrap_key_label:
        return None
    token = open_configured(settings)
    return TokenKeyWrapper(token, settings.hsm_wrap_key_label) if token is not None else None


def build_documents(settings: Settings) -> DocumentService:
    return DocumentService.from_settings(settings, wrap=document_key_wrap(settings))


def _tighten_data(settings: Settings) -> None:
    for root in {settings.data_dir, settings.embedded_ledger_dir, settings.wallet_dir}:
        tighten_tree(root)


def _valuation_service() -> Any:
    from app.services.valuation import valuation_service

    return valuation_service()


def create_app(
    settings: Settings | None = None,
    *,
    ledger: LedgerPort | None = None,
    document_service: Any = None,
) -> FastAPI:
    settings = settings or Settings()
    open_configured(settings)  # a configured HSM whose token, PIN or keys fail: refuse to start
    secure_dir(settings.data_dir)
    _tighten_data(settings)  # data dirs from earlier versions were world-readable
    metrics = Metrics()
    user_store = UserStore(open_component(settings, settings.users_db))
    state = GatewayState(
        settings=settings,
        ledger=ledger or build_ledger(settings),
        users=user_store,
        enroller=build_enroller(settings),
        idempotency=IdempotencyStore(open_component(settings, settings.idempotency_db)),
        metrics=metrics,
        documents=document_service if document_service is not None else build_documents(settings),
        logins=LoginService(settings, user_store),
    )
    _tighten_data(settings)
    try:
        state.readmodel = ReadModel.for_ledger(state.ledger, settings)
        readmodel_metrics.register(metrics.registry, state.readmodel.projector)
    except (TypeError, OSError, StoreError) as exc:  # no block stream, or its database down: 503
        log.error("read model not available: %s", exc)
    oidc_auth.oidc_provider(state)  # start-up check: a misconfigured OIDC sign-on refuses to start
    slis = SliCollector(state, metrics.registry)  # data/model/peer SLIs on /metrics (docs/operations.md)
    state.extras["slis"] = slis
    if settings.notify_enabled:
        state.notifier = Notifier.from_settings(state.ledger, settings)
    if not settings.demo_mode:  # start-up check: no published demo password may be live
        refuse_live_demo_passwords(user_store, settings.orgs)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(ensure_scanner_identity, settings, state.enroller)
        await asyncio.to_thread(ensure_owner_desk_identity, settings, state.enroller)
        if settings.seed_demo:
            from app.demo.seed import seed_demo

            await seed_demo(app)
        await asyncio.to_thread(_tighten_data, settings)
        if state.readmodel is not None:
            state.readmodel.start()
        slis.start(_valuation_service)
        if state.notifier is not None:
            state.notifier.start()
        await asyncio.to_thread(state.idempotency.start_heartbeat)
        try:
            yield
        finally:
            await asyncio.to_thread(state.idempotency.stop_heartbeat)
            if state.notifier is not None:
                await state.notifier.close()
            await slis.close()
            if state.readmodel is not None:
                await state.readmodel.close()
            await state.ledger.close()

    try:
        state.qr = QrService.from_settings(settings)
    except (ValueError, OSError) as exc:  # QR missing or misconfigured: its routes say 503
        log.error("QR identity not available: %s", exc)

    app = FastAPI(
        title="Vehicle Mortgage Ledger Gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gw = state
    install_error_handlers(app)
    # one layer: security headers on every response (early refusals too), then the request limits before
    # any body is read (auth first, then size), then the request counted and timed
    app.add_middleware(GatewayMiddleware, state=state, metrics=metrics)
    if settings.trusted_proxies:  # client address and https from X-Forwarded-* of these proxies only
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)

    @app.exception_handler(IdempotentReplay)
    async def _replay(_: Request, exc: IdempotentReplay) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.body, headers={"Idempotent-Replayed": "true"})

    app.include_router(health.router)
    api_modules = (
        auth,
        users,
        vehicles,
        liens,
        lien_law,
        insurance,
        maintenance,
        odometer,
        valuation_records,
        model_versions,
        risk_alerts,
        documents,
        config,
        events,
        transactions,
        qr,
        reports,
        certificates,  # search certificates (issue 16)
        notifications,  # issue 16.4
        floor_plan_whitelist,  # dealer floor-plan finance (issue 19)
        floor_plan_lines,
        floor_plan_advances,
        floor_checks,
        floor_plan_receivables,
        owners,  # owners as users (issue 16)
        owner_portal,  # the owner's own sign-in and pages (issue 16)
    )
    # flat on the app's router: FastAPI's lazy included routers re-walk the tree on every request
    for module in api_modules:
        include_flat(app.router, module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for engine in (valuation.router, risk.router):  # the engines' own routers, behind the same login
        include_flat(
            app.router,
            engine,
            prefix=API_PREFIX,
            responses=ERROR_RESPONSES,
            dependencies=[Depends(current_user)],
        )
    app.include_router(web_router)  # the web pages, at the root
    return app
