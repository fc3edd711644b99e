"""app.users.owner_signin: the challenge document and its verification against a registered certificate
(WebCrypto's raw r‖s and DER both accepted; a certificate not valid now refuses the sign-in)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.users.owner_signin import Challenge, OwnerSignInError, sign_challenge, verify_answer

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CHALLENGE = Challenge("och_" + "a" * 32, "owner-alice0001", "nonce", NOW.timestamp() + 60)


def _owner(valid_until: datetime) -> tuple[bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "owner-alice0001")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(NOW - timedelta(days=30)).not_valid_after(valid_until)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_document_is_canonical_and_der_or_raw_signatures_verify() -> None:
    document = json.loads(CHALLENGE.document)
    assert document["purpose"] == "mledger-owner-signin/v1" and document["account_id"] == "owner-alice0001"
    assert CHALLENGE.document == json.dumps(document, sort_keys=True, separators=(",", ":"))
    key_pem, cert_pem = _owner(NOW + timedelta(days=30))
    der = sign_challenge(key_pem, CHALLENGE.document)
    verify_answer(CHALLENGE, der, cert_pem, now=NOW.timestamp())
    r, s = decode_dss_signature(base64.b64decode(der))
    raw = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()  # what WebCrypto gives
    verify_answer(CHALLENGE, raw, cert_pem, now=NOW.timestamp())
    with pytest.raises(OwnerSignInError) as bad:
        verify_answer(CHALLENGE, "not base64!", cert_pem, now=NOW.timestamp())
    assert bad.value.field == "signature" and bad.value.status == 400


def test_a_certificate_not_valid_now_refuses_the_sign_in() -> None:
    key_pem, cert_pem = _owner(NOW - timedelta(days=1))
    with pytest.raises(OwnerSignInError) as expired:
        verify_answer(CHALLENGE, sign_challenge(key_pem, CHALLENGE.document), cert_pem, now=NOW.timestamp())
    assert expired.value.field == "account_id" and expired.value.status == 403
