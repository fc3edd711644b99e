"""Signers: any callable ``digest -> signature``, so keys may live in an HSM or another process.

:func:`new_private_key_signer` wraps an in-memory key. ECDSA signatures are normalised to low-S
(Fabric refuses high-S: the peer reports only "access denied", the orderer "implicit policy
evaluation failed"). Ed25519 signs the message itself, so its signer prefers :func:`hashing.none`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from . import hashing

Sign = Callable[[bytes], bytes]
"""Signs a digest (the output of the gateway's hash function) and returns the signature bytes."""

_CURVE_ORDERS: dict[str, int] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
}

_PREHASH: dict[str, hashes.HashAlgorithm] = {"secp256r1": hashes.SHA256(), "secp384r1": hashes.SHA384()}


def curve_order(curve_name: str) -> int:
    """The group order n of a supported curve."""
    try:
        return _CURVE_ORDERS[curve_name]
    except KeyError:
        raise ValueError(f"curve: {curve_name} is not supported (P-256 or P-384)") from None


def to_low_s(signature_der: bytes, order: int) -> bytes:
    """Return the DER ECDSA signature with s replaced by n - s when s > n/2 (Fabric's rule)."""
    r, s = decode_dss_signature(signature_der)
    if s > order // 2:
        s = order - s
    return encode_dss_signature(r, s)


def is_low_s(signature_der: bytes, order: int) -> bool:
    """True when the DER ECDSA signature's s is at most n/2."""
    _, s = decode_dss_signature(signature_der)
    return s <= order // 2


@dataclass(frozen=True, slots=True)
class PrivateKeySigner:
    """A signer over an in-memory private key; ``preferred_hash`` is what its key type expects."""

    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    preferred_hash: hashing.HashFunction

    def __call__(self, digest: bytes) -> bytes:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return self.key.sign(digest)
        curve = self.key.curve.name
        prehash = _PREHASH[curve]
        if len(digest) != prehash.digest_size:
            # Not a digest of the curve's size (e.g. SHA3 or a custom hash): sign it as data.
            der = self.key.sign(digest, ec.ECDSA(hashes.SHA256()))
        else:
            der = self.key.sign(digest, ec.ECDSA(Prehashed(prehash)))
        return to_low_s(der, curve_order(curve))


def new_private_key_signer(key: object) -> PrivateKeySigner:
    """A signer for an ECDSA (P-256/P-384) or Ed25519 private key object."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return PrivateKeySigner(key, hashing.none)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        name = key.curve.name
        curve_order(name)
        return PrivateKeySigner(key, hashing.sha384 if name == "secp384r1" else hashing.sha256)
    raise TypeError(f"private key: unsupported type {type(key).__name__} (ECDSA P-256/P-384 or Ed25519)")


def load_private_key(
    pem: bytes | str, password: bytes | None = None
) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
    """Parse a PEM private key (PKCS#8 or SEC1) and check its type is one Fabric accepts."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"private key: does not parse as PEM: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"private key: unsupported type {type(key).__name__}")
    return key


def signer_from_pem(pem: bytes | str, password: bytes | None = None) -> PrivateKeySigner:
    """A signer from a PEM private key."""
    return new_private_key_signer(load_private_key(pem, password))
