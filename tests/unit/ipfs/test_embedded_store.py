"""The embedded content store: round trips, stat, pins, and refusing corrupt or missing blocks."""

from __future__ import annotations

import asyncio
import io
import random
from pathlib import Path

import pytest

from ipfs import (
    AsyncEmbeddedContentStore,
    ContentNotFound,
    ContentStoreError,
    CorruptBlock,
    EmbeddedContentStore,
)
from ipfs.multiformats import CID

CHUNK = 256 * 1024


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedContentStore:
    return EmbeddedContentStore(tmp_path / "ipfs")


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", [0, 5, CHUNK, CHUNK * 3 + 17])
def test_add_cat_round_trip(store: EmbeddedContentStore, size: int, version: int) -> None:
    data = random.Random(size).randbytes(size)
    added = store.add(data, cid_version=version)
    assert added.size == size
    assert CID.parse(added.cid).version == version
    assert store.cat(added.cid) == data
    assert store.has(added.cid)
    assert store.is_pinned(added.cid)


def test_stream_source_and_reopen(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(CHUNK * 2 + 5)
    first = EmbeddedContentStore(tmp_path / "ipfs").add(io.BytesIO(data))
    reopened = EmbeddedContentStore(tmp_path / "ipfs")
    assert reopened.cat(first.cid) == data
    assert reopened.add(data).cid == first.cid  # same bytes, same CID, blocks reused


def test_stat_reports_file_and_dag_sizes(store: EmbeddedContentStore) -> None:
    data = random.Random(2).randbytes(CHUNK * 2 + 1)
    added = store.add(data)
    stat = store.stat(added.cid)
    assert (stat.cid, stat.size, stat.blocks, stat.type) == (added.cid, len(data), 3, "file")
    assert stat.cumulative_size == added.dag_size > len(data)
    raw = store.add(b"hello world\n", cid_version=1)
    assert store.stat(raw.cid).size == store.stat(raw.cid).cumulative_size == 12


def test_unpinned_add_then_pin(store: EmbeddedContentStore) -> None:
    added = store.add(b"x" * 100, pin=False)
    assert store.has(added.cid) and not store.is_pinned(added.cid)
    store.pin(added.cid)
    assert store.is_pinned(added.cid)


def test_missing_block_is_reported(store: EmbeddedContentStore) -> None:
    unknown = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert not store.has(unknown)
    with pytest.raises(ContentNotFound, match=unknown):
        store.cat(unknown)
    with pytest.raises(ContentNotFound):
        store.pin(unknown)


def test_incomplete_dag_is_reported(store: EmbeddedContentStore) -> None:
    added = store.add(random.Random(3).randbytes(CHUNK * 2), pin=False)
    leaf = next(p for p in store.blocks.iter_files() if CHUNK < p.stat().st_size < CHUNK + 100)
    leaf.unlink()
    with pytest.raises(ContentNotFound, match="incomplete DAG"):
        store.cat(added.cid)


def test_corrupted_block_is_refused(store: EmbeddedContentStore) -> None:
    added = store.add(b"important contract text")
    (path,) = list(store.blocks.iter_files())
    path.write_bytes(path.read_bytes().replace(b"important", b"IMPORTANT"))
    with pytest.raises(CorruptBlock, match="does not match its hash"):
        store.cat(added.cid)


def test_bad_cid_and_version_are_named(store: EmbeddedContentStore) -> None:
    with pytest.raises(ContentStoreError, match="cid 'not-a-cid'"):
        store.cat("not-a-cid")
    with pytest.raises(ContentStoreError, match="cid_version"):
        store.add(b"x", cid_version=2)


def test_async_adapter(store: EmbeddedContentStore) -> None:
    async def run() -> bytes:
        astore = AsyncEmbeddedContentStore(store)
        added = await astore.add(b"async bytes", cid_version=1)
        assert await astore.has(added.cid)
        assert (await astore.stat(added.cid)).size == 11
        return await astore.cat(added.cid)

    assert asyncio.run(run()) == b"async bytes"


def test_put_refuses_a_block_that_does_not_match_its_cid(store: EmbeddedContentStore) -> None:
    cid = CID.parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    with pytest.raises(CorruptBlock, match="does not hash"):
        store.blocks.put(cid, b"not hello world")
    assert not store.has(str(cid))
