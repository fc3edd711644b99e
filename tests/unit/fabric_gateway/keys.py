"""Test credentials: self-signed certificates and MSP folders made with cryptography."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID


def make_cert(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, common_name: str) -> bytes:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_msp(root: Path, key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, cn: str) -> Path:
    """An MSP folder like fabric-ca-client writes: signcerts/cert.pem, keystore/<hex>_sk (+ a decoy key)."""
    (root / "signcerts").mkdir(parents=True)
    (root / "keystore").mkdir()
    (root / "signcerts" / "cert.pem").write_bytes(make_cert(key, cn))
    decoy = ec.generate_private_key(ec.SECP256R1())
    (root / "keystore" / "0000_sk").write_bytes(key_pem(decoy))
    (root / "keystore" / "abcd_sk").write_bytes(key_pem(key))
    return root
