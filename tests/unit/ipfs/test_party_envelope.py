"""Version-2 envelopes: the data key wrapped per party org; only a party's own key opens a document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfs.documents import DocumentVault
from ipfs.embedded import EmbeddedContentStore
from ipfs.envelope import IntegrityError, Keyring, UnknownKey
from ipfs.orgkeys import OrgKeyError, OrgKeys
from ipfs.party_envelope import (
    KEY_REF,
    MAGIC,
    NotAParty,
    decrypt_as_party,
    encrypt_for_parties,
    envelope_parties,
)

BANK_A, BANK_B, TA, REG = "BankAMSP", "BankBMSP", "TrafficAuthorityMSP", "RegulatorMSP"


@pytest.fixture(scope="module")
def keys() -> OrgKeys:
    return OrgKeys.generate([BANK_A, BANK_B, TA, REG])


def test_each_party_opens_with_its_own_key(keys: OrgKeys) -> None:
    env = encrypt_for_parties(b"contract", document_id="D1", recipients=keys.recipients([BANK_A, TA]))
    assert env.startswith(MAGIC) and b"contract" not in env
    assert envelope_parties(env) == [BANK_A, TA]
    for msp in (BANK_A, TA):
        assert (
            decrypt_as_party(env, document_id="D1", msp_id=msp, private_key=keys.private_key(msp))
            == b"contract"
        )


def test_another_org_cannot_open_even_with_the_ciphertext(keys: OrgKeys) -> None:
    env = encrypt_for_parties(b"contract", document_id="D1", recipients=keys.recipients([BANK_A, TA]))
    with pytest.raises(NotAParty, match="BankBMSP is not one of its parties"):
        decrypt_as_party(env, document_id="D1", msp_id=BANK_B, private_key=keys.private_key(BANK_B))
    # BankB's key presented under BankA's name opens nothing either
    with pytest.raises(UnknownKey):
        decrypt_as_party(env, document_id="D1", msp_id=BANK_A, private_key=keys.private_key(BANK_B))


def test_parties_cannot_be_added_or_the_envelope_moved(keys: OrgKeys) -> None:
    env = encrypt_for_parties(b"contract", document_id="D1", recipients=keys.recipients([BANK_A]))
    with pytest.raises(IntegrityError):
        decrypt_as_party(env, document_id="D2", msp_id=BANK_A, private_key=keys.private_key(BANK_A))
    # graft BankB's wrap of another document into this header: the content's associated data breaks
    other = encrypt_for_parties(b"x", document_id="D1", recipients=keys.recipients([BANK_B]))
    hlen = int.from_bytes(env[6:8], "big")
    header = json.loads(env[8 : 8 + hlen])
    other_header = json.loads(other[8 : 8 + int.from_bytes(other[6:8], "big")])
    header["parties"][BANK_B] = other_header["parties"][BANK_B]
    raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    forged = MAGIC + len(raw).to_bytes(2, "big") + raw + env[8 + hlen :]
    with pytest.raises(IntegrityError):
        decrypt_as_party(forged, document_id="D1", msp_id=BANK_B, private_key=keys.private_key(BANK_B))


def test_vault_opens_only_with_the_readers_org_key(tmp_path: Path, keys: OrgKeys) -> None:
    """The embedded gateway holds every org's key, yet opens a document only as the caller's org."""
    vault = DocumentVault(EmbeddedContentStore(tmp_path / "ipfs"), Keyring.generate(), org_keys=keys)
    stored = vault.put("D1", b"mortgage contract", [BANK_A, TA, REG])
    assert stored.key_ref == KEY_REF and stored.parties == (BANK_A, REG, TA)
    assert (
        vault.get("D1", stored.cid, sha256=stored.sha256, key_ref=KEY_REF, reader=BANK_A)
        == b"mortgage contract"
    )
    with pytest.raises(NotAParty):
        vault.get("D1", stored.cid, sha256=stored.sha256, key_ref=KEY_REF, reader=BANK_B)
    with pytest.raises(OrgKeyError):
        vault.get("D1", stored.cid, sha256=stored.sha256, key_ref=KEY_REF, reader=None)


def test_legacy_version_1_documents_stay_readable(tmp_path: Path, keys: OrgKeys) -> None:
    ring = Keyring.generate()
    vault = DocumentVault(EmbeddedContentStore(tmp_path / "ipfs"), ring, org_keys=keys)
    old = vault.put("OLD", b"old court order")  # no parties: the consortium master key
    assert old.key_ref == ring.active
    assert (
        vault.get("OLD", old.cid, sha256=old.sha256, key_ref=old.key_ref, reader=BANK_B) == b"old court order"
    )


def test_gateway_keys_on_disk_private_per_org_public_shared(tmp_path: Path) -> None:
    shared = tmp_path / "public"
    bank_a = OrgKeys.load_or_create(tmp_path / "a", [BANK_A], shared)
    bank_b = OrgKeys.load_or_create(tmp_path / "b", [BANK_B], shared)
    assert (tmp_path / "a" / f"{BANK_A}.x25519").stat().st_mode & 0o077 == 0
    assert not (tmp_path / "a" / f"{BANK_B}.x25519").exists()
    assert bank_a.held == [BANK_A]
    # BankB's gateway learns BankA's public key (to wrap for it) but cannot open BankA's documents
    bank_b = OrgKeys.load_or_create(tmp_path / "b", [BANK_B], shared)
    env = encrypt_for_parties(b"secret", document_id="D", recipients=bank_b.recipients([BANK_A]))
    assert (
        decrypt_as_party(env, document_id="D", msp_id=BANK_A, private_key=bank_a.private_key(BANK_A))
        == b"secret"
    )
    with pytest.raises(OrgKeyError, match="holds no private key of BankAMSP"):
        bank_b.private_key(BANK_A)
    # reloading keeps the same key pair
    again = OrgKeys.load_or_create(tmp_path / "a", [BANK_A], shared)
    assert (
        decrypt_as_party(env, document_id="D", msp_id=BANK_A, private_key=again.private_key(BANK_A))
        == b"secret"
    )


def test_a_second_key_pair_for_a_published_org_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "public"
    OrgKeys.load_or_create(tmp_path / "a1", [BANK_A], shared)
    with pytest.raises(OrgKeyError, match="differs from this gateway's private key"):
        OrgKeys.load_or_create(tmp_path / "a2", [BANK_A], shared)
