"""Streams starting before the own peer's snapshot: the blocks below it come from another peer, then the
own peer takes over exactly at its first block (app/fabric_gateway/snapshot_gap.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest

from app.fabric_gateway import snapshot_gap
from app.fabric_gateway.errors import BlockEventsError
from app.fabric_gateway.snapshot_gap import PeerStream, SnapshotGapError, bridge_snapshot_gap

HEIGHT = 12  # blocks 0..11 committed
SNAPSHOT = 7  # the own peer joined from a snapshot: it serves blocks 7.. only


@dataclass(frozen=True)
class Event:
    block: int
    tx: str


def events_of(block: int) -> list[Event]:
    """Two events per block, so a resume inside a block (after a tx id) matters."""
    return [Event(block, f"tx{block}a"), Event(block, f"tx{block}b")]


@dataclass
class FakePeer:
    """A peer's stream: NOT_FOUND for blocks below ``first`` (as Deliver on a snapshot peer), and it
    can fail after ``fail_after`` items; ``opened`` records each (start, after tx) it was asked for."""

    name: str
    first: int = 0
    events: bool = False
    fail_after: int | None = None
    opened: list[tuple[int, str]] = field(default_factory=list)
    closed: int = 0

    def stream(self) -> PeerStream:
        return PeerStream(self.name, self.open)

    async def open(self, start: int, after_tx: str) -> AsyncIterator[object]:
        self.opened.append((start, after_tx))
        try:
            if start < self.first:
                raise BlockEventsError(
                    "deliver ended with status NOT_FOUND (404)", code=grpc.StatusCode.NOT_FOUND
                )
            sent = 0
            for number in range(start, HEIGHT):
                items: list[object] = list(events_of(number)) if self.events else [number]
                if self.events and number == start and after_tx:
                    names = [e.tx for e in events_of(number)]
                    items = items[names.index(after_tx) + 1 :]
                for item in items:
                    if self.fail_after is not None and sent >= self.fail_after:
                        raise BlockEventsError("stream broke", code=grpc.StatusCode.UNAVAILABLE)
                    sent += 1
                    yield item
                    await asyncio.sleep(0)
        finally:
            self.closed += 1


def block_of(item: object) -> int:
    return item.block if isinstance(item, Event) else int(item)  # type: ignore[call-overload]


async def run(own: FakePeer, others: list[FakePeer], start: int, after_tx: str = "") -> list[object]:
    stream = bridge_snapshot_gap(
        what="test",
        start=start,
        after_tx_id=after_tx,
        first_served=own.first,
        own=own.stream(),
        others=[o.stream() for o in others],
        block_of=block_of,
        whole_blocks=not own.events,
    )
    return [item async for item in stream]


async def test_blocks_below_the_snapshot_come_from_the_other_peer_none_skipped_or_repeated() -> None:
    own, other = FakePeer("own", first=SNAPSHOT), FakePeer("other")
    got = await run(own, [other], start=3)
    assert got == list(range(3, HEIGHT))
    assert other.opened == [(3, "")]
    assert own.opened == [(SNAPSHOT, "")]  # never asked for a block it cannot serve
    assert other.closed == 1  # the other peer's stream is closed at the switch


async def test_events_resume_after_the_checkpoint_tx_and_switch_at_the_snapshot() -> None:
    own, other = FakePeer("own", first=SNAPSHOT, events=True), FakePeer("other", events=True)
    got = await run(own, [other], start=4, after_tx="tx4a")
    expected = [e for n in range(4, HEIGHT) for e in events_of(n)][1:]
    assert got == expected  # tx4a was processed already; every later event exactly once
    assert other.opened == [(4, "tx4a")]
    assert own.opened == [(SNAPSHOT, "")]


async def test_a_checkpoint_at_or_above_the_snapshot_reads_the_own_peer_only() -> None:
    own, other = FakePeer("own", first=SNAPSHOT, events=True), FakePeer("other", events=True)
    got = await run(own, [other], start=9, after_tx="tx9b")
    assert got == [e for n in range(10, HEIGHT) for e in events_of(n)]
    assert other.opened == []
    assert own.opened == [(9, "tx9b")]


async def test_the_next_other_peer_is_tried_when_one_fails_before_handing_out_anything() -> None:
    down = FakePeer("down", fail_after=0)
    also_snapshot = FakePeer("also-snapshot", first=5)
    good = FakePeer("good")
    own = FakePeer("own", first=SNAPSHOT)
    got = await run(own, [down, also_snapshot, good], start=2)
    assert got == list(range(2, HEIGHT))
    assert [p.opened for p in (down, also_snapshot, good)] == [[(2, "")], [(2, "")], [(2, "")]]


async def test_no_other_peer_serving_the_gap_is_a_clear_error_naming_blocks_and_peers() -> None:
    own = FakePeer("own", first=SNAPSHOT)
    with pytest.raises(SnapshotGapError) as caught:
        await run(own, [FakePeer("peerB", first=SNAPSHOT)], start=0)
    message = str(caught.value)
    assert "blocks 0..6 are before the own peer's snapshot" in message
    assert "(peerB: block events failed: NOT_FOUND: deliver ended with status NOT_FOUND" in message
    assert own.opened == []
    with pytest.raises(SnapshotGapError, match="no other peer is configured"):
        await run(own, [], start=0)


async def test_a_failure_after_items_were_handed_out_raises_so_the_consumer_resumes_from_its_checkpoint() -> (
    None
):
    flaky, good = FakePeer("flaky", fail_after=2), FakePeer("good")
    own = FakePeer("own", first=SNAPSHOT)
    got: list[object] = []
    with pytest.raises(BlockEventsError, match="stream broke"):
        async for item in bridge_snapshot_gap(
            what="test",
            start=0,
            after_tx_id="",
            first_served=SNAPSHOT,
            own=own.stream(),
            others=[flaky.stream(), good.stream()],
            block_of=block_of,
            whole_blocks=True,
        ):
            got.append(item)
    assert got == [0, 1]
    assert good.opened == [] and own.opened == []
    resumed = await run(own, [flaky := FakePeer("flaky")], start=2)  # the restart, from the checkpoint
    assert got + resumed == list(range(HEIGHT))


async def test_the_peer_being_read_is_reported_and_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot_gap._warned.clear()
    seen: list[str | None] = []
    caplog.set_level(logging.INFO, logger=snapshot_gap.__name__)
    for _ in range(3):  # the same cause on every reopen
        own, other = FakePeer("own", first=SNAPSHOT), FakePeer("peer0.bankb:7051")
        stream = bridge_snapshot_gap(
            what="blocks",
            start=1,
            after_tx_id="",
            first_served=SNAPSHOT,
            own=own.stream(),
            others=[other.stream()],
            block_of=block_of,
            whole_blocks=True,
            on_source=seen.append,
        )
        assert [b async for b in stream] == list(range(1, HEIGHT))
    assert seen == ["peer0.bankb:7051", None] * 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "snapshot (first block 7); reading blocks 1..6 from peer0.bankb:7051" in warnings[0].getMessage()
