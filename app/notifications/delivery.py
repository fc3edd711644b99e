"""The webhook dispatcher: drains the outbox with signed POSTs, at least once.

Each due delivery is leased, POSTed (JSON body, ``X-Mledger-Signature``, ``Idempotency-Key`` — the same
on every attempt, so a receiver dedupes), and marked delivered on any 2xx. Anything else (an error
status, a timeout, a refused connection) schedules a retry after an exponential back-off with full
jitter, up to ``max_attempts``; then the delivery is a dead letter, listed and replayable through the
API. A crash between the POST and the mark leaves it pending: it is sent again (at-least-once).
Redirects are not followed (a subscription names its final URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .models import Delivery, Notification, Subscription
from .secret_box import SecretBox
from .signing import SIGNATURE_HEADER, sign
from .store import NotificationStore

logger = logging.getLogger(__name__)

USER_AGENT = "mledger-webhooks/1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [base/2, min(cap, base * 2^(attempts-1))] after ``attempts`` failures."""
        ceiling = min(self.max_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        floor = min(ceiling, self.base_seconds / 2)
        return floor + (ceiling - floor) * rng()


def body_of(delivery: Delivery, note: Notification, subscription: Subscription) -> bytes:
    """The webhook body: what happened, to whom it matters, and where it sits on the chain."""
    document = {
        "id": delivery.delivery_id,
        "type": note.event_name,
        "topic": note.topic,
        "notification_id": note.notification_id,
        "subscription_id": subscription.subscription_id,
        "party": note.party.key,
        "vin": note.vin,
        "summary": note.summary,
        "block_number": note.position.block_number,
        "tx_id": note.position.tx_id,
        "event_index": note.position.event_index,
        "created_at": note.created_at,
        "data": note.data,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


class WebhookDispatcher:
    def __init__(
        self,
        store: NotificationStore,
        box: SecretBox,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 10.0,
        batch: int = 16,
        lease_seconds: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.box = box
        self.policy = policy or RetryPolicy()
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport, headers={"User-Agent": USER_AGENT}
        )

    async def run_once(self) -> int:
        """Attempt every delivery due now; returns how many were attempted."""
        due = await asyncio.to_thread(self.store.claim_due, self.clock(), self.batch, self.lease_seconds)
        if due:
            await asyncio.gather(*(self._attempt(d) for d in due))
        return len(due)

    async def run(self) -> None:
        """Forever: drain what is due, then sleep until the next due time or a wake-up."""
        while True:
            self.wake.clear()  # before looking: a wake-up during the look is not lost
            if await self.run_once():
                continue
            nxt = await asyncio.to_thread(self.store.next_due)
            wait = 30.0 if nxt is None else max(0.05, min(30.0, nxt - self.clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)

    async def _attempt(self, delivery: Delivery) -> None:
        found = await asyncio.to_thread(self.store.subscription, delivery.subscription_id)
        note = await asyncio.to_thread(self.store.notification, delivery.notification_id)
        if found is None or note is None:  # deleted meanwhile
            await asyncio.to_thread(
                self.store.mark_failed,
                delivery.delivery_id,
                error="subscription or notification gone",
                status=None,
                next_attempt_at=None,
            )
            return
        subscription, sealed = found
        secret = self.box.open(sealed, subscription.subscription_id)
        body = body_of(delivery, note, subscription)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body, int(self.clock())),
            "Idempotency-Key": delivery.delivery_id,
            "X-Mledger-Event": note.event_name,
            "X-Mledger-Delivery-Attempt": str(delivery.attempts + 1),
        }
        status: int | None = None
        try:
            response = await self._client.post(subscription.url, content=body, headers=headers)
            status = response.status_code
            if 200 <= status < 300:
                await asyncio.to_thread(self.store.mark_delivered, delivery.delivery_id, status, self.clock())
                logger.info(
                    "webhook delivered",
                    extra={
                        "delivery_id": delivery.delivery_id,
                        "status": status,
                        "attempt": delivery.attempts + 1,
                    },
                )
                return
            error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        attempts = delivery.attempts + 1
        retry_at = None
        if attempts < self.policy.max_attempts:
            retry_at = self.clock() + self.policy.delay(attempts)
        await asyncio.to_thread(
            self.store.mark_failed, delivery.delivery_id, error=error, status=status, next_attempt_at=retry_at
        )
        logger.warning(
            "webhook attempt %d of %s failed (%s); %s",
            attempts,
            delivery.delivery_id,
            error,
            "dead-lettered" if retry_at is None else f"retry in {retry_at - self.clock():.1f}s",
        )

    async def close(self) -> None:
        await self._client.aclose()
