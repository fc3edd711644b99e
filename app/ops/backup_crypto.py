"""Encryption of backup archives: AES-256-GCM in 1 MiB chunks (the STREAM construction age uses).

File layout: ``MLEDGER-BACKUP/1\\n`` + one JSON header line (org, time, key id, chunk size) + chunks of
``len(4) ‖ ciphertext+tag``. Each chunk's nonce is a random 7-byte prefix ‖ a 4-byte counter ‖ a
last-chunk flag byte, and the header is the associated data of every chunk, so reordering, dropping,
truncating or editing anything (header included) fails decryption. The key is 32 random bytes in a
file (never on a command line); its id is the first 16 hex digits of its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"MLEDGER-BACKUP/1\n"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup could not be written or does not verify (the message says which part)."""


def read_key(path: Path) -> bytes:
    """The 32-byte key from ``path`` (raw bytes, or 64 hex digits); BackupError naming the file."""
    data = path.read_bytes()
    text = data.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode())
        except ValueError:
            pass
    if len(data) == 32:
        return data
    raise BackupError(f"key file {path}: expected 32 raw bytes or 64 hex digits")


def new_key(path: Path) -> None:
    """Write a fresh key (hex, mode 0600); refuse to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_bytes(32).hex() + "\n")


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def encrypt_stream(source: BinaryIO, target: BinaryIO, key: bytes, header: dict[str, Any]) -> None:
    header = {**header, "key_id": key_id(key), "chunk": CHUNK, "nonce_prefix": secrets.token_hex(7)}
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    target.write(MAGIC + head)
    aead, prefix = AESGCM(key), bytes.fromhex(header["nonce_prefix"])
    counter = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        sealed = aead.encrypt(_nonce(prefix, counter, last), chunk, MAGIC + head)
        target.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        counter += 1
        chunk = following


def read_header(source: BinaryIO) -> tuple[dict[str, Any], bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("not an mledger backup (bad magic)")
    head = source.readline(65536)
    try:
        return json.loads(head), head
    except ValueError as exc:
        raise BackupError(f"backup header unreadable: {exc}") from exc


def decrypt_stream(source: BinaryIO, key: bytes) -> Iterator[bytes]:
    """The plaintext chunks; BackupError on a wrong key, any change, or truncation."""
    header, head = read_header(source)
    if header.get("key_id") != key_id(key):
        raise BackupError(f"wrong key: the archive was encrypted with key {header.get('key_id')}")
    aead, prefix = AESGCM(key), bytes.fromhex(header["nonce_prefix"])
    counter = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise BackupError("archive truncated (no final chunk)")
        (size,) = struct.unpack(">I", size_bytes)
        sealed = source.read(size)
        if len(sealed) != size:
            raise BackupError(f"archive truncated in chunk {counter}")
        last = source.peek(1)[:1] == b"" if hasattr(source, "peek") else False
        try:
            plain = aead.decrypt(_nonce(prefix, counter, last), sealed, MAGIC + head)
        except InvalidTag:
            raise BackupError(
                f"chunk {counter}: authentication failed (altered, reordered or truncated)"
            ) from None
        yield plain
        if last:
            return
        counter += 1
