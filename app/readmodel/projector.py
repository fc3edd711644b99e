"""The projector: committed blocks in, read-model tables out, checkpointed with the data.

Blocks are read from the checkpoint on, parsed (valid transactions of the chaincode only) and applied
in batches: one store transaction per batch holds the rows, the counters and the new checkpoint. The
batch is cut by transaction count, and at once whenever the stream has caught up with the chain, so
a quiet ledger is reflected within one block.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from fabric_protos.common import common_pb2

from .blocks import BlockSummary, read_block
from .prepare import Prepared, prepare_many
from .sources import BlockSource, EmbeddedBlockSource
from .store import SqlStore

logger = logging.getLogger(__name__)

BATCH_TXS = 5000
BATCH_BLOCKS = 200
JOB_BLOCKS = 4  # blocks per job sent to a parser process


@dataclass
class Progress:
    """What one run did (the CLI and the benchmark print it)."""

    blocks: int = 0
    transactions: int = 0
    skipped_invalid: int = 0
    skipped_other: int = 0
    seconds: float = 0.0

    @property
    def tx_per_second(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0


class Projector:
    """Feeds one store from one block source; ``chaincode`` names the namespace projected."""

    def __init__(
        self,
        store: SqlStore,
        source: BlockSource | None = None,
        *,
        chaincode: str = "mortgage",
        batch_txs: int = BATCH_TXS,
        batch_blocks: int = BATCH_BLOCKS,
        workers: int = 0,
    ) -> None:
        self.store = store
        self.source = source
        self.chaincode = chaincode
        self.batch_txs = batch_txs
        self.batch_blocks = batch_blocks
        self.peer_height: int | None = None
        self.workers = workers  # parser processes for bulk catch-up from a raw block file (0: in-process)

    # --- synchronous core (also used by the benchmark and rebuild) --------------------
    def ingest(self, blocks: Iterable[common_pb2.Block], progress: Progress | None = None) -> Progress:
        """Project ``blocks`` (from the checkpoint on; earlier ones are skipped) in batches."""
        progress = progress or Progress()
        started = time.perf_counter()
        batch: list[BlockSummary] = []
        pending_txs = 0
        next_block = self.store.next_block()
        for block in blocks:
            if block.header.number < next_block:
                continue
            summary = read_block(block, self.chaincode)
            batch.append(summary)
            pending_txs += len(summary.transactions)
            if pending_txs >= self.batch_txs or len(batch) >= self.batch_blocks:
                self._flush(batch, progress)
                batch, pending_txs = [], 0
        self._flush(batch, progress)
        progress.seconds += time.perf_counter() - started
        return progress

    def ingest_raw(self, raws: Iterable[tuple[int, bytes]], progress: Progress | None = None) -> Progress:
        """Project serialized blocks, parsing them in ``workers`` other processes while this one applies:
        a rebuild from block 0 then uses two cores instead of one."""
        if self.workers <= 0:
            return self.ingest((common_pb2.Block.FromString(raw) for _, raw in raws), progress)
        progress = progress or Progress()
        started = time.perf_counter()
        next_block = self.store.next_block()
        batch: list[Prepared] = []
        pending_txs = 0
        in_flight: deque[Future[list[Prepared]]] = deque()
        with ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn")) as pool:

            def drain_one() -> None:
                nonlocal batch, pending_txs
                for prepared in in_flight.popleft().result():
                    batch.append(prepared)
                    pending_txs += prepared.transactions
                if pending_txs >= self.batch_txs or len(batch) >= self.batch_blocks:
                    self._flush(batch, progress)
                    batch, pending_txs = [], 0

            job: list[bytes] = []
            for number, raw in raws:
                if number < next_block:
                    continue
                job.append(raw)
                if len(job) >= JOB_BLOCKS:
                    in_flight.append(pool.submit(prepare_many, job, self.chaincode))
                    job = []
                    while len(in_flight) > 2 * self.workers:
                        drain_one()
            if job:
                in_flight.append(pool.submit(prepare_many, job, self.chaincode))
            while in_flight:
                drain_one()
        self._flush(batch, progress)
        progress.seconds += time.perf_counter() - started
        return progress

    def _flush(self, batch: Sequence[BlockSummary | Prepared], progress: Progress) -> None:
        if not batch:
            return
        self.store.apply(batch)
        progress.blocks += len(batch)
        progress.transactions += sum(
            b.transactions if isinstance(b, Prepared) else len(b.transactions) for b in batch
        )
        progress.skipped_invalid += sum(b.skipped_invalid for b in batch)
        progress.skipped_other += sum(b.skipped_other for b in batch)

    # --- asynchronous: catch up with the source, or follow it --------------------------
    async def catch_up(self) -> Progress:
        """Project every block the source has now (the CLI's rebuild/verify, tests)."""
        return await self._run(follow=False)

    async def follow(self) -> None:
        """Project new blocks as they commit, until cancelled (the gateway runs this in the background)."""
        await self._run(follow=True)

    async def _run(self, *, follow: bool) -> Progress:
        if self.source is None:
            raise ValueError("source: the projector has no block source")
        if not follow and self.workers > 0 and isinstance(self.source, EmbeddedBlockSource):
            source = self.source
            return await asyncio.to_thread(lambda: self.ingest_raw(source.iter_raw(self.store.next_block())))
        progress = Progress()
        started = time.perf_counter()
        self.peer_height = await self.source.height()
        batch: list[BlockSummary] = []
        pending_txs = 0
        async for block in self.source.blocks(self.store.next_block(), follow=follow):
            summary = read_block(block, self.chaincode)
            batch.append(summary)
            pending_txs += len(summary.transactions)
            number = summary.number
            if self.peer_height is None or number + 1 >= self.peer_height:
                self.peer_height = max(number + 1, await self.source.height())
            caught_up = number + 1 >= self.peer_height
            if caught_up or pending_txs >= self.batch_txs or len(batch) >= self.batch_blocks:
                await asyncio.to_thread(self._flush, batch, progress)
                batch, pending_txs = [], 0
        await asyncio.to_thread(self._flush, batch, progress)
        progress.seconds = time.perf_counter() - started
        return progress

    async def lag(self) -> int:
        """Blocks the read model is behind the ledger (0 when caught up)."""
        if self.source is None:
            return 0
        self.peer_height = await self.source.height()
        return max(0, self.peer_height - self.store.next_block())

    def rebuild(self) -> None:
        """Empty the read model; the next catch_up/follow projects from block 0."""
        logger.info("read model: rebuild from block 0 requested")
        self.store.reset()
