"""The read model inside the gateway: one store, one projector following the ledger, restarted with
back-off when the block stream fails (a peer restart, a network partition), and the lag kept fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from app.background import FollowerHealth, follow_with_backoff, stop_tasks

from .projector import Projector
from .sources import BlockSource, source_for
from .sqlite import SqliteStore
from .store import SqlStore

logger = logging.getLogger(__name__)

LAG_REFRESH_SECONDS = 5.0


def store_path(settings: Any) -> Path:
    """Where the gateway keeps an embedded read model: ``<data dir>/readmodel.sqlite``."""
    return Path(settings.data_dir) / "readmodel.sqlite"


def store_url(settings: Any) -> str | None:
    """The PostgreSQL URL of the read model, or None for the SQLite file: ``readmodel_url`` if set
    (``sqlite`` forces the file), else the off-chain store's URL when that is PostgreSQL."""
    from app.store.config import check_url, is_postgres
    from app.store.database import StoreError

    field = "readmodel_url" if getattr(settings, "readmodel_url", None) else "store_url"
    url = getattr(settings, field, None)
    if not url or url.strip().lower() == "sqlite":
        return None
    try:
        check_url(url)
    except StoreError as exc:  # name the setting actually at fault
        raise StoreError(str(exc).replace("store_url", field, 1)) from None
    return url if is_postgres(url) else None


def open_store(settings: Any) -> SqlStore:
    """The read model the settings name: PostgreSQL (production) or the embedded SQLite file."""
    url = store_url(settings)
    if url is None:
        return SqliteStore(store_path(settings))
    from app.store.config import store_password

    from .postgres import PostgresStore

    return PostgresStore(url, password=store_password(settings))


class ReadModel:
    """Store + projector + their background tasks, for one gateway process."""

    def __init__(self, store: SqlStore, source: BlockSource, chaincode: str = "mortgage") -> None:
        self.store = store
        self.projector = Projector(store, source, chaincode=chaincode)
        self.follower = FollowerHealth()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def for_ledger(cls, ledger: Any, settings: Any) -> ReadModel:
        return cls(open_store(settings), source_for(ledger), getattr(settings, "chaincode", "mortgage"))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._follow()), asyncio.create_task(self._refresh_lag())]

    async def _follow(self) -> None:
        await follow_with_backoff(
            self.projector.follow,
            "read model projector",
            logger,
            health=self.follower,
            position=lambda: asyncio.to_thread(self.store.next_block),
        )

    async def health(self) -> dict[str, str]:
        """Height, lag (against the peer height last read) and, when behind, why: the stream's failure,
        or the other peer it reads the blocks before its own peer's snapshot from."""
        height = await asyncio.to_thread(self.store.next_block)
        lag = max(0, (self.projector.peer_height or height) - height)
        out = {"height": str(height), "lag_blocks": str(lag)}
        cause = self.follower.cause(height)
        elsewhere = getattr(self.projector.source, "reading_elsewhere", lambda: None)()
        if cause is not None:
            out["behind"] = f"{lag} blocks; block stream failing ({cause})"
        elif elsewhere:
            out["behind"] = (
                f"{lag} blocks; reading the blocks before the own peer's snapshot from {elsewhere}"
            )
        return out

    async def _refresh_lag(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.projector.lag()
            await asyncio.sleep(LAG_REFRESH_SECONDS)

    async def caught_up(self, timeout: float = 10.0) -> bool:
        """Wait until the model reflects the ledger's current height (after a write, before a read)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.projector.lag() > 0:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def close(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []
        await asyncio.to_thread(self.store.close)  # waits for reads still running on worker threads
