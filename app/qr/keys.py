"""The authority's QR signing key and the certificates verifiers trust.

On the Fabric network the key is the TrafficAuthority's enrolled admin identity (an ECDSA P-256
key and its fabric-ca certificate, e.g. an MSP folder's ``keystore/`` and ``signcerts/``), given
by configuration. In embedded mode a key and a self-signed certificate are generated once under
the data directory (``.data/qr/``). Verifiers need only the certificate (or the public key).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID

from app.qr.payload import KEY_ID_BYTES, SIGNING_DOMAIN, QrCodeError
from ipfs.private_file import write_file_atomically

log = logging.getLogger(__name__)

# Order of the P-256 group: signatures are normalised to s <= n/2 (low-S), as Fabric requires.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
DEFAULT_ISSUER = "TrafficAuthorityMSP"


class KeyConfigError(QrCodeError):
    """A key or certificate could not be loaded or does not fit (the message names the file)."""


def key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """First 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER: names the key inside the payload."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:KEY_ID_BYTES]


def _require_p256(key: object, where: str) -> None:
    curve = getattr(key, "curve", None)
    if not isinstance(curve, ec.SECP256R1):
        raise KeyConfigError(f"{where}: the QR key must be ECDSA P-256, got {type(key).__name__}")


def sign_raw(private_key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """ECDSA-SHA256 over the domain-separated payload; r ‖ s with low S."""
    der = private_key.sign(SIGNING_DOMAIN + payload, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    if s > P256_ORDER // 2:
        s = P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_raw(public_key: ec.EllipticCurvePublicKey, payload: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    if len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < P256_ORDER and 0 < s <= P256_ORDER // 2):
        return False  # high-S copies of a valid signature are refused: one code, one signature
    try:
        public_key.verify(encode_dss_signature(r, s), SIGNING_DOMAIN + payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class AuthorityKey:
    """The issuer's signing key, its certificate and the issuer name (MSP id) it signs as."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    issuer: str = DEFAULT_ISSUER

    def __repr__(self) -> str:  # never print key material
        return f"AuthorityKey(issuer={self.issuer!r}, key_id={self.key_id.hex()})"

    @property
    def key_id(self) -> bytes:
        return key_id(self.private_key.public_key())

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem_files(
        cls, key_file: Path | str, cert_file: Path | str, *, issuer: str = DEFAULT_ISSUER
    ) -> AuthorityKey:
        key_path, cert_path = Path(key_file), Path(cert_file)
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise KeyConfigError(f"QR signing key {key_path}: cannot load ({exc})") from None
        _require_p256(key, str(key_path))
        cert = _load_cert(cert_path)
        if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
            raise KeyConfigError(f"QR certificate {cert_path}: does not belong to the key {key_path}")
        return cls(key, cert, issuer)  # type: ignore[arg-type]

    @classmethod
    def from_msp_dir(cls, msp_dir: Path | str, *, issuer: str = DEFAULT_ISSUER) -> AuthorityKey:
        """An enrolled identity's MSP folder: ``keystore/<one key>`` and ``signcerts/<one cert>``."""
        msp = Path(msp_dir)
        keys = sorted((msp / "keystore").glob("*"))
        certs = sorted((msp / "signcerts").glob("*.pem"))
        if len(keys) != 1 or len(certs) != 1:
            raise KeyConfigError(
                f"MSP folder {msp}: expected one key in keystore/ and one cert in signcerts/, "
                f"found {len(keys)} and {len(certs)}"
            )
        return cls.from_pem_files(keys[0], certs[0], issuer=issuer)

    @classmethod
    def load_or_create_embedded(cls, directory: Path | str, *, issuer: str = DEFAULT_ISSUER) -> AuthorityKey:
        """Embedded mode: ``qr-signer.key`` / ``qr-signer.crt`` under ``directory``, made on first use."""
        folder = Path(directory)
        key_file, cert_file = folder / "qr-signer.key", folder / "qr-signer.crt"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(folder / ".lock", "a+b") as lock:  # one key even when two processes start at once
            fcntl.flock(lock, fcntl.LOCK_EX)
            if key_file.exists() and cert_file.exists():
                return cls.from_pem_files(key_file, cert_file, issuer=issuer)
            key = ec.generate_private_key(ec.SECP256R1())
            cert = self_signed_certificate(key, issuer)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            write_file_atomically(key_file, pem, 0o600)
            write_file_atomically(cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        log.info("created the embedded QR signing key in %s", folder)
        return cls(key, cert, issuer)


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, issuer: str) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "QR issuer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyConfigError(f"QR certificate {path}: cannot load ({exc})") from None


def load_public_key(pem: bytes, *, where: str = "certificate") -> ec.EllipticCurvePublicKey:
    """A verifier's trust anchor: an X.509 certificate PEM or a bare public key PEM."""
    try:
        key = (
            x509.load_pem_x509_certificate(pem).public_key()
            if b"CERTIFICATE" in pem
            else serialization.load_pem_public_key(pem)
        )
    except ValueError as exc:
        raise KeyConfigError(f"{where}: not a PEM certificate or public key ({exc})") from None
    _require_p256(key, where)
    return key  # type: ignore[return-value]
