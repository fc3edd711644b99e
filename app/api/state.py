"""What one gateway process holds: settings, ledger, stores and services (on ``app.state.gw``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.ledger.port import LedgerPort
from app.settings import Settings
from app.users.enrolment import Enroller
from app.users.store import UserStore

if TYPE_CHECKING:
    from app.api.idempotency import IdempotencyStore
    from app.api.metrics import Metrics
    from app.documents.service import DocumentService
    from app.notifications.runtime import Notifier
    from app.readmodel.runtime import ReadModel
    from app.services.qr import QrService
    from app.users.login import LoginService


@dataclass
class GatewayState:
    settings: Settings
    ledger: LedgerPort
    users: UserStore
    enroller: Enroller
    idempotency: IdempotencyStore
    metrics: Metrics
    documents: DocumentService | None = None
    qr: QrService | None = None
    logins: LoginService | None = None
    readmodel: ReadModel | None = None  # the off-chain read model (dashboards, search, exports)
    notifier: Notifier | None = None  # chaincode events → notifications and signed webhooks
    extras: dict[str, Any] = field(default_factory=dict)
