"""Embedded-mode identities: a per-org CA that issues real X.509 certificates like fabric-ca does.

The embedded ledger has no fabric-ca, yet the contract's ClientIdentity must parse the caller's
certificate exactly as on the real network (MSP id, ``x509::subject::issuer`` id, the fabric-ca
attributes extension OID 1.2.3.4.5.6.7.8.1 holding ``{"attrs": {...}}``). So each org gets a CA key
generated once under the data dir, and every user and endorsing peer gets a certificate from it.
NodeOUs are modelled as on fabric-ca: the subject's OU is ``client``, ``peer`` or ``admin``.

The gateway's user admin reuses :class:`IdentityIssuer` to enrol users in embedded mode.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2

from app.data_files import secure_dir

logger = logging.getLogger(__name__)

FABRIC_CA_ATTRS_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class IssuedIdentity:
    """A certificate with its private key, as an MSP folder's signcerts/keystore would hold."""

    msp_id: str
    name: str
    cert_pem: bytes
    key_pem: bytes

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        return _load_key(self.key_pem)

    def serialized(self) -> bytes:
        """``msp.SerializedIdentity`` bytes: what Fabric calls the creator / endorser."""
        return serialized_identity(self.msp_id, self.cert_pem)


@functools.lru_cache(maxsize=1024)
def _load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def serialized_identity(msp_id: str, cert_pem: bytes) -> bytes:
    return identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=cert_pem).SerializeToString()


def node_ou(role: str | None) -> str:
    """fabric-ca's identity type (NodeOU) for a user with this role attribute."""
    return "admin" if role == "admin" else "client"


class IdentityIssuer:
    """Per-org CAs and the identities they issued, persisted under ``<data_dir>/<msp_id>/``.

    Issuing is idempotent: the same (org, name, OU, attributes) returns the stored identity; changed
    attributes re-issue the certificate (as re-enrolling with new attributes would).
    """

    def __init__(self, data_dir: Path) -> None:
        self._root = Path(data_dir)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str, str], IssuedIdentity] = {}

    # --- public API --------------------------------------------------------------------
    def ca_certificate(self, msp_id: str) -> bytes:
        """The org CA's certificate (PEM): the root a verifier trusts for this MSP."""
        with self._lock, self._org_lock(msp_id):
            return self._ca(msp_id)[1].public_bytes(serialization.Encoding.PEM)

    def issue(
        self, msp_id: str, name: str, attributes: dict[str, str] | None = None, ou: str | None = None
    ) -> IssuedIdentity:
        """The identity of ``name`` in ``msp_id``, issuing its certificate on first use."""
        _check_name("msp_id", msp_id)
        _check_name("name", name)
        attrs = dict(attributes or {})
        ou = ou or node_ou(attrs.get("role"))
        cache_key = (msp_id, name, ou, json.dumps(attrs, sort_keys=True))
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        with self._lock, self._org_lock(msp_id):
            identity = self._load_or_issue(msp_id, name, ou, attrs)
            self._cache[cache_key] = identity
            return identity

    def peer(self, msp_id: str) -> IssuedIdentity:
        """The endorsing peer identity of an org (NodeOU ``peer``), used to sign endorsements."""
        return self.issue(msp_id, f"peer0.{msp_id.removesuffix('MSP').lower()}", {}, ou="peer")

    # --- internals ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _org_lock(self, msp_id: str):  # type: ignore[no-untyped-def]
        """Serialise CA creation and issuing across processes sharing the folder."""
        fd = os.open(self._org_dir(msp_id) / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _org_dir(self, msp_id: str) -> Path:
        path = self._root / msp_id
        return secure_dir(path)

    def _ca(self, msp_id: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        org_dir = self._org_dir(msp_id)
        key_path, cert_path = org_dir / "ca-key.pem", org_dir / "ca-cert.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        org = msp_id.removesuffix("MSP").lower()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{org}.vehicles.local"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"ca.{org}.vehicles.local"),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        logger.info("generated embedded CA for %s", msp_id)
        return key, cert

    def _load_or_issue(self, msp_id: str, name: str, ou: str, attrs: dict[str, str]) -> IssuedIdentity:
        user_dir = self._org_dir(msp_id) / "users" / f"{name}.{ou}"
        cert_path, key_path, attrs_path = user_dir / "cert.pem", user_dir / "key.pem", user_dir / "attrs.json"
        wanted = json.dumps(attrs, sort_keys=True)
        if cert_path.exists() and key_path.exists() and attrs_path.exists():
            if attrs_path.read_text() == wanted:
                return IssuedIdentity(msp_id, name, cert_path.read_bytes(), key_path.read_bytes())
            key_pem = key_path.read_bytes()
            loaded = serialization.load_pem_private_key(key_pem, password=None)
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)
            key = loaded
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            key_pem = _key_pem(key)
        ca_key, ca_cert = self._ca(msp_id)
        cert_pem = _issue_cert(ca_key, ca_cert, key, name, ou, attrs)
        secure_dir(user_dir)
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem)
        _write_private(attrs_path, wanted.encode())
        return IssuedIdentity(msp_id, name, cert_pem, key_pem)


def _issue_cert(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    name: str,
    ou: str,
    attrs: dict[str, str],
) -> bytes:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    # fabric-ca always adds these three to the ecert attributes; ``role`` comes from registration.
    all_attrs = {"hf.Affiliation": "", "hf.EnrollmentID": name, "hf.Type": ou, **attrs}
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(
            x509.UnrecognizedExtension(
                FABRIC_CA_ATTRS_OID, json.dumps({"attrs": all_attrs}, separators=(",", ":")).encode()
            ),
            critical=False,
        )
    )
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def certificate_ou(cert_pem: bytes) -> str | None:
    """The NodeOU of a certificate (first OU in its subject), as an MSP with NodeOUs classifies it."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    for attribute in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        value = attribute.value
        if isinstance(value, str) and value in {"client", "peer", "admin", "orderer"}:
            return value
    return None


def _check_name(field: str, value: str) -> None:
    if not _SAFE_NAME.match(value):
        raise ValueError(f"{field} {value!r} is invalid: use 1-64 letters, digits, '.', '_', '@' or '-'")


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only (0600 file, 0700 folders): the identity store lives in the gateway's data dir."""
    secure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)
