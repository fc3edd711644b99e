"""The notifier inside the gateway: one store, the event follower (restarted with back-off when the
event stream fails) and the webhook dispatcher, started and stopped with the app."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from app.background import FollowerHealth, follow_with_backoff, stop_tasks
from app.ledger.port import LedgerPort

from .consumer import EventConsumer
from .delivery import RetryPolicy, WebhookDispatcher
from .secret_box import SecretBox
from .store import NotificationStore, open_store

logger = logging.getLogger(__name__)


def store_path(settings: Any) -> Path:
    return Path(settings.data_dir) / "notifications.sqlite"


class Notifier:
    def __init__(
        self, ledger: LedgerPort, store: NotificationStore, box: SecretBox, policy: RetryPolicy, settings: Any
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.box = box
        self.settings = settings
        self.dispatcher = WebhookDispatcher(store, box, policy=policy)
        self.consumer = EventConsumer(ledger, store, on_queued=self.dispatcher.wake.set)
        self.follower = FollowerHealth()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(cls, ledger: LedgerPort, settings: Any) -> Notifier:
        box = SecretBox.from_file(Path(settings.data_dir) / "notify.key", settings.notify_secret_key)
        policy = RetryPolicy(
            max_attempts=settings.notify_max_attempts,
            base_seconds=settings.notify_backoff_seconds,
            max_seconds=settings.notify_backoff_max_seconds,
        )
        return cls(ledger, open_store(settings, store_path(settings)), box, policy, settings)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._follow()), asyncio.create_task(self.dispatcher.run())]

    async def _follow(self) -> None:
        await follow_with_backoff(
            self.consumer.follow,
            "notifier event stream",
            logger,
            health=self.follower,
            position=lambda: asyncio.to_thread(self.store.checkpoint),
        )

    async def health(self) -> dict[str, str]:
        """The event checkpoint's block and, when the event stream is failing there, why."""
        position = await asyncio.to_thread(self.store.checkpoint)
        out = {"checkpoint_block": str(position[0])}
        cause = self.follower.cause(position)
        elsewhere = getattr(self.ledger, "reading_elsewhere", {}).get("chaincode events")
        if cause is not None:
            out["behind"] = f"event stream failing ({cause})"
        elif elsewhere:
            out["behind"] = f"reading the events before the own peer's snapshot from {elsewhere}"
        return out

    async def close(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []
        await self.dispatcher.close()
        self.store.close()
