"""``mledger ops backup`` / ``verify`` on a real gateway's data (embedded ledger, SQLite stores)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.ops.backup import BackupSources, backup, verify
from app.ops.backup_crypto import BackupError, new_key
from tests.unit.api.builders import Api


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "backup.key"
    new_key(path)
    return path


def _backed_up(api: Api, tmp_path: Path, key_file: Path) -> Path:
    settings = api.gw.settings
    api.headers("admin@BankAMSP")  # a login: users exist in users.sqlite
    sources = BackupSources(
        "BankAMSP", gateway_dir=settings.data_dir, ledger_dir=settings.embedded_ledger_dir
    )
    result = backup(sources, tmp_path / "out", key_file)
    assert result.path.name.startswith("mledger-BankAMSP-") and result.size > 0
    print(f"backup: {result.size} bytes, {result.members} files, {result.seconds:.2f}s")
    return result.path


def test_backup_then_verify_restores_stores_and_the_chain(api: Api, tmp_path: Path, key_file: Path) -> None:
    archive = _backed_up(api, tmp_path, key_file)
    assert b"users" not in archive.read_bytes()[200:]  # encrypted: no table names in clear
    restored = tmp_path / "restored"
    report = verify(archive, key_file, extract_to=restored)
    assert report.org == "BankAMSP" and {"gateway", "ledger"} <= set(report.parts)
    assert report.ledger_height is not None and report.ledger_height >= 1
    users = sqlite3.connect(restored / "gateway" / "users.sqlite")
    assert users.execute("SELECT count(*) FROM users WHERE username = 'admin'").fetchone()[0] >= 1


def test_verify_detects_tampering(api: Api, tmp_path: Path, key_file: Path) -> None:
    archive = _backed_up(api, tmp_path, key_file)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="SHA-256 differs"):
        verify(archive, key_file)
    # an attacker who also rewrites the checksum file is stopped by the authenticated encryption
    import hashlib

    sidecar = archive.with_name(archive.name + ".sha256")
    sidecar.write_text(f"{hashlib.sha256(bytes(data)).hexdigest()}  {archive.name}\n")
    with pytest.raises(BackupError, match="authentication failed"):
        verify(archive, key_file)


def test_verify_refuses_the_wrong_key_and_truncation(api: Api, tmp_path: Path, key_file: Path) -> None:
    archive = _backed_up(api, tmp_path, key_file)
    other = tmp_path / "other.key"
    new_key(other)
    with pytest.raises(BackupError, match="wrong key"):
        verify(archive, other)
    import hashlib

    cut = archive.read_bytes()[:-100]
    archive.write_bytes(cut)
    archive.with_name(archive.name + ".sha256").write_text(f"{hashlib.sha256(cut).hexdigest()}  x\n")
    with pytest.raises(BackupError, match=r"truncated|authentication"):
        verify(archive, key_file)


def test_cli_backup_and_verify(api: Api, tmp_path: Path, key_file: Path) -> None:
    settings = api.gw.settings
    runner = CliRunner()
    out = runner.invoke(
        cli,
        ["ops", "backup", "--org", "BankAMSP", "--key-file", str(key_file), "--out", str(tmp_path / "o"),
         "--gateway-dir", str(settings.data_dir)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    archive = Path(out.output.split("\t")[0])
    checked = runner.invoke(cli, ["ops", "verify", str(archive), "--key-file", str(key_file)])
    assert checked.exit_code == 0 and checked.output.startswith("OK BankAMSP"), checked.output


def test_the_stores_that_moved_off_files_are_backed_up_and_open_after_restore(
    tmp_path: Path, key_file: Path
) -> None:
    """The notifier's state, the sealed document keys (with their KEK) and issued certificates are
    SQLite stores of the data dir: copied online, and the restored copy opens with the same keys."""
    from app.documents.service import DocumentService
    from app.notifications.models import EventPosition
    from app.notifications.store import SqliteNotificationStore
    from app.services.certificates import CertificateStore
    from ipfs.envelope import decrypt_document, encrypt_document

    data = tmp_path / "gw"
    ring = DocumentService.embedded(data, orgs=["BankAMSP"]).vault.keys.current()
    sealed_doc = encrypt_document(b"title", document_id="DOC-1", keyring=ring)
    notes = SqliteNotificationStore(data / "notifications.sqlite")
    notes.record_event(EventPosition(12, "tx12"), [], [])
    certs = CertificateStore(data / "certificates.sqlite")
    cert = {
        "certificate_number": "SC-1",
        "vin": "V",
        "requested_by": {"msp_id": "BankAMSP"},
        "issued_at": "t",
    }
    certs.put({"certificate": cert})
    result = backup(BackupSources("BankAMSP", gateway_dir=data), tmp_path / "out", key_file)
    notes.close()
    certs.close()
    restored = tmp_path / "restored"
    verify(result.path, key_file, extract_to=restored)
    gateway = restored / "gateway"
    assert (gateway / "keys" / "store.kek").is_file()
    reopened = DocumentService.embedded(gateway, orgs=["BankAMSP"]).vault.keys.current()
    assert decrypt_document(sealed_doc, document_id="DOC-1", keyring=reopened) == b"title"
    assert SqliteNotificationStore(gateway / "notifications.sqlite").checkpoint() == (12, "tx12")
    assert CertificateStore(gateway / "certificates.sqlite").get("SC-1") == {"certificate": cert}
