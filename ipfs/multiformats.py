"""CIDs and the codecs they are written in: unsigned varints, multihash, base58btc and base32.

Only what kubo's ``ipfs add`` produces is supported: sha2-256 multihashes, the dag-pb and raw
codecs, CIDv0 (a bare base58btc multihash) and CIDv1 (multibase ``b`` = lowercase base32 without
padding). Small enough to own instead of pulling a dependency for it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

SHA2_256 = 0x12
DAG_PB = 0x70
RAW = 0x55
_CODEC_NAMES = {DAG_PB: "dag-pb", RAW: "raw"}

_B58_ALPHABET = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


class CIDError(ValueError):
    """A CID (or one of its parts) could not be parsed; the message says which part and why."""


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, as used by multiformats and protobuf."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Read one unsigned varint at ``offset``; return (value, offset after it)."""
    value = 0
    shift = 0
    while True:
        if offset >= len(data):
            raise CIDError("varint: truncated")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise CIDError("varint: longer than 9 bytes")


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 (multibase ``z`` without its prefix)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    num = int.from_bytes(data, "big")
    out = bytearray()
    while num:
        num, rem = divmod(num, 58)
        out.append(_B58_ALPHABET[rem])
    out.extend(b"1" * zeros)
    return bytes(reversed(out)).decode("ascii")


def b58decode(text: str) -> bytes:
    raw = text.encode("ascii", errors="strict") if text.isascii() else None
    if raw is None:
        raise CIDError("base58: non-ASCII character")
    num = 0
    for ch in raw:
        try:
            num = num * 58 + _B58_INDEX[ch]
        except KeyError:
            raise CIDError(f"base58: invalid character {chr(ch)!r}") from None
    zeros = len(raw) - len(raw.lstrip(b"1"))
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * zeros + body


def b32encode(data: bytes) -> str:
    """RFC 4648 base32, lowercase, no padding (multibase ``b`` without its prefix)."""
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def b32decode(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError as exc:
        raise CIDError(f"base32: {exc}") from None


def sha256_multihash(data: bytes) -> bytes:
    return bytes([SHA2_256, 32]) + hashlib.sha256(data).digest()


@dataclass(frozen=True, slots=True)
class CID:
    """A content identifier: version, content codec and multihash (bytes)."""

    version: int
    codec: int
    multihash: bytes

    def __post_init__(self) -> None:
        if self.version not in (0, 1):
            raise CIDError(f"version: {self.version} is not 0 or 1")
        if self.version == 0 and self.codec != DAG_PB:
            raise CIDError("version: CIDv0 can only name dag-pb blocks")
        code, off = decode_varint(self.multihash)
        length, off = decode_varint(self.multihash, off)
        if len(self.multihash) - off != length:
            raise CIDError("multihash: digest length does not match its header")
        if self.version == 0 and (code != SHA2_256 or length != 32):
            raise CIDError("multihash: CIDv0 must be sha2-256")

    @classmethod
    def for_block(cls, block: bytes, *, version: int, codec: int) -> CID:
        return cls(version, codec, sha256_multihash(block))

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse a CIDv0 (``Qm...``) or a base32 CIDv1 (``b...``) string."""
        text = text.strip()
        if not text:
            raise CIDError("cid: empty")
        if len(text) == 46 and text.startswith("Qm"):
            return cls(0, DAG_PB, b58decode(text))
        if text[0] == "b":
            return cls.from_bytes(b32decode(text[1:]))
        if text[0] == "z":
            return cls.from_bytes(b58decode(text[1:]))
        raise CIDError(f"cid: {text[:16]!r} is neither CIDv0 (Qm...) nor base32/base58 CIDv1")

    @classmethod
    def from_bytes(cls, data: bytes) -> CID:
        if len(data) == 34 and data[0] == SHA2_256 and data[1] == 32:
            return cls(0, DAG_PB, data)
        version, off = decode_varint(data)
        if version != 1:
            raise CIDError(f"version: binary CID version {version} is not 1")
        codec, off = decode_varint(data, off)
        return cls(1, codec, data[off:])

    def to_bytes(self) -> bytes:
        if self.version == 0:
            return self.multihash
        return encode_varint(1) + encode_varint(self.codec) + self.multihash

    def encode(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode(self.to_bytes())

    @property
    def digest(self) -> bytes:
        _, off = decode_varint(self.multihash)
        _, off = decode_varint(self.multihash, off)
        return self.multihash[off:]

    @property
    def codec_name(self) -> str:
        return _CODEC_NAMES.get(self.codec, hex(self.codec))

    def __str__(self) -> str:
        return self.encode()
