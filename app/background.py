"""Background loops the gateway keeps alive: a stream follower restarted with back-off when it fails,
and their stop at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

MAX_BACKOFF_SECONDS = 30.0


@dataclass
class FollowerHealth:
    """Why a follower is behind, for /readyz and the metrics: its last failure and the position (its
    checkpoint) it failed at; once the position moves on, the failure is over."""

    failing: str | None = None
    failures: int = 0
    position: object = None

    def cause(self, position: object) -> str | None:
        """The failure still holding the follower at ``position`` (None when it has moved on)."""
        if self.failing is not None and position != self.position:
            self.failing = None
        return self.failing


async def follow_with_backoff(
    follow: Callable[[], Awaitable[None]],
    what: str,
    logger: logging.Logger,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    health: FollowerHealth | None = None,
    position: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Run ``follow`` until it returns; when it raises (a peer restart, a partition), log why and run it
    again after a doubling pause. The follower resumes from its own checkpoint, so nothing is lost.

    A cause is logged at WARNING once, its repeats at INFO (a peer down for an hour is one warning);
    ``health`` holds the current one and the follower's ``position`` when it failed."""
    health = health if health is not None else FollowerHealth()
    backoff = 0.5
    while True:
        try:
            await follow()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep serving what we have; say why we are behind
            cause = f"{type(exc).__name__}: {exc}"
            level = logging.INFO if cause == health.failing else logging.WARNING
            health.failing = cause
            health.failures += 1
            if position is not None:
                with contextlib.suppress(Exception):
                    health.position = await position()
            logger.log(level, "%s stopped (%s); retrying in %.1fs", what, cause, backoff)
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
