"""The submitter's identity, as fabric-chaincode-go's ``pkg/cid`` presents it.

Built from the creator bytes (``msp.SerializedIdentity``: MSP ID + PEM certificate). ``get_id()`` is
Fabric's client id, ``base64("x509::" + subject DN + "::" + issuer DN)``, with each DN rendered the way
Go's ``pkix.Name.String()`` renders it (so ids match those computed by Go chaincode and by clients).
Attributes come from the fabric-ca extension (OID 1.2.3.4.5.6.7.8.1, JSON ``{"attrs": {...}}``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID, ObjectIdentifier
from fabric_protos.msp import identities_pb2

from .errors import ContractError

ATTRS_EXTENSION_OID = ObjectIdentifier("1.2.3.4.5.6.7.8.1")

# Go's attributeTypeNames (crypto/x509/pkix): the only types printed by name.
_TYPE_NAMES: dict[str, str] = {
    "2.5.4.6": "C",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.3": "CN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.17": "POSTALCODE",
}
# The order in which Go's Name.ToRDNSequence() emits the parsed fields (reversed when printed).
_FIELD_ORDER: list[str] = [
    NameOID.COUNTRY_NAME.dotted_string,
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string,
    NameOID.LOCALITY_NAME.dotted_string,
    NameOID.STREET_ADDRESS.dotted_string,
    NameOID.POSTAL_CODE.dotted_string,
    NameOID.ORGANIZATION_NAME.dotted_string,
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string,
]
_SINGLE_VALUED = [NameOID.COMMON_NAME.dotted_string, NameOID.SERIAL_NUMBER.dotted_string]
_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


class IdentityError(ContractError):
    """The creator bytes are not an X.509 identity this runtime can read."""

    default_status = 400


def _escape(value: str) -> str:
    """RFC 2253 escaping exactly as Go's ``RDNSequence.String``."""
    out: list[str] = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        escape = ch in ',+"\\<>;' or (ch == " " and (i == 0 or i == last)) or (ch == "#" and i == 0)
        out.append("\\" + ch if escape else ch)
    return "".join(out)


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _go_asn1_marshal_string(value: str) -> bytes:
    """What Go's ``asn1.Marshal(string)`` produces: PrintableString when possible, else UTF8String."""
    data = value.encode("utf-8")
    tag = 0x13 if all(ch in _PRINTABLE for ch in value) else 0x0C
    return bytes([tag]) + _der_length(len(data)) + data


def go_dn_string(name: x509.Name) -> str:
    """Render a distinguished name like Go's ``pkix.Name.String()`` (as parsed from a certificate)."""
    attrs = [(a.oid.dotted_string, str(a.value)) for a in name]
    by_type: dict[str, list[str]] = {}
    for oid, value in attrs:
        by_type.setdefault(oid, []).append(value)
    # Go: non-standard attributes first in the sequence (so last in the string), then parsed fields.
    rdns: list[list[tuple[str, str]]] = [[(oid, v)] for oid, v in attrs if oid not in _TYPE_NAMES]
    for oid in _FIELD_ORDER:
        if by_type.get(oid):
            rdns.append([(oid, v) for v in by_type[oid]])
    for oid in _SINGLE_VALUED:  # Go keeps only the last CN / SERIALNUMBER
        values = [v for v in by_type.get(oid, []) if v]
        if values:
            rdns.append([(oid, values[-1])])
    parts: list[str] = []
    for rdn in reversed(rdns):
        items: list[str] = []
        for oid, value in rdn:
            type_name = _TYPE_NAMES.get(oid)
            if type_name is None:
                items.append(f"{oid}=#{_go_asn1_marshal_string(value).hex()}")
            else:
                items.append(f"{type_name}={_escape(value)}")
        parts.append("+".join(items))
    return ",".join(parts)


class _ParsedCertificate:
    """What the runtime reads from one creator certificate, parsed once: a client signs every
    transaction with the same certificate, and parsing it (its extensions above all) is most of an
    identity check's cost. Immutable, so one parse serves every transaction that carries it."""

    __slots__ = ("_attributes", "_client_id", "certificate")

    def __init__(self, certificate: x509.Certificate) -> None:
        self.certificate = certificate
        self._client_id: str | None = None
        self._attributes: Mapping[str, str] | None = None

    @property
    def client_id(self) -> str:
        if self._client_id is None:
            cert = self.certificate
            raw = f"x509::{go_dn_string(cert.subject)}::{go_dn_string(cert.issuer)}"
            self._client_id = base64.b64encode(raw.encode("utf-8")).decode("ascii")
        return self._client_id

    @property
    def attributes(self) -> Mapping[str, str]:
        """fabric-ca attributes; a malformed extension raises on every read (never cached as empty)."""
        if self._attributes is None:
            self._attributes = MappingProxyType(_read_attributes(self.certificate))
        return self._attributes


