"""An independent reference for kubo's default file DAG, used to check ipfs.importer.

Independent on purpose: the protobuf encoding goes through Google's protobuf runtime with
descriptors built here (not our hand-written encoder), base58 is computed by repeated division on
a digit list (not big-int divmod), and the DAG is built by a literal port of boxo's recursive
``balanced.Layout`` / ``fillNodeRec`` (depth-first), not by our level-by-level streaming builder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _build_messages() -> tuple[type, type, type]:
    fdp = descriptor_pb2.FileDescriptorProto(name="ref_dagpb_unixfs.proto", package="ref", syntax="proto2")
    f = descriptor_pb2.FieldDescriptorProto
    link = fdp.message_type.add(name="PBLink")
    link.field.add(name="Hash", number=1, type=f.TYPE_BYTES, label=f.LABEL_OPTIONAL)
    link.field.add(name="Name", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    link.field.add(name="Tsize", number=3, type=f.TYPE_UINT64, label=f.LABEL_OPTIONAL)
    node = fdp.message_type.add(name="PBNode")
    node.field.add(name="Data", number=1, type=f.TYPE_BYTES, label=f.LABEL_OPTIONAL)
    node.field.add(
        name="Links", number=2, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED, type_name=".ref.PBLink"
    )
    data = fdp.message_type.add(name="Data")
    data.field.add(name="Type", number=1, type=f.TYPE_INT32, label=f.LABEL_REQUIRED)
    data.field.add(name="Data", number=2, type=f.TYPE_BYTES, label=f.LABEL_OPTIONAL)
    data.field.add(name="filesize", number=3, type=f.TYPE_UINT64, label=f.LABEL_OPTIONAL)
    data.field.add(name="blocksizes", number=4, type=f.TYPE_UINT64, label=f.LABEL_REPEATED)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = message_factory.GetMessageClass
    return (
        get(pool.FindMessageTypeByName("ref.PBLink")),
        get(pool.FindMessageTypeByName("ref.PBNode")),
        get(pool.FindMessageTypeByName("ref.Data")),
    )


PBLink, PBNode, UnixFS = _build_messages()


def base58(data: bytes) -> str:
    digits = [0]
    for byte in data:
        carry = byte
        for i in range(len(digits)):
            carry += digits[i] << 8
            digits[i] = carry % 58
            carry //= 58
        while carry:
            digits.append(carry % 58)
            carry //= 58
    zeros = len(data) - len(data.lstrip(b"\0"))
    text = "".join(_ALPHABET[d] for d in reversed(digits)).lstrip("1")
    return "1" * zeros + text


def base32_lower(data: bytes) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(alphabet[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


@dataclass
class RefNode:
    cid_bytes: bytes
    cid_text: str
    filesize: int
    tsize: int
    block: bytes
    children: list[RefNode]


def _cid(block: bytes, *, version: int, raw: bool) -> tuple[bytes, str]:
    mh = b"\x12\x20" + hashlib.sha256(block).digest()
    if version == 0:
        return mh, base58(mh)
    binary = bytes([0x01, 0x55 if raw else 0x70]) + mh
    return binary, "b" + base32_lower(binary)


def _encode_node(links: list[RefNode], unixfs: bytes) -> bytes:
    # Canonical dag-pb puts Links before Data; protobuf would sort by field number, so the
    # two parts are serialized separately and concatenated (protobuf merges repeated parts).
    with_links = PBNode()
    for child in links:
        with_links.Links.add(Hash=child.cid_bytes, Name="", Tsize=child.tsize)
    return with_links.SerializeToString() + PBNode(Data=unixfs).SerializeToString()


class ReferenceBuilder:
    def __init__(self, data: bytes, *, version: int, chunk_size: int = 262144, max_links: int = 174):
        self.chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
        self.pos = 0
        self.version = version
        self.raw = version == 1
        self.max_links = max_links

    def done(self) -> bool:
        return self.pos >= len(self.chunks)

    def leaf(self, chunk: bytes | None) -> RefNode:
        if self.raw:
            block = chunk or b""
            cb, ct = _cid(block, version=1, raw=True)
            return RefNode(cb, ct, len(block), len(block), block, [])
        msg = UnixFS(Type=2, filesize=len(chunk or b""))
        if chunk is not None:
            msg.Data = chunk
        block = _encode_node([], msg.SerializeToString())
        cb, ct = _cid(block, version=self.version, raw=False)
        return RefNode(cb, ct, len(chunk or b""), len(block), block, [])

    def next_leaf(self) -> RefNode:
        chunk = self.chunks[self.pos]
        self.pos += 1
        return self.leaf(chunk)

    def commit(self, children: list[RefNode]) -> RefNode:
        msg = UnixFS(Type=2, filesize=sum(c.filesize for c in children))
        msg.blocksizes.extend(c.filesize for c in children)
        block = _encode_node(children, msg.SerializeToString())
        cb, ct = _cid(block, version=self.version, raw=False)
        size = sum(c.filesize for c in children)
        return RefNode(cb, ct, size, len(block) + sum(c.tsize for c in children), block, children)

    def fill(self, children: list[RefNode], depth: int) -> RefNode:
        while len(children) < self.max_links and not self.done():
            children.append(self.next_leaf() if depth == 1 else self.fill([], depth - 1))
        return self.commit(children)

    def layout(self) -> RefNode:
        if self.done():
            return self.leaf(None)
        root = self.next_leaf()
        depth = 1
        while not self.done():
            root = self.fill([root], depth)
            depth += 1
        return root


def reference_dag(data: bytes, *, version: int, chunk_size: int = 262144, max_links: int = 174) -> RefNode:
    return ReferenceBuilder(data, version=version, chunk_size=chunk_size, max_links=max_links).layout()
