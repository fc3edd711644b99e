"""ClientIdentity against certificates built with `cryptography`; expected ids were produced by Go's
crypto/x509 (pkix.Name.String), which is what fabric-chaincode-go's pkg/cid uses."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2

from chaincode.runtime.errors import ContractError
from chaincode.runtime.identity import ATTRS_EXTENSION_OID, ClientIdentity, IdentityError, go_dn_string
from chaincode.runtime.testing import make_identity

A = x509.NameAttribute

FABRIC_CA_SUBJECT = x509.Name(
    [
        A(NameOID.COUNTRY_NAME, "US"),
        A(NameOID.STATE_OR_PROVINCE_NAME, "North Carolina"),
        A(NameOID.ORGANIZATION_NAME, "Hyperledger"),
        A(NameOID.ORGANIZATIONAL_UNIT_NAME, "client"),
        A(NameOID.ORGANIZATIONAL_UNIT_NAME, "banka"),
        A(NameOID.COMMON_NAME, "loan1"),
    ]
)
ODD_SUBJECT = x509.Name(
    [
        A(NameOID.COMMON_NAME, 'a,b+c "q" <x>;#'),
        A(NameOID.COUNTRY_NAME, "CN"),
        A(NameOID.EMAIL_ADDRESS, "a@b.c"),
        A(NameOID.USER_ID, "u1"),
        A(NameOID.LOCALITY_NAME, " Durham "),
        A(NameOID.SERIAL_NUMBER, "42"),
        A(NameOID.POSTAL_CODE, "27701"),
        A(NameOID.STREET_ADDRESS, "1 Main"),
        A(NameOID.TITLE, "Dr"),
    ]
)
MULTI_RDN = x509.Name(
    [
        x509.RelativeDistinguishedName(
            [A(NameOID.ORGANIZATIONAL_UNIT_NAME, "peer"), A(NameOID.ORGANIZATIONAL_UNIT_NAME, "org1")]
        ),
        x509.RelativeDistinguishedName([A(NameOID.COMMON_NAME, "peer0")]),
        x509.RelativeDistinguishedName([A(NameOID.COMMON_NAME, "second")]),
    ]
)
UNICODE = x509.Name([A(NameOID.COMMON_NAME, "车管所"), A(NameOID.ORGANIZATION_NAME, "交通")])

# Printed by a Go program: fmt.Printf("%s", cert.Subject.String()) for the same names.
GO_STRINGS = {
    "fabric_ca": "CN=loan1,OU=client+OU=banka,O=Hyperledger,ST=North Carolina,C=US",
    "odd": (
        'SERIALNUMBER=42,CN=a\\,b\\+c \\"q\\" \\<x\\>\\;#,POSTALCODE=27701,STREET=1 Main,L=\\ Durham\\ ,C=CN,'
        "2.5.4.12=#13024472,0.9.2342.19200300.100.1.1=#13027531,1.2.840.113549.1.9.1=#0c056140622e63"
    ),
    "multi": "CN=second,OU=org1+OU=peer",
    "unicode": "CN=车管所,O=交通",
}


def _cert(subject: x509.Name, issuer: x509.Name, attrs: dict[str, str] | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
    )
    if attrs is not None:
        ext = x509.UnrecognizedExtension(ATTRS_EXTENSION_OID, json.dumps({"attrs": attrs}).encode())
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (FABRIC_CA_SUBJECT, GO_STRINGS["fabric_ca"]),
        (ODD_SUBJECT, GO_STRINGS["odd"]),
        (MULTI_RDN, GO_STRINGS["multi"]),
        (UNICODE, GO_STRINGS["unicode"]),
    ],
)
def test_dn_string_matches_go(name: x509.Name, expected: str) -> None:
    cert = x509.load_pem_x509_certificate(_cert(name, UNICODE))
    assert go_dn_string(cert.subject) == expected


def test_client_id_is_fabric_format_and_attrs_are_read() -> None:
    pem = _cert(FABRIC_CA_SUBJECT, UNICODE, {"role": "loan_officer", "hf.EnrollmentID": "loan1"})
    creator = identities_pb2.SerializedIdentity(mspid="BankAMSP", id_bytes=pem).SerializeToString()
    ident = ClientIdentity(creator)
    assert ident.get_msp_id() == "BankAMSP"
    expected = f"x509::{GO_STRINGS['fabric_ca']}::{GO_STRINGS['unicode']}"
    assert ident.get_id() == base64.b64encode(expected.encode()).decode()
    assert ident.get_id_decoded() == expected
    assert ident.get_attribute_value("role") == "loan_officer"
    assert ident.get_attribute_value("missing") is None
    assert ident.get_attributes()["hf.EnrollmentID"] == "loan1"
    ident.assert_attribute_value("role", "loan_officer")
    with pytest.raises(ContractError) as err:
        ident.assert_attribute_value("role", "registrar")
    assert err.value.status == 403 and "loan_officer" in err.value.message
    with pytest.raises(ContractError, match="not found"):
        ident.assert_attribute_value("dept", "x")
    assert ident.has_ou_value("banka") and not ident.has_ou_value("peer")
    assert ident.get_x509_certificate().subject == x509.load_pem_x509_certificate(pem).subject


def test_certificate_without_attrs_extension() -> None:
    ident = ClientIdentity.from_certificate("DealerMSP", _cert(MULTI_RDN, MULTI_RDN))
    assert ident.get_attributes() == {}
    assert ident.get_attribute_value("role") is None


def test_der_certificate_is_accepted() -> None:
    pem = _cert(UNICODE, UNICODE)
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert (
        ClientIdentity.from_certificate("X", der).get_id()
        == ClientIdentity.from_certificate("X", pem).get_id()
    )


@pytest.mark.parametrize(
    "creator",
    [
        b"",
        b"\xff\xff\xff",
        identities_pb2.SerializedIdentity(mspid="X", id_bytes=b"nope").SerializeToString(),
    ],
)
def test_bad_creator_is_refused_clearly(creator: bytes) -> None:
    with pytest.raises(IdentityError) as err:
        ClientIdentity(creator)
    assert err.value.status == 400


def test_make_identity_helper() -> None:
    ident = make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"})
    parsed = ClientIdentity(ident.creator)
    assert parsed.get_attribute_value("role") == "registrar"
    assert parsed.get_id_decoded().startswith("x509::CN=officer1,OU=client,C=US::CN=ca.trafficauthoritymsp,")
