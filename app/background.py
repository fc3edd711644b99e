"""Background loops the gateway keeps alive: a stream follower restarted with back-off when it fails,
and their stop at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

MAX_BACKOFF_SECONDS = 30.0


async def follow_with_backoff(
    follow: Callable[[], Awaitable[None]],
    what: str,
    logger: logging.Logger,
    max_backoff: float = MAX_BACKOFF_SECONDS,
) -> None:
    """Run ``follow`` until it returns; when it raises (a peer restart, a partition), log why and run it
    again after a doubling pause. The follower resumes from its own checkpoint, so nothing is lost."""
    backoff = 0.5
    while True:
        try:
            await follow()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep serving what we have; say why we are behind
            logger.warning("%s stopped (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(max_backoff, backoff * 2)


async def stop_tasks(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel the loops and wait for each to end; what a loop raised while stopping is not the
    shutdown's concern (it was logged where it happened)."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
