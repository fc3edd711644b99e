"""The PKCS#11 signer's conversion: raw r||s from a token → low-S DER that verifies (Fabric's rule)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from app.fabric_gateway.pkcs11_signer import Pkcs11Signer, raw_to_der
from app.fabric_gateway.signing import curve_order, is_low_s

N = curve_order("secp256r1")


def _raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def test_high_s_from_the_token_becomes_low_s_and_still_verifies() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    digest = hashlib.sha256(b"proposal").digest()
    r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
    high = s if s > N // 2 else N - s  # what a token may return: both are valid ECDSA signatures
    der = raw_to_der(_raw(r, high))
    assert is_low_s(der, N)
    assert decode_dss_signature(der) == (r, N - high)
    key.public_key().verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_low_s_is_kept() -> None:
    assert decode_dss_signature(raw_to_der(_raw(5, 7))) == (5, 7)


@pytest.mark.parametrize("raw", [b"", b"\x01" * 63, b"\x01" * 40, _raw(0, 1), _raw(1, N)])
def test_malformed_raw_signatures_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="signature"):
        raw_to_der(raw)


class _Token:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.seen: list[tuple[bytes, Any]] = []

    def sign(self, data: bytes, *, mechanism: Any = None) -> bytes:
        self.seen.append((data, mechanism))
        return self.raw


def test_signer_sends_the_digest_with_the_mechanism_and_returns_der() -> None:
    token = _Token(_raw(9, N - 3))
    signer = Pkcs11Signer(token, mechanism="CKM_ECDSA")
    der = signer(b"\x11" * 32)
    assert token.seen == [(b"\x11" * 32, "CKM_ECDSA")]
    assert decode_dss_signature(der) == (9, 3)
