"""The read model behind a peer that joined from a snapshot: its checkpoint lies before the snapshot, the
blocks below it come from another peer, and the projection ends exactly as one from block 0; while
the stream fails, /readyz's fields say so (and the log warns once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from fabric_protos.common import common_pb2

from app.background import FollowerHealth, follow_with_backoff
from app.fabric_gateway.errors import BlockEventsError
from app.fabric_gateway.snapshot_gap import PeerStream, bridge_snapshot_gap
from app.readmodel.blockgen import Scenario, StreamBuilder
from app.readmodel.projector import Projector
from app.readmodel.queries import dashboard
from app.readmodel.runtime import ReadModel
from app.readmodel.sources import FabricBlockSource, ListBlockSource
from app.readmodel.sqlite import SqliteStore


def chain() -> list[common_pb2.Block]:
    return list(
        Scenario(vehicles=40, liens=12, released=3, block_size=4).blocks(StreamBuilder(first_block=0))
    )


class Peer:
    """Deliver over ``blocks``: NOT_FOUND below ``first`` (a snapshot peer), optionally broken after
    ``fail_after`` blocks; ``opened`` records each start asked for."""

    def __init__(self, blocks: list[common_pb2.Block], first: int = 0, fail_after: int | None = None) -> None:
        self.blocks, self.first, self.fail_after = blocks, first, fail_after
        self.opened: list[int] = []

    async def open(self, start: int, _tx: str) -> AsyncIterator[common_pb2.Block]:
        self.opened.append(start)
        if start < self.first:
            raise BlockEventsError(
                "deliver ended with status NOT_FOUND (404)", code=grpc.StatusCode.NOT_FOUND
            )
        for sent, block in enumerate(self.blocks[start:]):
            if self.fail_after is not None and sent >= self.fail_after:
                raise BlockEventsError("stream broke", code=grpc.StatusCode.UNAVAILABLE)
            yield block


def source(blocks: list[common_pb2.Block], own: Peer, other: Peer) -> FabricBlockSource:
    where: dict[str, str | None] = {}

    def open_blocks(start: int) -> AsyncIterator[common_pb2.Block]:
        return bridge_snapshot_gap(
            what="blocks",
            start=start,
            after_tx_id="",
            first_served=own.first,
            own=PeerStream("own", own.open),
            others=[PeerStream("peer0.bankb", other.open)],
            block_of=lambda b: int(b.header.number),
            whole_blocks=True,
            on_source=lambda name: where.__setitem__("blocks", name),
        )

    async def height() -> int:
        return len(blocks)

    return FabricBlockSource(open_blocks, height, lambda: where.get("blocks"))


def reference(tmp_path: Path, blocks: list[common_pb2.Block]) -> dict[str, object]:
    store = SqliteStore(tmp_path / "reference.sqlite")
    asyncio.run(Projector(store, ListBlockSource(blocks)).catch_up())
    board = dashboard(store)
    store.close()
    return board


async def test_a_checkpoint_before_the_snapshot_reaches_the_height_as_if_read_from_block_zero(
    tmp_path: Path,
) -> None:
    blocks = chain()
    snapshot = len(blocks) // 2
    expected = await asyncio.to_thread(reference, tmp_path, blocks)
    store = SqliteStore(tmp_path / "rm.sqlite")
    # the backup's read model: blocks 0..2 projected before the site was lost
    await Projector(store, ListBlockSource(blocks[:3])).catch_up()
    assert store.next_block() == 3
    own, other = Peer(blocks, first=snapshot), Peer(blocks)
    progress = await Projector(store, source(blocks, own, other)).catch_up()
    assert progress.blocks == len(blocks) - 3  # each block once
    assert store.next_block() == len(blocks)
    assert other.opened == [3] and own.opened == [snapshot]
    assert dashboard(store)["counts"] == expected["counts"]
    assert dashboard(store)["block_height"] == expected["block_height"]
    store.close()


async def test_a_stream_broken_inside_the_gap_resumes_from_the_stored_checkpoint(tmp_path: Path) -> None:
    blocks = chain()
    snapshot = len(blocks) - 2
    expected = await asyncio.to_thread(reference, tmp_path, blocks)
    store = SqliteStore(tmp_path / "rm.sqlite")
    broken = source(blocks, Peer(blocks, first=snapshot), Peer(blocks, fail_after=5))
    projector = Projector(store, broken, batch_blocks=2)
    with pytest.raises(BlockEventsError, match="stream broke"):
        await projector.catch_up()
    stopped_at = store.next_block()
    assert stopped_at == 4  # blocks 0..3 committed in two batches with their checkpoint; block 4's lost
    own, other = Peer(blocks, first=snapshot), Peer(blocks)
    projector.source = source(blocks, own, other)
    await projector.catch_up()
    assert other.opened == [stopped_at] and own.opened == [snapshot]
    assert store.next_block() == len(blocks)
    assert dashboard(store)["counts"] == expected["counts"]
    store.close()


async def test_readyz_fields_say_why_the_model_is_behind_and_the_log_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocks = chain()
    store = SqliteStore(tmp_path / "rm.sqlite")
    # no other peer serves the gap: every attempt fails with the same cause
    model = ReadModel(store, source(blocks, Peer(blocks, first=5), Peer(blocks, first=5)))
    model.projector.peer_height = len(blocks)
    caplog.set_level(logging.INFO, logger="app.readmodel.runtime")
    task = asyncio.create_task(
        follow_with_backoff(
            model.projector.follow,
            "read model projector",
            logging.getLogger("app.readmodel.runtime"),
            max_backoff=0.01,
            health=model.follower,
            position=lambda: asyncio.to_thread(store.next_block),
        )
    )

    def stops() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "read model projector stopped" in r.getMessage()]

    # the failure is counted before its log line is written: wait for both
    while model.follower.failures < 3 or len(stops()) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    health = await model.health()
    assert health["height"] == "0" and health["lag_blocks"] == str(len(blocks))
    assert health["behind"].startswith(f"{len(blocks)} blocks; block stream failing (SnapshotGapError: ")
    assert "blocks 0..4 are before the own peer's snapshot" in health["behind"]
    assert [r.levelno for r in stops()].count(logging.WARNING) == 1
    store.close()


def test_a_failure_is_over_once_the_follower_moves_on() -> None:
    health = FollowerHealth(failing="BlockEventsError: x", failures=1, position=3)
    assert health.cause(3) == "BlockEventsError: x"
    assert health.cause(4) is None
    assert health.cause(3) is None  # cleared for good
