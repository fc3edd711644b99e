"""A signer whose ECDSA key stays inside a PKCS#11 token (an HSM, or SoftHSM2 in tests).

The token signs the digest with ``CKM_ECDSA`` (the gateway hashes; the token never sees the
message) and returns the raw ``r || s`` of PKCS#11, which Fabric does not accept as such: it wants
DER ``ECDSA-Sig-Value`` with a low S (the peer refuses a high-S proposal as "access denied", the
orderer a high-S envelope as "implicit policy evaluation failed"). :func:`raw_to_der` does both.
The key object is anything with ``sign(data, mechanism=...)`` (python-pkcs11's ``PrivateKey``), so
this module needs no PKCS#11 library of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import hashing
from .signing import curve_order

_CURVE_BY_SIZE = {32: "secp256r1", 48: "secp384r1"}


class TokenKey(Protocol):
    """A private key object in a token that signs a digest with a mechanism (CKM_ECDSA)."""

    def sign(self, data: bytes, *, mechanism: Any = ...) -> bytes: ...


def raw_to_der(raw: bytes, curve_name: str | None = None) -> bytes:
    """PKCS#11's raw ``r || s`` (each the curve's size) as a low-S DER ECDSA signature."""
    half = len(raw) // 2
    if len(raw) % 2 or half not in _CURVE_BY_SIZE:
        raise ValueError(f"signature: {len(raw)} bytes is not a raw P-256 or P-384 r||s")
    name = curve_name or _CURVE_BY_SIZE[half]
    order = curve_order(name)
    r = int.from_bytes(raw[:half], "big")
    s = int.from_bytes(raw[half:], "big")
    if not (0 < r < order and 0 < s < order):
        raise ValueError("signature: r or s is out of range for the curve")
    if s > order // 2:
        s = order - s
    return encode_dss_signature(r, s)


@dataclass(slots=True)
class Pkcs11Signer:
    """Signs SHA-256 digests (P-256) with a token key; ``preferred_hash`` tells the gateway what to use.

    ``mechanism`` is the library's CKM_ECDSA value. Calls are serialised with a lock: a PKCS#11
    session must not run two operations at once.
    """

    key: TokenKey
    mechanism: Any
    curve_name: str = "secp256r1"
    preferred_hash: hashing.HashFunction = hashing.sha256
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, digest: bytes) -> bytes:
        with self._lock:
            raw = self.key.sign(digest, mechanism=self.mechanism)
        return raw_to_der(bytes(raw), self.curve_name)
