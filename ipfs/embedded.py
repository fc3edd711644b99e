"""The embedded content store: kubo's CIDs without a kubo daemon.

Adds files with the same chunking and DAG layout as kubo's default ``ipfs add`` (see
:mod:`ipfs.importer`), keeps the blocks in a crash-safe flat-file blockstore and reads files back
by walking the DAG, checking every block's hash on the way.

A root is pinned only after all of its blocks are on disk, so a crash mid-add leaves no pin to a
partial DAG (only orphan whole blocks, which a later add of the same file reuses).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

from ipfs.blockstore import FlatFSBlockstore, atomic_write
from ipfs.dagpb import UNIXFS_FILE, UNIXFS_RAW, DagPBError, PBNode, UnixFSData
from ipfs.importer import DEFAULT_CHUNK_SIZE, DEFAULT_MAX_LINKS, import_file
from ipfs.multiformats import CID, DAG_PB, RAW, CIDError
from ipfs.port import (
    AddResult,
    AddSource,
    ContentNotFound,
    ContentStoreError,
    CorruptBlock,
    InvalidRequest,
    Stat,
)

log = logging.getLogger(__name__)


def _parse(cid: str) -> CID:
    try:
        return CID.parse(cid)
    except CIDError as exc:
        raise InvalidRequest(f"cid {cid!r}: {exc}") from None


class EmbeddedContentStore:
    """A local IPFS blockstore under ``data_dir`` (e.g. ``.data/ipfs``)."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_links: int = DEFAULT_MAX_LINKS,
    ):
        self.data_dir = Path(data_dir)
        self.blocks = FlatFSBlockstore(self.data_dir)
        self._pins = self.data_dir / "pins"
        self._pins.mkdir(parents=True, exist_ok=True)
        self._chunk_size = chunk_size
        self._max_links = max_links

    def __repr__(self) -> str:
        return f"EmbeddedContentStore({str(self.data_dir)!r})"

    # -- port -----------------------------------------------------------------------------------
    def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> AddResult:
        if cid_version not in (0, 1):
            raise InvalidRequest(f"cid_version: must be 0 or 1, got {cid_version!r}")
        result = import_file(
            data,
            self._put_hashed,
            cid_version=cid_version,
            chunk_size=self._chunk_size,
            max_links=self._max_links,
        )
        cid = result.cid.encode()
        self.blocks.flush()  # every block's name is durable before anything points at the root
        if pin:
            self._write_pin(result.cid)
        log.debug("added %s (%d bytes)", cid, result.size)
        return AddResult(cid, result.size, result.dag_size)

    def cat(self, cid: str) -> bytes:
        return b"".join(self.iter_cat(cid))

    def iter_cat(self, cid: str) -> Iterator[bytes]:
        """The file's bytes, chunk by chunk, in order."""
        yield from self._walk(_parse(cid))

    def pin(self, cid: str) -> None:
        root = _parse(cid)
        self._check_complete(root)
        self._write_pin(root)

    def has(self, cid: str) -> bool:
        return self.blocks.has(_parse(cid))

    def is_pinned(self, cid: str) -> bool:
        return (self._pins / _parse(cid).encode()).exists()

    def stat(self, cid: str) -> Stat:
        root = _parse(cid)
        block = self.blocks.get(root)
        if root.codec == RAW:
            return Stat(root.encode(), len(block), len(block), 0, "file")
        node, unixfs = self._decode(root, block)
        size = unixfs.filesize if unixfs.filesize is not None else len(unixfs.data or b"")
        cumulative = len(block) + sum(link.tsize for link in node.links)
        kind = "file" if unixfs.type in (UNIXFS_FILE, UNIXFS_RAW) else "directory"
        return Stat(root.encode(), size, cumulative, len(node.links), kind)

    # -- internals ------------------------------------------------------------------------------
    def _put_hashed(self, cid: CID, block: bytes) -> None:
        self.blocks.put(cid, block, hashed=True)  # the importer derived the CID from these bytes

    def _write_pin(self, root: CID) -> None:
        name = root.encode()
        path = self._pins / name
        if not path.exists():
            atomic_write(path, name.encode("ascii"), tmp_dir=self.blocks.tmp_dir)

    def _check_complete(self, root: CID) -> None:
        for _ in self._walk(root):
            pass

    def _decode(self, cid: CID, block: bytes) -> tuple[PBNode, UnixFSData]:
        try:
            node = PBNode.decode(block)
            if node.data is None:
                raise DagPBError("node has no UnixFS Data")
            return node, UnixFSData.decode(node.data)
        except (DagPBError, CIDError) as exc:
            raise CorruptBlock(f"{cid}: not a UnixFS dag-pb node: {exc}") from None

    def _walk(self, cid: CID) -> Iterator[bytes]:
        block = self.blocks.get(cid)
        if cid.codec == RAW:
            yield block
            return
        if cid.codec != DAG_PB:
            raise ContentStoreError(f"{cid}: codec {cid.codec_name} is not a UnixFS file")
        node, unixfs = self._decode(cid, block)
        if unixfs.type not in (UNIXFS_FILE, UNIXFS_RAW):
            raise ContentStoreError(f"{cid}: UnixFS type {unixfs.type} is not a file")
        if unixfs.data:
            yield unixfs.data
        for link in node.links:
            try:
                yield from self._walk(link.cid)
            except ContentNotFound as exc:
                raise ContentNotFound(f"{cid}: incomplete DAG, {exc}") from None


class AsyncEmbeddedContentStore:
    """The embedded store behind the async port: each call runs in a worker thread."""

    def __init__(self, store: EmbeddedContentStore):
        self.store = store

    async def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> AddResult:
        return await asyncio.to_thread(self.store.add, data, cid_version=cid_version, pin=pin)

    async def cat(self, cid: str) -> bytes:
        return await asyncio.to_thread(self.store.cat, cid)

    async def pin(self, cid: str) -> None:
        await asyncio.to_thread(self.store.pin, cid)

    async def has(self, cid: str) -> bool:
        return await asyncio.to_thread(self.store.has, cid)

    async def stat(self, cid: str) -> Stat:
        return await asyncio.to_thread(self.store.stat, cid)
