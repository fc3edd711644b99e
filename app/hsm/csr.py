"""A PKCS#10 certificate request signed inside the token (for fabric-ca enrolment).

``cryptography``'s CSR builder signs only with keys it holds, so the request is assembled here:
CertificationRequestInfo (version 0, subject, the token key's SubjectPublicKeyInfo, no attributes)
in DER, signed with ecdsa-with-SHA256 by the token, wrapped as CertificationRequest.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.fabric_gateway.signing import Sign

_ECDSA_WITH_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # AlgorithmIdentifier, no parameters


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def build_csr(
    common_name: str, public_key: ec.EllipticCurvePublicKey, sign: Sign
) -> x509.CertificateSigningRequest:
    """A CSR for ``CN=common_name`` whose signature ``sign`` (digest -> DER) makes inside the token."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]).public_bytes()
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = _tlv(0x30, _tlv(0x02, b"\x00") + subject + spki + _tlv(0xA0, b""))
    signature = sign(hashlib.sha256(info).digest())
    der = _tlv(0x30, info + _ECDSA_WITH_SHA256 + _tlv(0x03, b"\x00" + signature))
    csr = x509.load_der_x509_csr(der)
    if not csr.is_signature_valid:
        raise ValueError("csr: the token's signature does not verify against its public key")
    return csr
