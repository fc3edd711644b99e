"""dag-pb nodes carrying UnixFS data, encoded byte for byte as go-merkledag / boxo write them.

Two protobuf messages (proto2)::

    message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
    message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
    message Data   { required DataType Type = 1; optional bytes Data = 2; optional uint64 filesize = 3;
                     repeated uint64 blocksizes = 4; ... }   // UnixFS, DataType File = 2

The canonical dag-pb form writes Links (field 2) *before* Data (field 1), and every link carries
Hash, Name (the empty string for file chunks) and Tsize. UnixFS writes ``filesize`` always and
``blocksizes`` unpacked, one field per child. Getting any of this wrong changes every CID.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipfs.multiformats import CID, decode_varint, encode_varint

UNIXFS_RAW = 0
UNIXFS_DIRECTORY = 1
UNIXFS_FILE = 2
UNIXFS_METADATA = 3
UNIXFS_SYMLINK = 4
UNIXFS_HAMT_SHARD = 5

_VARINT = 0
_LEN = 2


class DagPBError(ValueError):
    """A block is not valid dag-pb / UnixFS; the message names the field."""


def _key(field_no: int, wire_type: int) -> bytes:
    return encode_varint(field_no << 3 | wire_type)


def _len_field(field_no: int, payload: bytes) -> bytes:
    return _key(field_no, _LEN) + encode_varint(len(payload)) + payload


def _varint_field(field_no: int, value: int) -> bytes:
    return _key(field_no, _VARINT) + encode_varint(value)


def _fields(buf: bytes, what: str) -> list[tuple[int, int, int | bytes]]:
    """Split a protobuf message into (field number, wire type, value); only varint and bytes."""
    out: list[tuple[int, int, int | bytes]] = []
    off = 0
    while off < len(buf):
        key, off = decode_varint(buf, off)
        field_no, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, off = decode_varint(buf, off)
            out.append((field_no, wire, value))
        elif wire == _LEN:
            length, off = decode_varint(buf, off)
            if off + length > len(buf):
                raise DagPBError(f"{what}: field {field_no} runs past the end of the block")
            out.append((field_no, wire, buf[off : off + length]))
            off += length
        else:
            raise DagPBError(f"{what}: unsupported wire type {wire} for field {field_no}")
    return out


@dataclass(frozen=True, slots=True)
class Link:
    cid: CID
    tsize: int
    name: str = ""

    def encode(self) -> bytes:
        return (
            _len_field(1, self.cid.to_bytes())
            + _len_field(2, self.name.encode("utf-8"))
            + _varint_field(3, self.tsize)
        )


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: int
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()

    def encode(self) -> bytes:
        out = _varint_field(1, self.type)
        if self.data is not None:
            out += _len_field(2, self.data)
        if self.filesize is not None:
            out += _varint_field(3, self.filesize)
        for size in self.blocksizes:
            out += _varint_field(4, size)
        return out

    @classmethod
    def decode(cls, buf: bytes) -> UnixFSData:
        type_: int | None = None
        data: bytes | None = None
        filesize: int | None = None
        blocksizes: list[int] = []
        for no, wire, value in _fields(buf, "unixfs"):
            if no == 1 and wire == _VARINT:
                type_ = int(value)  # type: ignore[arg-type]
            elif no == 2 and wire == _LEN:
                data = bytes(value)  # type: ignore[arg-type]
            elif no == 3 and wire == _VARINT:
                filesize = int(value)  # type: ignore[arg-type]
            elif no == 4 and wire == _VARINT:
                blocksizes.append(int(value))  # type: ignore[arg-type]
        if type_ is None:
            raise DagPBError("unixfs: required field Type is missing")
        return cls(type_, data, filesize, tuple(blocksizes))


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[Link, ...] = ()
    data: bytes | None = None

    def encode(self) -> bytes:
        out = b"".join(_len_field(2, link.encode()) for link in self.links)
        if self.data is not None:
            out += _len_field(1, self.data)
        return out

    @classmethod
    def decode(cls, block: bytes) -> PBNode:
        links: list[Link] = []
        data: bytes | None = None
        for no, wire, value in _fields(block, "dag-pb node"):
            if no == 2 and wire == _LEN:
                links.append(_decode_link(bytes(value)))  # type: ignore[arg-type]
            elif no == 1 and wire == _LEN:
                data = bytes(value)  # type: ignore[arg-type]
            else:
                raise DagPBError(f"dag-pb node: unexpected field {no}")
        return cls(tuple(links), data)


def _decode_link(buf: bytes) -> Link:
    cid: CID | None = None
    name = ""
    tsize = 0
    for no, wire, value in _fields(buf, "dag-pb link"):
        if no == 1 and wire == _LEN:
            cid = CID.from_bytes(bytes(value))  # type: ignore[arg-type]
        elif no == 2 and wire == _LEN:
            name = bytes(value).decode("utf-8")  # type: ignore[arg-type]
        elif no == 3 and wire == _VARINT:
            tsize = int(value)  # type: ignore[arg-type]
    if cid is None:
        raise DagPBError("dag-pb link: Hash is missing")
    return Link(cid, tsize, name)
