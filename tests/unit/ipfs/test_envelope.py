"""AES-256-GCM document envelopes: round trip, binding to the document id, tamper detection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ipfs.envelope import (
    MAGIC,
    Envelope,
    IntegrityError,
    Keyring,
    MalformedEnvelope,
    UnknownKey,
    decrypt_document,
    encrypt_document,
    envelope_key_ref,
)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


def test_round_trip_and_fresh_nonces(keyring: Keyring) -> None:
    text = os.urandom(100_000)
    one = encrypt_document(text, document_id="DOC-1", keyring=keyring)
    two = encrypt_document(text, document_id="DOC-1", keyring=keyring)
    assert one != two  # fresh data key and nonce each time
    assert text not in one
    assert decrypt_document(one, document_id="DOC-1", keyring=keyring) == text
    assert envelope_key_ref(one) == keyring.active
    env = Envelope.parse(one)
    assert len(env.nonce) == 12 and len(env.ciphertext) == len(text) + 16


def test_other_document_id_is_refused(keyring: Keyring) -> None:
    blob = encrypt_document(b"lien release order", document_id="LIEN-7/court-order", keyring=keyring)
    with pytest.raises(IntegrityError, match="LIEN-8/court-order"):
        decrypt_document(blob, document_id="LIEN-8/court-order", keyring=keyring)


def test_flipped_ciphertext_bit_is_detected(keyring: Keyring) -> None:
    blob = bytearray(encrypt_document(b"x" * 64, document_id="D", keyring=keyring))
    blob[-20] ^= 0x01
    with pytest.raises(IntegrityError, match="integrity check failed"):
        decrypt_document(bytes(blob), document_id="D", keyring=keyring)


def test_altered_header_is_detected(keyring: Keyring) -> None:
    blob = encrypt_document(b"payload", document_id="D", keyring=keyring)
    env = Envelope.parse(blob)
    header = json.loads(env.header_bytes)
    header["n"] = header["wn"]  # swap in another valid-looking nonce
    new_header = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    forged = MAGIC + len(new_header).to_bytes(2, "big") + new_header + env.ciphertext
    with pytest.raises(IntegrityError):
        decrypt_document(forged, document_id="D", keyring=keyring)


def test_unknown_key_reference(keyring: Keyring) -> None:
    blob = encrypt_document(b"payload", document_id="D", keyring=keyring)
    with pytest.raises(UnknownKey, match=keyring.active):
        decrypt_document(blob, document_id="D", keyring=Keyring.generate())


def test_rotation_keeps_old_documents_readable(keyring: Keyring) -> None:
    old = encrypt_document(b"old", document_id="D", keyring=keyring)
    old_kid = keyring.active
    new_kid = keyring.add(os.urandom(32), make_active=True)
    new = encrypt_document(b"new", document_id="D", keyring=keyring)
    assert (envelope_key_ref(old), envelope_key_ref(new)) == (old_kid, new_kid)
    assert decrypt_document(old, document_id="D", keyring=keyring) == b"old"
    assert decrypt_document(new, document_id="D", keyring=keyring) == b"new"


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "magic"),
        (b"PLAINTEXT PDF", "magic"),
        (MAGIC + b"\x00\x09{}abc", "header: truncated"),
        (MAGIC + b"\x00\x02[]" + b"\0" * 16, "not a JSON object"),
        (MAGIC + b"\x00\x0f" + b'{"alg":"none"}\n' + b"\0" * 16, "'alg'"),
    ],
)
def test_malformed_envelopes_name_the_part(keyring: Keyring, blob: bytes, reason: str) -> None:
    with pytest.raises(MalformedEnvelope, match=reason):
        decrypt_document(blob, document_id="D", keyring=keyring)


def test_empty_document_id_is_refused(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="document_id"):
        encrypt_document(b"x", document_id="", keyring=keyring)


def test_keyring_persists_with_private_files(tmp_path: Path) -> None:
    first = Keyring.load_or_create(tmp_path / "keys")
    blob = encrypt_document(b"kept", document_id="D", keyring=first)
    again = Keyring.load_or_create(tmp_path / "keys")
    assert again.active == first.active
    assert decrypt_document(blob, document_id="D", keyring=again) == b"kept"
    key_file = tmp_path / "keys" / f"{first.active}.key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert "key" not in repr(again).replace("kids", "")  # no key bytes in repr


def test_concurrent_first_start_makes_one_master_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[3]
    code = "import sys; from ipfs import Keyring; print(Keyring.load_or_create(sys.argv[1]).active)"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "keys")], cwd=repo, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    kids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(kids) == 1 and "" not in kids
    assert len(list((tmp_path / "keys").glob("*.key"))) == 1
