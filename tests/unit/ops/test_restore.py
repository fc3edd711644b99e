"""``mledger ops restore``: back up a gateway, destroy its data, restore, and serve from the restored folder
(SQLite store and PostgreSQL store); refused archives and targets write nothing; a crash mid-restore
leaves no half-restored folder."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.ops.backup import BackupSources, backup, verify
from app.ops.backup_crypto import BackupError, decrypt_stream, encrypt_stream, new_key, read_key
from app.ops.pgdump import pg_list
from app.ops.restore import RestoreTargets, restore
from tests.unit.ops.restore_scenario import Store, check_state, gateway, write_state
from tests.unit.store.postgres import PostgresServer


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "backup.key"
    new_key(path)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "sqlite":
        return Store()
    server: PostgresServer = request.getfixturevalue("postgres")
    return Store(server, server.new_database())


def test_restore_after_the_data_is_destroyed_serves_as_before(
    store: Store, tmp_path: Path, key_file: Path
) -> None:
    data_dir = tmp_path / "gw"
    with gateway(store, data_dir) as client:
        written = write_state(client)
        result = backup(store.sources(data_dir), tmp_path / "out", key_file)
        report = verify(result.path, key_file)
    assert ("gateway" in report.parts) and report.ledger_height is not None
    shutil.rmtree(data_dir)  # the site is gone (PostgreSQL: the gateway gets a fresh database)
    fresh = store.fresh()
    new_dir = tmp_path / "new" / "gw"
    restored = restore(result.path, key_file, fresh.targets(new_dir))
    assert restored.ledger_height == report.ledger_height  # re-verified where it now lives
    assert restored.store_restored is (store.postgres is not None)
    assert not (new_dir / "store.pgdump").exists()
    assert not list(new_dir.parent.glob(".gw.restoring-*"))
    with gateway(fresh, new_dir) as client:
        check_state(client, written)


def test_the_postgres_dump_is_in_the_archive_and_listed(
    postgres: PostgresServer, tmp_path: Path, key_file: Path
) -> None:
    store = Store(postgres, postgres.new_database())
    with gateway(store, tmp_path / "gw") as client:
        write_state(client)
        result = backup(store.sources(tmp_path / "gw"), tmp_path / "out", key_file)
    out = tmp_path / "x"
    verify(result.path, key_file, extract_to=out)
    listing = pg_list(out / "gateway" / "store.pgdump")
    assert any("TABLE DATA public users" in line for line in listing)
    assert any("TABLE DATA public qr_codes" in line or "qr" in line for line in listing)
    assert not (out / "gateway" / "users.sqlite").exists()  # the users live in PostgreSQL


def test_a_store_in_use_is_refused_without_force(
    postgres: PostgresServer, tmp_path: Path, key_file: Path
) -> None:
    store = Store(postgres, postgres.new_database())
    with gateway(store, tmp_path / "gw") as client:
        write_state(client)
        result = backup(store.sources(tmp_path / "gw"), tmp_path / "out", key_file)
    with pytest.raises(BackupError, match="store_url: the database already holds"):
        restore(result.path, key_file, store.targets(tmp_path / "new"))
    assert not (tmp_path / "new").exists()
    forced = restore(result.path, key_file, store.targets(tmp_path / "new", force=True))
    assert forced.store_restored


@pytest.fixture
def archive(tmp_path: Path, key_file: Path) -> Path:
    data_dir = tmp_path / "gw"
    with gateway(Store(), data_dir) as client:
        write_state(client)
    return backup(Store().sources(data_dir), tmp_path / "out", key_file).path


def _rewrite_sidecar(path: Path) -> None:
    path.with_name(path.name + ".sha256").write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  x\n")


def test_a_tampered_or_truncated_archive_writes_nothing(
    archive: Path, key_file: Path, tmp_path: Path
) -> None:
    target = tmp_path / "new"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"SHA-256 differs from .*\.sha256"):
        restore(archive, key_file, Store().targets(target))
    _rewrite_sidecar(archive)  # the checksum rewritten too: the encryption's authentication refuses
    with pytest.raises(BackupError, match=r"chunk \d+: authentication failed"):
        restore(archive, key_file, Store().targets(target))
    archive.write_bytes(bytes(data[: len(data) // 3]))
    _rewrite_sidecar(archive)
    with pytest.raises(BackupError, match=r"truncated|authentication failed"):
        restore(archive, key_file, Store().targets(target))
    assert not target.exists() and not list(tmp_path.glob(".new.restoring-*"))


def test_a_member_altered_by_a_key_holder_is_named(archive: Path, key_file: Path, tmp_path: Path) -> None:
    """Re-encrypted with the right key, the manifest still catches the altered member (and names it)."""
    key = read_key(key_file)
    plain = tmp_path / "plain.tar"
    with archive.open("rb") as source, plain.open("wb") as out:
        for chunk in decrypt_stream(source, key):
            out.write(chunk)
    unpacked = tmp_path / "unpacked"
    with tarfile.open(plain) as tar:
        tar.extractall(unpacked, filter="data")
    with (unpacked / "gateway" / "qr.sqlite").open("r+b") as f:
        f.seek(200)
        f.write(b"\xff")
    with tarfile.open(plain, "w") as tar:
        for path in sorted(unpacked.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(unpacked)))
    with plain.open("rb") as source, archive.open("wb") as out:
        encrypt_stream(source, out, key, {"org": "TrafficAuthorityMSP", "created_at": "x"})
    _rewrite_sidecar(archive)
    with pytest.raises(BackupError, match=r"^gateway/qr\.sqlite: SHA-256 differs from the manifest"):
        restore(archive, key_file, Store().targets(tmp_path / "new"))
    assert not (tmp_path / "new").exists()


def test_a_non_empty_target_is_refused_unless_forced(archive: Path, key_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "new"
    target.mkdir()
    (target / "keep.txt").write_text("someone's data")
    with pytest.raises(BackupError, match="not empty"):
        restore(archive, key_file, Store().targets(target))
    assert (target / "keep.txt").read_text() == "someone's data"
    restore(archive, key_file, Store().targets(target, force=True))
    assert not (target / "keep.txt").exists() and (target / "users.sqlite").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".new")] == []


def test_a_crash_mid_restore_leaves_no_half_restored_target(
    archive: Path, key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new"

    def crash(_staged: Path) -> int:  # the gateway state is staged, the ledger is being checked
        raise OSError("power lost")

    monkeypatch.setattr("app.ops.restore.verify_embedded_ledger", crash)
    with pytest.raises(OSError, match="power lost"):
        restore(archive, key_file, Store().targets(target))
    assert not target.exists()
    monkeypatch.undo()
    (tmp_path / ".new.restoring-dead").mkdir()  # left by a killed restore: removed by the next one
    restore(archive, key_file, Store().targets(target))
    assert (target / "ledger").is_dir() and not (tmp_path / ".new.restoring-dead").exists()


def test_cli_restore(archive: Path, key_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["ops", "restore", str(archive), "--key-file", str(key_file), "--data-dir", str(tmp_path / "n")]
    out = runner.invoke(cli, args)
    assert out.exit_code == 0 and out.output.startswith("restored TrafficAuthorityMSP"), out.output
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "not empty" in again.output


def test_the_ca_home_and_extra_files_are_restored(tmp_path: Path, key_file: Path) -> None:
    ca = tmp_path / "ca"
    (ca / "msp" / "keystore").mkdir(parents=True)
    (ca / "msp" / "keystore" / "ca.key").write_text("ca private key")
    db = sqlite3.connect(ca / "fabric-ca-server.db")
    db.execute("CREATE TABLE users (id TEXT)")
    db.execute("INSERT INTO users VALUES ('admin')")
    db.commit()
    db.close()
    keyring = tmp_path / "keyring.json"
    keyring.write_text("{}")
    (tmp_path / "gw").mkdir()
    (tmp_path / "gw" / "token.key").write_bytes(b"t" * 32)
    sources = BackupSources("BankAMSP", tmp_path / "gw", ca_dir=ca, extra_files=[keyring])
    archive = backup(sources, tmp_path / "out", key_file).path
    shutil.rmtree(ca)
    targets = Store().targets(tmp_path / "new", ca_dir=ca, files_dir=tmp_path / "files")
    restore(archive, key_file, targets)
    assert (ca / "msp" / "keystore" / "ca.key").read_text() == "ca private key"
    users = sqlite3.connect(ca / "fabric-ca-server.db").execute("SELECT id FROM users").fetchall()
    assert users == [("admin",)] and (tmp_path / "files" / "keyring.json").read_text() == "{}"


def test_cli_backup_and_restore_with_a_postgres_store(
    postgres: PostgresServer, tmp_path: Path, key_file: Path
) -> None:
    """The store's URL and password file come from the gateway's own environment variables."""
    store = Store(postgres, postgres.new_database())
    with gateway(store, tmp_path / "gw") as client:
        written = write_state(client)
    runner = CliRunner()
    env = {"MLEDGER_STORE_URL": store.url, "MLEDGER_STORE_PASSWORD_FILE": str(postgres.password_file)}
    out = runner.invoke(
        cli,
        ["ops", "backup", "--org", "TrafficAuthorityMSP", "--key-file", str(key_file),
         "--out", str(tmp_path / "o"), "--gateway-dir", str(tmp_path / "gw"),
         "--ledger-dir", str(tmp_path / "gw" / "ledger")],
        env=env,
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    archive = out.output.split("\t")[0]
    fresh = store.fresh()
    env["MLEDGER_STORE_URL"] = str(fresh.url)
    args = ["ops", "restore", archive, "--key-file", str(key_file), "--data-dir", str(tmp_path / "new")]
    restored = runner.invoke(cli, args, env=env)
    assert restored.exit_code == 0 and "store restored" in restored.output, restored.output
    with gateway(fresh, tmp_path / "new") as client:
        check_state(client, written)


def test_the_org_crypto_folder_comes_back_around_its_ca_home(tmp_path: Path, key_file: Path) -> None:
    """A lost site's MSP material (peer and admin keys, the CA's bootstrap secret) is restored beside the
    CA home inside it; the CA home is archived once, as the `ca` part."""
    crypto = tmp_path / "crypto" / "banka"
    peer_tls = crypto / "nodes" / "peer0.banka" / "tls"
    peer_tls.mkdir(parents=True)
    (peer_tls / "key.pem").write_text("peer tls key")
    (peer_tls / "key.pem").chmod(0o600)
    (crypto / "secrets.json").write_text('{"registrar": "s"}')
    ca = crypto / "ca"
    (ca / "msp" / "keystore").mkdir(parents=True)
    (ca / "msp" / "keystore" / "ca.key").write_text("ca private key")
    runner, key = CliRunner(), ["--key-file", str(key_file)]
    backed = runner.invoke(
        cli, ["ops", "backup", "--org", "BankAMSP", *key, "--out", str(tmp_path / "out"),
              "--ca-dir", str(ca), "--crypto-dir", str(crypto)],
    )  # fmt: skip
    assert backed.exit_code == 0, backed.output
    archive = Path(backed.output.split("\t")[0])
    report = verify(archive, key_file)
    assert report.parts == ["ca", "crypto"] and report.files == 3
    shutil.rmtree(tmp_path / "crypto")
    restored = runner.invoke(
        cli, ["ops", "restore", str(archive), *key, "--data-dir", str(tmp_path / "new"),
              "--ca-dir", str(ca), "--crypto-dir", str(crypto)],
    )  # fmt: skip
    assert restored.exit_code == 0, restored.output
    assert (peer_tls / "key.pem").read_text() == "peer tls key"
    assert (peer_tls / "key.pem").stat().st_mode & 0o077 == 0
    assert (crypto / "secrets.json").read_text() == '{"registrar": "s"}'
    assert (ca / "msp" / "keystore" / "ca.key").read_text() == "ca private key"
    with pytest.raises(BackupError, match="not empty"):  # a second restore onto the live site is refused
        restore(archive, key_file, RestoreTargets(tmp_path / "new2", crypto_dir=crypto))
