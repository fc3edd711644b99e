"""A crash-safe flat-file blockstore: one file per block, named by its multihash.

Each block is written to a temporary file in the same directory, flushed and fsynced, then
renamed into place (``os.replace`` is atomic on POSIX). The directories that got new entries are
fsynced in one batch by :meth:`FlatFSBlockstore.flush` (the embedded store calls it before it
writes a pin). A crash at any point leaves either no block file or a whole one; stray temporaries
are removed on open.
Reads re-hash the block, so a corrupted file is reported instead of served.

Layout (like kubo's flatfs ``next-to-last/2``)::

    <root>/blocks/<2 chars>/<BASE32 MULTIHASH>.data
    <root>/blocks/.tmp/           in-flight writes
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ipfs.multiformats import CID, b32encode, sha256_multihash
from ipfs.port import ContentNotFound, CorruptBlock, StoreUnavailable

log = logging.getLogger(__name__)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, tmp_dir: Path, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file, or the new one, never a part.

    ``sync_dir=False`` leaves the directory fsync to the caller (batched: see ``flush``).
    """
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="put-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    if sync_dir:
        fsync_dir(path.parent)


class FlatFSBlockstore:
    """Blocks on disk under ``root``; safe to share between threads (writes are idempotent)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._tmp = self._blocks / ".tmp"
        try:
            self._tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"blockstore at {self.root}: cannot create it: {exc}") from exc
        self._remove_stale_temporaries()
        self._lock = threading.Lock()
        self._known_dirs: set[Path] = set()
        self._dirty_dirs: set[Path] = set()

    def _remove_stale_temporaries(self) -> None:
        stale = list(self._tmp.glob("*.tmp"))
        for tmp in stale:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if stale:
            log.warning("blockstore %s: removed %d unfinished writes left by a crash", self.root, len(stale))

    @property
    def tmp_dir(self) -> Path:
        """Where in-flight writes live (same filesystem, so renames are atomic)."""
        return self._tmp

    def _path(self, multihash: bytes) -> Path:
        key = b32encode(multihash).upper()
        return self._blocks / key[-3:-1] / f"{key}.data"

    def put(self, cid: CID, block: bytes, *, hashed: bool = False) -> None:
        """Store a block. ``hashed=True``: the caller just computed ``cid`` from these bytes."""
        if not hashed and sha256_multihash(block) != cid.multihash:
            raise CorruptBlock(f"block for {cid}: content does not hash to the CID")
        path = self._path(cid.multihash)
        if path.exists():
            return
        shard = path.parent
        if shard not in self._known_dirs:
            shard.mkdir(exist_ok=True)
            with self._lock:
                self._known_dirs.add(shard)
                self._dirty_dirs.add(self._blocks)
        atomic_write(path, block, tmp_dir=self._tmp, sync_dir=False)
        with self._lock:
            self._dirty_dirs.add(shard)

    def flush(self) -> None:
        """Make the names of every block written so far durable (fsync their directories)."""
        with self._lock:
            dirty, self._dirty_dirs = self._dirty_dirs, set()
        for directory in sorted(dirty, key=lambda p: len(p.parts), reverse=True):
            fsync_dir(directory)

    def get(self, cid: CID) -> bytes:
        path = self._path(cid.multihash)
        try:
            block = path.read_bytes()
        except FileNotFoundError:
            raise ContentNotFound(f"{cid}: no such block in {self.root}") from None
        if sha256_multihash(block) != cid.multihash:
            raise CorruptBlock(f"{cid}: stored block {path} does not match its hash")
        return block

    def has(self, cid: CID) -> bool:
        return self._path(cid.multihash).exists()

    def iter_files(self) -> Iterator[Path]:
        """Every block file (for checks and tests)."""
        yield from (p for p in self._blocks.glob("*/*.data") if p.parent != self._tmp)
