"""Streams that start below a snapshot: the blocks a peer cannot serve are read from another peer.

A peer that joined its channel from a ledger snapshot (``peer channel joinbysnapshot``) holds no block
before the snapshot: Deliver answers NOT_FOUND ("cannot serve block [N]. The ledger is bootstrapped from
a snapshot") and so does ChaincodeEvents. A consumer whose checkpoint lies before the snapshot (a read
model or notifier restored from a backup) reads those blocks from another channel member's peer — the
Deliver and ChaincodeEvents ACLs are the channel's Readers, so the same identity is admitted there —
and continues on its own peer from the snapshot on. Nothing is skipped or repeated at the switch: an
item of a block at or above the own peer's first block is never taken from the other peer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from .errors import GatewayError

logger = logging.getLogger(__name__)


class SnapshotGapError(GatewayError):
    """Blocks below the own peer's snapshot are wanted, and no other peer served them."""

    stage = "snapshot gap"


@dataclass(frozen=True, slots=True)
class PeerStream:
    """One peer's stream, named for logs: ``open(start block, resume after this tx id)``."""

    name: str
    open: Callable[[int, str], AsyncIterator[Any]]


_warned: set[tuple[str, str, int]] = set()


def _warn_once(what: str, name: str, first_served: int, start: int) -> None:
    """One WARNING per stream kind, other peer and snapshot: a reopened stream (after a restart or a
    dropped connection) says it at INFO."""
    key = (what, name, first_served)
    level = logging.INFO if key in _warned else logging.WARNING
    _warned.add(key)
    logger.log(
        level,
        "%s: own peer joined the channel from a snapshot (first block %d); reading blocks %d..%d from %s",
        what,
        first_served,
        start,
        first_served - 1,
        name,
    )


async def _close(stream: AsyncIterator[Any]) -> None:
    close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
    if close is not None:
        result = close()
        if hasattr(result, "__await__"):
            await result


async def bridge_snapshot_gap(
    *,
    what: str,
    start: int,
    after_tx_id: str,
    first_served: int,
    own: PeerStream,
    others: Sequence[PeerStream],
    block_of: Callable[[Any], int],
    whole_blocks: bool = False,
    on_source: Callable[[str | None], None] | None = None,
) -> AsyncIterator[Any]:
    """Items from block ``start`` (after ``after_tx_id`` in it): those of blocks below ``first_served``
    (the own peer's first block) from the first of ``others`` that answers, then the rest from ``own``.

    ``block_of`` gives an item's block number; ``whole_blocks`` says an item is a whole block (so the
    switch happens right after block ``first_served - 1``, not at the next item). Another peer is tried
    only while nothing has been handed out from the current one; a stream that fails later raises (its
    consumer resumes from its own checkpoint). ``on_source`` is told the other peer being read, then None
    when the own one is.
    """
    number, tx = start, after_tx_id
    if number < first_served:
        failures: list[str] = []
        for other in others:
            _warn_once(what, other.name, first_served, number)
            if on_source is not None:
                on_source(other.name)
            stream = other.open(number, tx)
            handed_out = False
            try:
                async for item in stream:
                    block = block_of(item)
                    if block >= first_served:
                        break
                    handed_out = True
                    yield item
                    if whole_blocks and block + 1 >= first_served:
                        break
            except GatewayError as exc:
                if handed_out:
                    raise
                failures.append(f"{other.name}: {exc}")
                continue
            finally:
                await _close(stream)
            number, tx = first_served, ""
            break
        else:
            tried = "; ".join(failures) or "no other peer is configured"
            raise SnapshotGapError(
                f"{what}: blocks {number}..{first_served - 1} are before the own peer's snapshot "
                f"and no other peer served them ({tried})",
                code=grpc.StatusCode.NOT_FOUND,
            )
    if on_source is not None:
        on_source(None)
    stream = own.open(number, tx)
    try:
        async for item in stream:
            yield item
    finally:
        await _close(stream)