def _read_attributes(cert: x509.Certificate) -> dict[str, str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ATTRS_EXTENSION_OID)
    except x509.ExtensionNotFound:
        return {}
    raw = ext.value.value if isinstance(ext.value, x509.UnrecognizedExtension) else b""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise IdentityError(f"certificate attribute extension is not JSON: {exc}") from exc
    attrs = doc.get("attrs") if isinstance(doc, dict) else None
    if not isinstance(attrs, dict):
        return {}
    return {str(k): str(v) for k, v in attrs.items()}


@lru_cache(maxsize=4096)
def _parse_certificate(id_bytes: bytes) -> _ParsedCertificate:
    """The creator's certificate, PEM or DER; refusals are not cached (lru_cache keeps only results)."""
    try:
        cert = x509.load_pem_x509_certificate(id_bytes)
    except ValueError:
        try:
            cert = x509.load_der_x509_certificate(id_bytes)
        except ValueError as exc:
            raise IdentityError("creator certificate is neither PEM nor DER X.509") from exc
    return _ParsedCertificate(cert)


class ClientIdentity:
    """The transaction submitter: MSP ID, certificate, client id and fabric-ca attributes."""

    def __init__(self, creator: bytes) -> None:
        if not creator:
            raise IdentityError("the transaction has no creator identity")
        sid = identities_pb2.SerializedIdentity()
        try:
            sid.ParseFromString(creator)
        except Exception as exc:  # protobuf DecodeError
            raise IdentityError(f"creator is not a serialized identity: {exc}") from exc
        self._msp_id: str = sid.mspid
        self._id_bytes = bytes(sid.id_bytes)
        self._parsed = _parse_certificate(self._id_bytes)

    @classmethod
    def from_certificate(cls, msp_id: str, cert_pem: bytes) -> ClientIdentity:
        """Build from an MSP ID and a PEM certificate (handy for hosts and tests)."""
        sid = identities_pb2.SerializedIdentity(mspid=msp_id, id_bytes=cert_pem)
        return cls(sid.SerializeToString())

    def get_msp_id(self) -> str:
        return self._msp_id

    @property
    def _cert(self) -> x509.Certificate:
        return self._parsed.certificate

    @property
    def _client_id(self) -> str:
        return self._parsed.client_id

    def get_id(self) -> str:
        """Fabric's client id: base64 of ``x509::<subject DN>::<issuer DN>``."""
        return self._client_id

    def get_id_decoded(self) -> str:
        """The client id before base64 (readable, for messages and logs at DEBUG)."""
        return base64.b64decode(self._client_id).decode("utf-8")

    def get_x509_certificate(self) -> x509.Certificate:
        return self._cert

    def get_certificate_pem(self) -> bytes:
        return self._cert.public_bytes(Encoding.PEM)

    @property
    def _attrs(self) -> Mapping[str, str]:
        return self._parsed.attributes

    def get_attributes(self) -> dict[str, str]:
        """Every fabric-ca attribute in the certificate (a copy)."""
        return dict(self._attrs)

    def get_attribute_value(self, name: str) -> str | None:
        """The attribute's value, or None when the certificate does not carry it."""
        return self._attrs.get(name)

    def assert_attribute_value(self, name: str, value: str) -> None:
        """Raise a 403 ContractError unless the attribute is present with exactly ``value``."""
        actual = self._attrs.get(name)
        if actual is None:
            raise ContractError(f"attribute '{name}' was not found", status=403)
        if actual != value:
            raise ContractError(
                f"attribute '{name}' equals '{actual}' instead of the expected value '{value}'", status=403
            )

    def has_ou_value(self, ou: str) -> bool:
        """Whether the subject carries this organizational unit (Go's ``HasOUValue``)."""
        return any(
            a.value == ou for a in self._cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        )

    def __repr__(self) -> str:
        return f"ClientIdentity(msp_id={self._msp_id!r})"
