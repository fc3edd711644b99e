"""Build the ledger this gateway talks to, from settings, through the ledger package's factory.

When the chosen backend cannot be built (network profile missing, a peer's TLS files unreadable) the
gateway still starts: every ledger call answers 503 with the reason, and /readyz says why. `serve`
never crashes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from app.ledger.factory import create_ledger
from app.ledger.port import (
    BeforeSubmit,
    Caller,
    LedgerEvent,
    LedgerPort,
    LedgerUnavailable,
    TxOrigin,
    TxResult,
)
from app.settings import Settings

log = logging.getLogger(__name__)


class UnavailableLedger:
    """A ledger that could not be built: every call fails with LedgerUnavailable naming the cause."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def evaluate(self, caller: Caller, function: str, args: list[str]) -> bytes:
        raise LedgerUnavailable(self.reason, status=503)

    async def submit(
        self,
        caller: Caller,
        function: str,
        args: list[str],
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
        before_submit: BeforeSubmit | None = None,
    ) -> TxResult:
        raise LedgerUnavailable(self.reason, status=503)

    async def transaction_status(self, tx_id: str) -> TxResult | None:
        raise LedgerUnavailable(self.reason, status=503)

    async def transaction_origin(self, tx_id: str) -> TxOrigin | None:
        raise LedgerUnavailable(self.reason, status=503)

    async def chaincode_events(
        self, start_block: int | None = None, after_tx_id: str | None = None
    ) -> AsyncIterator[LedgerEvent]:
        raise LedgerUnavailable(self.reason, status=503)
        yield  # pragma: no cover - makes this an async generator

    async def health(self) -> dict[str, str]:
        return {"backend": f"down: {self.reason}"}

    async def close(self) -> None:
        return None


def build_ledger(settings: Settings) -> LedgerPort:
    try:
        return create_ledger(settings)
    except Exception as exc:  # a backend that cannot start must not stop the gateway starting
        log.error("ledger backend %s could not start: %s", settings.backend, exc)
        return UnavailableLedger(f"{settings.backend} backend could not start: {exc}")
