"""Identity loading, tx ids, low-S normalisation and hash options, checked with cryptography."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from fabric_protos.msp import identities_pb2

from app.fabric_gateway import (
    hashing,
    load_msp_folder,
    load_pem_files,
    new_private_key_signer,
    signer_from_pem,
)
from app.fabric_gateway.identity import deserialize_identity, identity_from_pem
from app.fabric_gateway.proposal_builder import compute_transaction_id
from app.fabric_gateway.signing import curve_order, is_low_s, to_low_s

from .keys import key_pem, make_cert, write_msp

P256_N = curve_order("secp256r1")


def test_transaction_id_is_sha256_of_nonce_and_creator() -> None:
    nonce, creator = b"n" * 24, b"creator-bytes"
    assert compute_transaction_id(nonce, creator) == hashlib.sha256(nonce + creator).hexdigest()
    assert compute_transaction_id(nonce, creator) != compute_transaction_id(b"m" * 24, creator)


def test_to_low_s_flips_high_s_and_keeps_signature_valid() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    message = b"fabric"
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    high = encode_dss_signature(r, s if s > P256_N // 2 else P256_N - s)
    assert not is_low_s(high, P256_N)
    low = to_low_s(high, P256_N)
    assert is_low_s(low, P256_N)
    key.public_key().verify(low, message, ec.ECDSA(hashes.SHA256()))  # raises if invalid
    assert to_low_s(low, P256_N) == low


def test_ecdsa_signer_signs_digest_low_s_every_time() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = new_private_key_signer(key)
    assert signer.preferred_hash is hashing.sha256
    for i in range(64):  # about half of raw ECDSA signatures are high-S
        message = f"message {i}".encode()
        signature = signer(hashing.sha256(message))
        assert is_low_s(signature, P256_N)
        key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_p384_signer_uses_sha384() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    signer = new_private_key_signer(key)
    assert signer.preferred_hash is hashing.sha384
    signature = signer(hashing.sha384(b"m"))
    key.public_key().verify(signature, b"m", ec.ECDSA(hashes.SHA384()))
    assert is_low_s(signature, curve_order("secp384r1"))


def test_ed25519_signer_signs_the_message_itself() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signer = signer_from_pem(key_pem(key))
    assert signer.preferred_hash is hashing.none
    signature = signer(hashing.none(b"whole message"))
    key.public_key().verify(signature, b"whole message")


def test_hash_functions() -> None:
    assert hashing.sha256(b"a") == hashlib.sha256(b"a").digest()
    assert hashing.sha384(b"a") == hashlib.sha384(b"a").digest()
    assert hashing.sha3_256(b"a") == hashlib.sha3_256(b"a").digest()
    assert hashing.sha3_384(b"a") == hashlib.sha3_384(b"a").digest()
    assert hashing.none(b"a") == b"a"


def test_load_msp_folder_picks_the_key_matching_the_certificate(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msp = write_msp(tmp_path / "msp", key, "officer1")
    identity, signer = load_msp_folder(msp, "TrafficAuthorityMSP")
    assert identity.msp_id == "TrafficAuthorityMSP"
    assert identity.credentials == (msp / "signcerts" / "cert.pem").read_bytes()
    signature = signer(hashing.sha256(b"x"))
    key.public_key().verify(signature, b"x", ec.ECDSA(hashes.SHA256()))


def test_load_msp_folder_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="signcerts"):
        load_msp_folder(tmp_path, "X")
    msp = write_msp(tmp_path / "msp", ec.generate_private_key(ec.SECP256R1()), "u")
    (msp / "keystore" / "abcd_sk").unlink()
    with pytest.raises(FileNotFoundError, match="no key"):
        load_msp_folder(msp, "X")


def test_load_pem_files_refuses_mismatched_pair(tmp_path: Path) -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "cert.pem").write_bytes(make_cert(key, "u"))
    (tmp_path / "key.pem").write_bytes(key_pem(other))
    with pytest.raises(ValueError, match="does not match"):
        load_pem_files("BankAMSP", tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "key.pem").write_bytes(key_pem(key))
    identity, _ = load_pem_files("BankAMSP", tmp_path / "cert.pem", tmp_path / "key.pem")
    assert identity.msp_id == "BankAMSP"


def test_identity_serializes_as_fabric_serialized_identity() -> None:
    cert = make_cert(ec.generate_private_key(ec.SECP256R1()), "u")
    identity = identity_from_pem("BankBMSP", cert.decode())
    parsed = identities_pb2.SerializedIdentity.FromString(identity.serialize())
    assert (parsed.mspid, parsed.id_bytes) == ("BankBMSP", cert)
    assert deserialize_identity(identity.serialize()) == identity


@pytest.mark.parametrize(
    ("msp_id", "pem", "field"),
    [("", b"-----BEGIN CERTIFICATE-----", "msp_id"), ("X", b"junk", "credentials")],
)
def test_identity_validation(msp_id: str, pem: bytes, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        identity_from_pem(msp_id, pem)


def test_unsupported_key_type_is_refused() -> None:
    with pytest.raises(TypeError, match="unsupported"):
        new_private_key_signer(object())
    with pytest.raises(ValueError, match="private key"):
        signer_from_pem(b"not a key")
