"""Where committed blocks come from: the embedded ledger's block store, or a Fabric peer's Deliver stream.

Both hand out ``common.Block`` messages in order from a given block number, and both say how high the
chain is, so the projector (and the lag metric) treat the two backends the same way.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from fabric_protos.common import common_pb2

POLL_SECONDS = 0.25
READ_CHUNK = 64


class BlockSource(Protocol):
    """Committed blocks of one channel, in order."""

    async def height(self) -> int:
        """The number of blocks the ledger (peer) has committed."""
        ...

    def blocks(self, start: int, *, follow: bool) -> AsyncIterator[common_pb2.Block]:
        """Blocks from ``start``; up to the current height, or forever when ``follow``."""
        ...


class EmbeddedBlockSource:
    """Blocks from the embedded ledger's SQLite file, read-only (it may be open in another process)."""

    def __init__(self, ledger_file: str | Path) -> None:
        self.path = Path(ledger_file)
        if self.path.is_dir():
            self.path = self.path / "ledger.sqlite"
        if not self.path.exists():
            raise FileNotFoundError(f"embedded ledger file {self.path} does not exist")
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=10000")
        return self._conn

    def height_now(self) -> int:
        row = self._db().execute("SELECT MAX(number) FROM blocks").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    async def height(self) -> int:
        return await asyncio.to_thread(self.height_now)

    def read(self, start: int, stop: int) -> list[common_pb2.Block]:
        rows = (
            self._db()
            .execute(
                "SELECT number, block FROM blocks WHERE number >= ? AND number < ? ORDER BY number",
                (start, stop),
            )
            .fetchall()
        )
        blocks = [common_pb2.Block.FromString(raw) for _, raw in rows]
        for offset, block in enumerate(blocks):
            if block.header.number != start + offset:
                raise ValueError(
                    f"embedded ledger: block {start + offset} missing (found {block.header.number})"
                )
        return blocks

    def iter_raw(self, start: int, stop: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(number, serialized block) from ``start`` to ``stop`` (default: the current height), unparsed."""
        end = self.height_now() if stop is None else stop
        number = start
        while number < end:
            rows = (
                self._db()
                .execute(
                    "SELECT number, block FROM blocks WHERE number >= ? AND number < ? ORDER BY number",
                    (number, min(end, number + READ_CHUNK)),
                )
                .fetchall()
            )
            if not rows:
                return
            for found, raw in rows:
                if found != number:
                    raise ValueError(f"embedded ledger: block {number} missing (found {found})")
                yield number, bytes(raw)
                number += 1

    def iter_blocks(self, start: int, stop: int | None = None) -> Iterator[common_pb2.Block]:
        """Blocks ``start``..``stop`` (default: the current height), synchronously."""
        end = self.height_now() if stop is None else stop
        number = start
        while number < end:
            chunk = self.read(number, min(end, number + READ_CHUNK))
            if not chunk:
                return
            yield from chunk
            number += len(chunk)

    async def blocks(self, start: int, *, follow: bool) -> AsyncIterator[common_pb2.Block]:
        number = start
        while True:
            top = await self.height()
            while number < top:
                chunk = await asyncio.to_thread(self.read, number, min(top, number + READ_CHUNK))
                for block in chunk:
                    yield block
                number += len(chunk)
            if not follow:
                return
            await asyncio.sleep(POLL_SECONDS)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class FabricBlockSource:
    """Full blocks from peers' Deliver service through the project's Gateway client.

    ``open_blocks(start)`` streams blocks from ``start`` on, forever (the Fabric adapter's
    ``block_events``: signed by an identity the channel's Readers policy admits, reconnecting by itself,
    and reading the blocks before its own peer's snapshot from another channel peer); it is called when
    a stream opens, inside the running loop, because a gRPC asyncio channel belongs to the loop it was
    made in (a gateway app is built before its server's loop starts). ``height`` reads the own peer's
    chain height (qscc ``GetChainInfo``). The stream starts at the read model's checkpoint.
    """

    def __init__(
        self,
        open_blocks: Callable[[int], AsyncIterator[common_pb2.Block]],
        height: Callable[[], Awaitable[int]],
        reading_elsewhere: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._open_blocks = open_blocks
        self._height = height
        self.reading_elsewhere = reading_elsewhere  # the other peer read now (before the snapshot)

    async def height(self) -> int:
        return await self._height()

    async def blocks(self, start: int, *, follow: bool) -> AsyncIterator[common_pb2.Block]:
        stop = None if follow else await self.height()
        if stop is not None and start >= stop:
            return
        events = self._open_blocks(start)
        try:
            async for block in events:
                yield block
                if stop is not None and block.header.number + 1 >= stop:
                    return
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()


class ListBlockSource:
    """Blocks held in memory (tests, replays of an exported stream)."""

    def __init__(self, blocks: Iterable[common_pb2.Block]) -> None:
        self._blocks = list(blocks)

    async def height(self) -> int:
        return (self._blocks[-1].header.number + 1) if self._blocks else 0

    async def blocks(self, start: int, *, follow: bool) -> AsyncIterator[common_pb2.Block]:
        for block in self._blocks:
            if block.header.number >= start:
                yield block


def source_for(ledger: Any) -> BlockSource:
    """The block source of a ledger adapter: its SQLite file when embedded, the peer's Deliver when Fabric.

    Fabric: the stream is opened with the adapter's service identity (an auditor or the regulator may
    read every block), through the adapter's own Gateway connections (its org's peer; the channel's
    other peers for blocks before that peer's snapshot).
    """
    data_dir = getattr(ledger, "data_dir", None)
    if data_dir is not None:
        return EmbeddedBlockSource(Path(data_dir))
    profile = getattr(ledger, "profile", None)
    if profile is None:
        raise TypeError(f"no block source for ledger {type(ledger).__name__}")

    async def height() -> int:
        health = await ledger.health()
        if "height" not in health:
            raise ConnectionError(f"peer height unknown: {health.get('status')}")
        return int(health["height"])

    return FabricBlockSource(ledger.block_events, height, lambda: ledger.reading_elsewhere.get("blocks"))
