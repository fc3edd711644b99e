"""Turn a byte stream into the UnixFS file DAG that kubo's default ``ipfs add`` builds.

Layout (boxo ``importer/balanced``): fixed-size chunks (256 KiB), each a leaf; leaves are grouped
174 to a parent, parents 174 to a grandparent, and so on until one root remains. Every subtree but
the last is full; a lone last child still gets its own parent at each level, exactly as the
balanced builder's ``fillNodeRec`` does. A file of one chunk is its leaf.

Leaves: CIDv0 → dag-pb nodes holding UnixFS ``File`` with the chunk as Data; CIDv1 → raw blocks
(kubo turns raw-leaves on with ``--cid-version=1``). Parents are dag-pb UnixFS ``File`` nodes with
``filesize`` and one ``blocksizes`` entry per child, and links whose Tsize is the child's whole
serialized subtree size.

The builder streams: it keeps at most one partial parent per level in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ipfs.dagpb import UNIXFS_FILE, Link, PBNode, UnixFSData
from ipfs.multiformats import CID, DAG_PB, RAW

DEFAULT_CHUNK_SIZE = 256 * 1024
DEFAULT_MAX_LINKS = 174

PutBlock = Callable[[CID, bytes], None]
Source = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Root CID, the file's byte length and the DAG's cumulative size (kubo's ``Size``)."""

    cid: CID
    size: int
    dag_size: int


@dataclass(frozen=True, slots=True)
class _Child:
    cid: CID
    filesize: int  # bytes of file content below this child
    tsize: int  # serialized bytes of the child's whole subtree


def iter_chunks(source: Source, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """Fixed-size chunks; the last may be short. Empty input yields nothing."""
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    if hasattr(source, "read"):
        reader: BinaryIO = source  # type: ignore[assignment]
        while True:
            chunk = _read_full(reader, chunk_size)
            if not chunk:
                return
            yield chunk
            if len(chunk) < chunk_size:
                return
    pending = bytearray()
    for piece in source:  # type: ignore[union-attr]
        pending += piece
        while len(pending) >= chunk_size:
            yield bytes(pending[:chunk_size])
            del pending[:chunk_size]
    if pending:
        yield bytes(pending)


def _read_full(reader: BinaryIO, n: int) -> bytes:
    """Like io.ReadFull: keep reading until n bytes or end of stream (sockets return short reads)."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        piece = reader.read(n - got)
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


class BalancedBuilder:
    """Builds one file DAG; call :meth:`add_chunk` per chunk then :meth:`finish`."""

    def __init__(self, put: PutBlock, *, cid_version: int = 0, max_links: int = DEFAULT_MAX_LINKS):
        if cid_version not in (0, 1):
            raise ValueError(f"cid_version: must be 0 or 1, got {cid_version!r}")
        if max_links < 2:
            raise ValueError(f"max_links: must be at least 2, got {max_links}")
        self._put = put
        self._version = cid_version
        self._raw_leaves = cid_version == 1
        self._max_links = max_links
        self._levels: list[list[_Child]] = [[]]
        self._size = 0

    def add_chunk(self, chunk: bytes) -> None:
        self._size += len(chunk)
        self._push(0, self._leaf(chunk))

    def finish(self) -> ImportResult:
        if not any(self._levels):
            # The empty file: one leaf without data (a raw empty block with raw leaves).
            leaf = self._leaf(b"", empty=True)
            return ImportResult(leaf.cid, 0, leaf.tsize)
        level = 0
        while True:
            children = self._levels[level]
            higher = any(self._levels[level + 1 :])
            if len(children) == 1 and not higher:
                root = children[0]
                return ImportResult(root.cid, self._size, root.tsize)
            if children:
                self._levels[level] = []
                self._push(level + 1, self._parent(children))
            level += 1

    def _push(self, level: int, child: _Child) -> None:
        if level == len(self._levels):
            self._levels.append([])
        self._levels[level].append(child)
        if len(self._levels[level]) == self._max_links:
            full = self._levels[level]
            self._levels[level] = []
            self._push(level + 1, self._parent(full))

    def _leaf(self, chunk: bytes, *, empty: bool = False) -> _Child:
        if self._raw_leaves:
            cid = CID.for_block(chunk, version=1, codec=RAW)
            self._put(cid, chunk)
            return _Child(cid, len(chunk), len(chunk))
        unixfs = UnixFSData(UNIXFS_FILE, data=None if empty else chunk, filesize=len(chunk))
        return self._store_node(PBNode((), unixfs.encode()), len(chunk), 0)

    def _parent(self, children: list[_Child]) -> _Child:
        filesize = sum(c.filesize for c in children)
        unixfs = UnixFSData(UNIXFS_FILE, filesize=filesize, blocksizes=tuple(c.filesize for c in children))
        links = tuple(Link(c.cid, c.tsize) for c in children)
        return self._store_node(PBNode(links, unixfs.encode()), filesize, sum(c.tsize for c in children))

    def _store_node(self, node: PBNode, filesize: int, links_tsize: int) -> _Child:
        block = node.encode()
        cid = CID.for_block(block, version=self._version, codec=DAG_PB)
        self._put(cid, block)
        return _Child(cid, filesize, len(block) + links_tsize)


def import_file(
    source: Source,
    put: PutBlock,
    *,
    cid_version: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_links: int = DEFAULT_MAX_LINKS,
) -> ImportResult:
    """Chunk ``source``, hand every block to ``put`` (children before parents), return the root."""
    builder = BalancedBuilder(put, cid_version=cid_version, max_links=max_links)
    for chunk in iter_chunks(source, chunk_size):
        builder.add_chunk(chunk)
    return builder.finish()
