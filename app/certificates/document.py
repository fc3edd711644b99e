"""The signed search certificate: canonical JSON, the issuer's ECDSA signature and offline verification.

A certificate is a JSON object ``{"certificate": body, "sha256": hex, "signature": {...}}``. ``sha256``
is SHA-256 over the body's canonical form (keys sorted, no spaces, UTF-8); the signature is ECDSA P-256
with SHA-256 over :data:`SIGNING_DOMAIN` + that canonical form, made with the issuing org's signing
identity, whose X.509 certificate travels in the signature so anyone holding the org's CA certificate
(or the signer's certificate itself) can verify it without the gateway. The hash is what the ledger
records (``RecordSearchCertificate``), so a dispute can compare a paper copy with the chain.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNING_DOMAIN = b"mledger-search-certificate-v1\n"
FORMAT = "mledger-search-certificate/1"
ALGORITHM = "ECDSA-P256-SHA256"


class CertificateError(ValueError):
    """A certificate file that cannot be read as one (the message says which part)."""


def canonical(body: dict[str, Any]) -> bytes:
    """The bytes that are hashed and signed: sorted keys, compact separators, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def body_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True)
class SigningIdentity:
    """An org's signing key, its X.509 certificate and the MSP it signs for."""

    msp_id: str
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def __repr__(self) -> str:  # never print key material
        return (
            f"SigningIdentity(msp_id={self.msp_id!r}, subject={self.certificate.subject.rfc4514_string()!r})"
        )

    @classmethod
    def from_pem(cls, msp_id: str, key_pem: bytes, cert_pem: bytes) -> SigningIdentity:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{msp_id}: the signing key is not an ECDSA key")
        cert = x509.load_pem_x509_certificate(cert_pem)
        if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
            raise CertificateError(f"{msp_id}: the signing certificate does not belong to the key")
        return cls(msp_id, key, cert)


def sign(body: dict[str, Any], signer: SigningIdentity) -> dict[str, Any]:
    """The signed certificate document for ``body``."""
    data = canonical(body)
    signature = signer.private_key.sign(SIGNING_DOMAIN + data, ec.ECDSA(hashes.SHA256()))
    return {
        "format": FORMAT,
        "certificate": body,
        "sha256": hashlib.sha256(data).hexdigest(),
        "signature": {
            "algorithm": ALGORITHM,
            "signer_msp_id": signer.msp_id,
            "value": base64.b64encode(signature).decode(),
            "signer_certificate": signer.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        },
    }


@dataclass
class Verdict:
    """What an offline check found; ``ok`` only when every check passed."""

    ok: bool
    certificate_number: str | None = None
    sha256: str | None = None
    signer: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "certificate_number": self.certificate_number,
            "sha256": self.sha256,
            "signer": self.signer,
            "problems": self.problems,
        }


def load_trusted(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (the org's CA certificate, or the signer's own certificate)."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateError(f"trusted certificate: not a PEM certificate ({exc})") from None
    if not certs:
        raise CertificateError("trusted certificate: no certificate in the file")
    return certs


def _chains_to(signer: x509.Certificate, trusted: list[x509.Certificate]) -> bool:
    """The signer's certificate is one of ``trusted`` or is directly issued by one of them."""
    for anchor in trusted:
        if anchor == signer:
            return True
        if anchor.subject != signer.issuer:
            continue
        try:
            signer.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def verify(document: Any, trusted: list[x509.Certificate] | None) -> Verdict:
    """Check the hash, the signature and (with ``trusted``) that the signer belongs to the trusted org."""
    if not isinstance(document, dict) or not isinstance(document.get("certificate"), dict):
        return Verdict(False, problems=["document: not a search certificate (no 'certificate' object)"])
    body: dict[str, Any] = document["certificate"]
    verdict = Verdict(
        False, certificate_number=str(body.get("certificate_number")), sha256=document.get("sha256")
    )
    data = canonical(body)
    if hashlib.sha256(data).hexdigest() != document.get("sha256"):
        verdict.problems.append("sha256: does not match the certificate's content (altered after signing)")
    sig = document.get("signature")
    if not isinstance(sig, dict):
        verdict.problems.append("signature: missing")
        return verdict
    if sig.get("algorithm") != ALGORITHM:
        verdict.problems.append(f"signature: unknown algorithm {sig.get('algorithm')!r}")
        return verdict
    try:
        signer = x509.load_pem_x509_certificate(str(sig.get("signer_certificate", "")).encode())
        value = base64.b64decode(str(sig.get("value", "")), validate=True)
    except ValueError as exc:
        verdict.problems.append(f"signature: unreadable ({exc})")
        return verdict
    verdict.signer = signer.subject.rfc4514_string()
    public_key = signer.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        verdict.problems.append("signature: the signer's key is not an ECDSA key")
        return verdict
    try:
        public_key.verify(value, SIGNING_DOMAIN + data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        verdict.problems.append("signature: does not verify with the signer's certificate")
    issuer_field = body.get("issuer")
    issuer: dict[str, Any] = issuer_field if isinstance(issuer_field, dict) else {}
    if issuer.get("msp_id") != sig.get("signer_msp_id"):
        verdict.problems.append("signature: signer_msp_id is not the certificate's issuer")
    issued_at = _parse_time(body.get("issued_at"))
    if issued_at is not None and not (signer.not_valid_before_utc <= issued_at <= signer.not_valid_after_utc):
        verdict.problems.append(
            "signature: the signer's certificate was not valid when the certificate was issued"
        )
    if trusted is not None and not _chains_to(signer, trusted):
        verdict.problems.append(
            "signature: the signer's certificate is not issued by the trusted certificate"
        )
    verdict.ok = not verdict.problems
    return verdict


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


__all__ = [
    "FORMAT",
    "CertificateError",
    "SigningIdentity",
    "Verdict",
    "body_hash",
    "canonical",
    "load_trusted",
    "sign",
    "verify",
]
