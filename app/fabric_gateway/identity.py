"""Client identities: an MSP ID plus an X.509 certificate, serialized as Fabric's ``creator``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from fabric_protos.msp import identities_pb2


@dataclass(frozen=True, slots=True)
class Identity:
    """An X.509 identity of one MSP: ``credentials`` is the PEM-encoded certificate."""

    msp_id: str
    credentials: bytes

    def __post_init__(self) -> None:
        if not self.msp_id:
            raise ValueError("msp_id: must not be empty")
        if b"-----BEGIN CERTIFICATE-----" not in self.credentials:
            raise ValueError("credentials: not a PEM certificate")

    def serialize(self) -> bytes:
        """The ``SerializedIdentity`` bytes the peer reads as the creator of a request."""
        identity = identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.credentials)
        return bytes(identity.SerializeToString())

    def certificate(self) -> x509.Certificate:
        """The parsed certificate (for its public key, subject, fabric-ca attributes)."""
        return x509.load_pem_x509_certificate(self.credentials)


def identity_from_pem(msp_id: str, certificate_pem: bytes | str) -> Identity:
    """An identity from a PEM certificate (bytes or text); the PEM is checked to parse."""
    pem = certificate_pem.encode() if isinstance(certificate_pem, str) else bytes(certificate_pem)
    identity = Identity(msp_id, pem)
    try:
        identity.certificate()
    except ValueError as exc:
        raise ValueError(f"credentials: certificate does not parse: {exc}") from exc
    return identity


def identity_from_cert_file(msp_id: str, path: str | Path) -> Identity:
    """An identity from a PEM certificate file."""
    return identity_from_pem(msp_id, Path(path).read_bytes())


def deserialize_identity(creator: bytes) -> Identity:
    """The inverse of :meth:`Identity.serialize` (used to read the creator of events and blocks)."""
    message = identities_pb2.SerializedIdentity()
    message.ParseFromString(creator)
    return Identity(message.mspid, message.id_bytes)
