"""Hash functions applied to a message before it is handed to the signer.

As in the Go client's ``hash`` package: the signer receives ``hash(message)``. ECDSA identities use
SHA-256 (the Fabric default); Ed25519 signs the whole message, so pair it with :func:`none`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

HashFunction = Callable[[bytes], bytes]


def sha256(message: bytes) -> bytes:
    """SHA-256 digest: what Fabric's default (SW, P-256) MSP verifies against."""
    return hashlib.sha256(message).digest()


def sha384(message: bytes) -> bytes:
    """SHA-384 digest, for P-384 keys."""
    return hashlib.sha384(message).digest()


def sha3_256(message: bytes) -> bytes:
    """SHA3-256 digest."""
    return hashlib.sha3_256(message).digest()


def sha3_384(message: bytes) -> bytes:
    """SHA3-384 digest."""
    return hashlib.sha3_384(message).digest()


def none(message: bytes) -> bytes:
    """No hashing: the signer gets the message itself (Ed25519)."""
    return message
