"""The event follower: chaincode events from the durable checkpoint → routed notifications.

It resumes at the stored checkpoint (the block and the last transaction processed in it), so a
gateway restart neither misses nor repeats an event; with no checkpoint it starts at block 0 (the
vehicle index needs the whole history; subscriptions only receive events from their own start).
Each event is stored in one transaction with the checkpoint after it (see ``store``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

from app.ledger.port import LedgerEvent, LedgerPort

from .models import EventPosition, Notification
from .routing import route
from .store import NotificationStore

logger = logging.getLogger(__name__)


def decode(payload: bytes) -> object:
    try:
        return json.loads(payload) if payload else {}
    except ValueError:
        return {}


class EventConsumer:
    """Follows the ledger's chaincode events and records each one (``process``) in chain order."""

    def __init__(
        self,
        ledger: LedgerPort,
        store: NotificationStore,
        *,
        on_queued: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.on_queued = on_queued
        self.clock = clock
        self.processed = 0

    def process(self, event: LedgerEvent, event_index: int = 0) -> int:
        """Route and store one event (idempotent); returns the deliveries it queued."""
        position = EventPosition(event.block_number, event.tx_id, event_index)
        payload = decode(event.payload)
        routing = route(event.event_name, payload, self.store.vehicle_parties)
        now = self.clock()
        data = payload if isinstance(payload, dict) else {}
        notes = [
            Notification(
                party=r.party,
                event_name=event.event_name,
                vin=r.vin,
                position=position,
                topic=r.topic,
                summary=r.summary,
                data=data,
                created_at=now,
            )
            for r in routing.notes
        ]
        queued = self.store.record_event(position, routing.changes, notes)
        self.processed += 1
        return queued

    async def follow(self) -> None:
        """Runs until cancelled; raises when the stream fails (the runtime restarts it with back-off)."""
        block, tx = await asyncio.to_thread(self.store.checkpoint)
        start = 0 if block is None else block
        logger.info("notifier following chaincode events from block %d", start)
        async for event in self.ledger.chaincode_events(start_block=start, after_tx_id=tx or None):
            queued = await asyncio.to_thread(self.process, event)
            if queued and self.on_queued is not None:
                self.on_queued()
