"""CIDs of kubo's default `ipfs add`: the checked vectors, and multi-chunk / multi-level files
compared with an independent reference build (tests/unit/ipfs/reference.py)."""

from __future__ import annotations

import random

import pytest

from ipfs.dagpb import PBNode, UnixFSData
from ipfs.importer import ImportResult, import_file
from ipfs.multiformats import CID, b32encode, b58decode, b58encode
from tests.unit.ipfs.reference import base32_lower, base58, reference_dag

CHUNK = 256 * 1024

# From /work/shared/TOOLCHAIN.md (checked on kubo) plus the raw empty block (sha2-256 of b"").
VECTORS = [
    (b"hello world\n", 0, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
    (b"", 0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
    (b"hello world\n", 1, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    (b"", 1, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
]


def _blocks(data: bytes, version: int, **kw: int) -> tuple[dict[str, bytes], ImportResult]:
    blocks: dict[str, bytes] = {}
    result = import_file(
        data, lambda cid, block: blocks.__setitem__(cid.encode(), block), cid_version=version, **kw
    )
    return blocks, result


@pytest.mark.parametrize(("data", "version", "expected"), VECTORS)
def test_toolchain_vectors(data: bytes, version: int, expected: str) -> None:
    _, result = _blocks(data, version)
    assert result.cid.encode() == expected
    assert result.size == len(data)


def test_hello_world_dag_size_matches_kubo_add_output() -> None:
    # `ipfs add` prints Size 20 for hello world (12 bytes + 8 bytes of dag-pb/UnixFS framing).
    _, result = _blocks(b"hello world\n", 0)
    assert result.dag_size == 20


def test_reference_reproduces_vectors_too() -> None:
    for data, version, expected in VECTORS:
        assert reference_dag(data, version=version).cid_text == expected


def _random(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


SIZES = [
    1,
    CHUNK - 1,
    CHUNK,  # exactly one chunk: the leaf is the root
    CHUNK + 1,  # two chunks: one parent
    CHUNK * 174,  # a full parent
    CHUNK * 174 + 1,  # 175 leaves: a second level appears
    CHUNK * 200,  # the two-level example
]


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("size", SIZES)
def test_matches_reference_layout(size: int, version: int) -> None:
    data = _random(size, seed=size)
    blocks, result = _blocks(data, version)
    ref = reference_dag(data, version=version)
    assert result.cid.encode() == ref.cid_text
    assert result.dag_size == ref.tsize
    assert blocks[ref.cid_text] == ref.block


@pytest.mark.parametrize("version", [0, 1])
def test_two_level_structure_for_200_chunks(version: int) -> None:
    data = _random(CHUNK * 200, seed=7)
    blocks, result = _blocks(data, version)
    root = PBNode.decode(blocks[result.cid.encode()])
    assert [len(PBNode.decode(blocks[link.cid.encode()]).links) for link in root.links] == [174, 26]
    info = UnixFSData.decode(root.data or b"")
    assert info.filesize == len(data)
    assert info.blocksizes == (174 * CHUNK, 26 * CHUNK)
    leaf_cid = PBNode.decode(blocks[root.links[0].cid.encode()]).links[0].cid
    assert leaf_cid.codec_name == ("raw" if version == 1 else "dag-pb")
    assert len(blocks) == 200 + 2 + 1


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("n_chunks", [1, 2, 3, 4, 9, 10, 27, 28, 31])
def test_deep_trees_with_small_fanout(n_chunks: int, version: int) -> None:
    # Chunk size 7 and 3 links a node reach four levels quickly, exercising every boundary.
    data = _random(7 * n_chunks - (3 if n_chunks > 1 else 0), seed=n_chunks)
    _, result = _blocks(data, version, chunk_size=7, max_links=3)
    ref = reference_dag(data, version=version, chunk_size=7, max_links=3)
    assert result.cid.encode() == ref.cid_text
    assert result.dag_size == ref.tsize


def test_stream_and_iterable_sources_give_the_same_cid() -> None:
    import io

    data = _random(CHUNK * 3 + 123, seed=3)
    _, from_bytes = _blocks(data, 0)
    pieces = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    got_iter = import_file(iter(pieces), lambda c, b: None)

    class Trickle(io.RawIOBase):  # short reads, like a socket
        def __init__(self) -> None:
            self.pos = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
            n = min(len(buf), 4096, len(data) - self.pos)
            buf[:n] = data[self.pos : self.pos + n]
            self.pos += n
            return n

    got_stream = import_file(Trickle(), lambda c, b: None)
    assert got_iter.cid == got_stream.cid == from_bytes.cid


def test_codecs_agree_with_reference_encoders() -> None:
    rng = random.Random(11)
    for _ in range(200):
        blob = b"\0" * rng.randrange(3) + rng.randbytes(rng.randrange(0, 40))
        assert b58encode(blob) == base58(blob)
        assert b58decode(b58encode(blob)) == blob
        assert b32encode(blob) == base32_lower(blob)


def test_cid_parse_round_trip_and_errors() -> None:
    for _, _, text in VECTORS:
        assert CID.parse(text).encode() == text
    v1 = CID.parse(VECTORS[2][2])
    assert v1.version == 1 and v1.codec_name == "raw"
    for bad, reason in [("", "empty"), ("Qm" + "0" * 44, "invalid character"), ("xyz", "neither")]:
        with pytest.raises(ValueError, match=reason):
            CID.parse(bad)
