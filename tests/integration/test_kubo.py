"""The embedded content store against a real kubo daemon: the same bytes give the same CIDs.

Runs on the private kubo node of the local network (fixture `fabric_network`, `kubo_rpc_url`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipfs import AsyncKuboClient, ContentNotFound, EmbeddedContentStore, KuboClient
from ipfs.importer import import_file
from ipfs.multiformats import CID
from network.fixture import FabricNetworkInfo

CHUNK = 256 * 1024

FILES = {
    "empty": 0,
    "one byte": 1,
    "small text": 1000,
    "chunk - 1": CHUNK - 1,
    "exactly one chunk": CHUNK,
    "chunk + 1": CHUNK + 1,
    "10 MiB": 10 * 1024 * 1024,
    "175 chunks + 1 (two levels)": 175 * CHUNK + 1,
}


@pytest.fixture(scope="module")
def kubo(fabric_network: FabricNetworkInfo) -> Iterator[KuboClient]:
    with KuboClient(fabric_network.kubo_rpc_url) as client:
        yield client


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedContentStore:
    return EmbeddedContentStore(tmp_path_factory.mktemp("embedded-ipfs"))


def _data(name: str) -> bytes:
    return random.Random(name).randbytes(FILES[name])


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("name", list(FILES))
def test_same_cid_as_kubo(kubo: KuboClient, embedded: EmbeddedContentStore, name: str, version: int) -> None:
    data = _data(name)
    ours = embedded.add(data, cid_version=version)
    theirs = kubo.add(data, cid_version=version)
    assert theirs.cid == ours.cid
    assert CID.parse(theirs.cid).version == version
    assert theirs.dag_size == ours.dag_size  # kubo's cumulative "Size"
    assert kubo.stat(theirs.cid) == embedded.stat(ours.cid)
    assert kubo.cat(theirs.cid) == data
    assert kubo.has(theirs.cid)


def test_toolchain_vectors_on_kubo(kubo: KuboClient) -> None:
    assert kubo.add(b"hello world\n").cid == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    assert kubo.add(b"").cid == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    v1 = kubo.add(b"hello world\n", cid_version=1).cid
    assert v1 == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def test_stream_add_and_cross_store_reads(kubo: KuboClient, tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK + 99)
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    with src.open("rb") as fh:
        theirs = kubo.add(fh, cid_version=1)
    assert theirs.size == len(data)
    # Blocks fetched from kubo one by one rebuild the file in an embedded store.
    store = EmbeddedContentStore(tmp_path / "copy")
    assert store.add(kubo.cat(theirs.cid), cid_version=1).cid == theirs.cid


def test_unknown_cid_is_not_found(fabric_network) -> None:  # type: ignore[no-untyped-def]
    cid = import_file(b"never added " + os.urandom(16), lambda c, b: None).cid.encode()
    with KuboClient(fabric_network.kubo_rpc_url, fetch_timeout="2s") as client:
        assert client.has(cid) is False
        with pytest.raises(ContentNotFound, match=cid):
            client.cat(cid)


async def test_async_client_round_trip(fabric_network) -> None:  # type: ignore[no-untyped-def]
    data = os.urandom(CHUNK + 5)
    async with AsyncKuboClient(fabric_network.kubo_rpc_url) as client:
        added = await client.add(data, cid_version=0)
        assert await client.cat(added.cid) == data
        await client.pin(added.cid)
        assert (await client.stat(added.cid)).size == len(data)
        assert (await client.version()).startswith("0.")
