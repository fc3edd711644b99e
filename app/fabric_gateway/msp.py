"""Load an identity and its signer from an MSP folder (``signcerts/`` + ``keystore/``)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from .identity import Identity, identity_from_pem
from .signing import PrivateKeySigner, load_private_key, new_private_key_signer


def _public_der(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_msp_folder(msp_dir: str | Path, msp_id: str) -> tuple[Identity, PrivateKeySigner]:
    """Read the first certificate in ``signcerts/`` and the ``keystore/`` key that matches it.

    fabric-ca-client and cryptogen both write this layout; the key file name varies (``*_sk``,
    ``priv_sk``, ``key.pem``), so keys are matched to the certificate by public key.
    """
    root = Path(msp_dir)
    certs = sorted(p for p in (root / "signcerts").glob("*") if p.is_file())
    if not certs:
        raise FileNotFoundError(f"msp_dir: no certificate in {root / 'signcerts'}")
    identity = identity_from_pem(msp_id, certs[0].read_bytes())
    wanted = _public_der(identity.certificate().public_key())
    keys = sorted(p for p in (root / "keystore").glob("*") if p.is_file())
    for path in keys:
        try:
            key = load_private_key(path.read_bytes())
        except ValueError:
            continue
        if _public_der(key.public_key()) == wanted:
            return identity, new_private_key_signer(key)
    raise FileNotFoundError(f"msp_dir: no key in {root / 'keystore'} matches {certs[0].name}")


def load_pem_files(
    msp_id: str, cert_path: str | Path, key_path: str | Path
) -> tuple[Identity, PrivateKeySigner]:
    """An identity and signer from a certificate file and a key file (checked to belong together)."""
    identity = identity_from_pem(msp_id, Path(cert_path).read_bytes())
    key = load_private_key(Path(key_path).read_bytes())
    if _public_der(key.public_key()) != _public_der(identity.certificate().public_key()):
        raise ValueError(f"key_path: {key_path} does not match the certificate {cert_path}")
    return identity, new_private_key_signer(key)
