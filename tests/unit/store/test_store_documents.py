"""Document keys in the off-chain store, on SQLite and PostgreSQL: sealed at rest, shared by the org's
replicas (a key rotated on one opens documents on the other), adopted from the earlier file layout,
and sealed by an HSM key when one is configured."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from app.documents.keystore import KeyStoreError, LocalKek, StoreKeyRing, store_org_keys
from app.documents.service import DocumentService
from app.store.database import Database, SqliteDatabase
from app.store.migrations import applied
from ipfs.envelope import Keyring, decrypt_document, encrypt_document
from ipfs.orgkeys import OrgKeys, private_raw
from ipfs.party_envelope import decrypt_as_party, encrypt_for_parties

ORGS = ["BankAMSP", "RegulatorMSP"]


def _raw_keys(db: Database) -> list[bytes]:
    with db.reading() as tx:
        rows = tx.all("SELECT sealed FROM document_master_keys") + tx.all(
            "SELECT sealed FROM document_org_keys"
        )
    return [bytes(r[0]) for r in rows]


def test_a_key_rotated_on_one_replica_opens_documents_on_the_other(
    replicas: tuple[Database, Database], tmp_path: Path
) -> None:
    kek = LocalKek(secrets.token_bytes(32))  # the org's KEK file, given to both replicas
    one, two = StoreKeyRing(replicas[0], kek), StoreKeyRing(replicas[1], kek)
    assert applied(replicas[0], "documents") == 1
    first = one.current()
    assert two.current().active == first.active and two.current().kids == first.kids
    old_doc = encrypt_document(b"title scan", document_id="DOC-1", keyring=first)
    rotated = two.rotate()
    assert rotated.active != first.active
    assert one.current().active == rotated.active  # the other replica wraps with the new key now
    new_doc = encrypt_document(b"court order", document_id="DOC-2", keyring=one.current())
    assert decrypt_document(new_doc, document_id="DOC-2", keyring=two.current()) == b"court order"
    assert decrypt_document(old_doc, document_id="DOC-1", keyring=one.current()) == b"title scan"
    # at rest: only sealed keys, none of the raw key material
    sealed = _raw_keys(replicas[0])
    assert len(sealed) == 2
    for kid in rotated.kids:
        assert not any(rotated.get(kid) in blob for blob in sealed)


def test_org_keys_are_one_pair_per_org_for_every_replica(
    replicas: tuple[Database, Database], tmp_path: Path
) -> None:
    kek = LocalKek(secrets.token_bytes(32))
    one = store_org_keys(replicas[0], kek, ORGS, tmp_path / "public")
    two = store_org_keys(replicas[1], kek, ORGS, tmp_path / "public")
    envelope = encrypt_for_parties(b"lien", document_id="D", recipients=one.recipients(ORGS))
    opened = decrypt_as_party(
        envelope, document_id="D", msp_id="BankAMSP", private_key=two.private_key("BankAMSP")
    )
    assert opened == b"lien"
    sealed = _raw_keys(replicas[0])
    assert not any(private_raw(one.private_key(m)) in blob for m in ORGS for blob in sealed)
    assert sorted(p.name for p in (tmp_path / "public").iterdir() if p.suffix == ".pub") == [
        "BankAMSP.pub",
        "RegulatorMSP.pub",
    ]


def test_another_kek_is_refused_naming_both_ids(database: Database, tmp_path: Path) -> None:
    kek = LocalKek(secrets.token_bytes(32))
    StoreKeyRing(database, kek).rotate()
    other = LocalKek(secrets.token_bytes(32))
    with pytest.raises(KeyStoreError, match=rf"sealed by KEK {kek.kek_id}, this gateway has {other.kek_id}"):
        StoreKeyRing(database, other).current()
    with database.transaction() as tx:  # a row swapped onto another key's id is refused too
        rows = tx.all("SELECT kid, sealed FROM document_master_keys ORDER BY kid")
        tx.execute("UPDATE document_master_keys SET sealed = ? WHERE kid = ?", (rows[1][1], rows[0][0]))
    with pytest.raises(KeyStoreError, match="does not open"):  # the seal binds the key's id
        StoreKeyRing(database, kek).current()


def test_a_data_dir_with_key_files_is_adopted(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    old_ring = Keyring.load_or_create(data / "keys")  # the previous release's layout, with data
    old_ring.add(secrets.token_bytes(32), make_active=True)
    (data / "keys" / f"{old_ring.active}.key").write_bytes(old_ring.get(old_ring.active))
    (data / "keys" / "ACTIVE").write_text(old_ring.active)
    old_orgs = OrgKeys.load_or_create(data / "keys" / "orgs", ORGS)
    old_doc = encrypt_document(b"old", document_id="OLD-1", keyring=Keyring.load_or_create(data / "keys"))
    old_party = encrypt_for_parties(b"party", document_id="OLD-2", recipients=old_orgs.recipients(ORGS))

    service = DocumentService.embedded(data, orgs=ORGS)
    ring = service.vault.keys.current()
    assert ring.active == old_ring.active and len(ring.kids) == 2
    assert decrypt_document(old_doc, document_id="OLD-1", keyring=ring) == b"old"
    assert service.vault.org_keys is not None
    key = service.vault.org_keys.private_key("RegulatorMSP")
    assert (
        decrypt_as_party(old_party, document_id="OLD-2", msp_id="RegulatorMSP", private_key=key) == b"party"
    )
    assert (data / "keys" / "store.kek").stat().st_mode & 0o077 == 0
    # reopened (a restart): the same keys from the store, nothing adopted twice
    again = DocumentService.embedded(data, orgs=ORGS).vault.keys.current()
    assert again.kids == ring.kids and again.active == ring.active
    db = SqliteDatabase(data / "documents.sqlite")
    with db.reading() as tx:
        assert tx.one("SELECT COUNT(*) FROM document_master_keys") == (2,)
        assert tx.one("SELECT COUNT(*) FROM document_org_keys") == (2,)
    db.close()


def test_keys_sealed_by_the_hsm_wrapping_key(tmp_path: Path) -> None:
    from app.hsm.keys import generate_wrapping_key
    from app.hsm.token import open_token
    from app.hsm.wrapping import TokenKeyWrapper
    from tests.hsm_token import session_token

    token = open_token(session_token().config)
    label = f"doc-kek-{secrets.token_hex(3)}"
    generate_wrapping_key(token, label)
    wrap = TokenKeyWrapper(token, label)
    db = SqliteDatabase(tmp_path / "documents.sqlite")
    ring = StoreKeyRing(db, wrap)
    rotated = ring.rotate()
    orgs = store_org_keys(db, wrap, ORGS, tmp_path / "public")
    with db.reading() as tx:
        assert {r[0] for r in tx.all("SELECT kek_id FROM document_master_keys")} == {f"hsm:{label}"}
    reopened = StoreKeyRing(db, TokenKeyWrapper(token, label)).current()
    assert reopened.active == rotated.active and reopened.kids == rotated.kids
    again = store_org_keys(db, wrap, ORGS, tmp_path / "public")
    assert private_raw(again.private_key("BankAMSP")) == private_raw(orgs.private_key("BankAMSP"))
    for blob in _raw_keys(db):
        assert not any(rotated.get(k) in blob for k in rotated.kids)
    db.close()
