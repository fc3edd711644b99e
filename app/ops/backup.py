"""``mledger ops backup`` / ``verify``: one dated, checksummed, encrypted archive per org.

What is not on every peer is backed up: the org's CA (its database, online, and its keys), the gateway's
own state (every SQLite store under its data folder, copied with SQLite's online backup API and checked
with ``PRAGMA integrity_check``; the document key ring, token key and wallet files), the IPFS pins (each
exported as a CAR file through kubo's ``dag/export``), and the embedded ledger (online copy, then opened,
which verifies its whole hash chain and orderer signatures). The archive is a tar with a MANIFEST.json
of every member's SHA-256, encrypted with :mod:`.backup_crypto`; a ``.sha256`` file sits next to it.

The gateway state is copied by one function per store kind (:data:`STATE_BACKUPS`), so a PostgreSQL
store adds ``pg_dump`` there without touching the rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .backup_crypto import BackupError, decrypt_stream, encrypt_stream, read_key
from .pgdump import PG_DUMP_NAME, pg_dump, pg_list

SQLITE_SUFFIXES = (".sqlite", ".db", ".sqlite3")


@dataclass
class BackupSources:
    org: str
    gateway_dir: Path | None = None  # the gateway's data folder (users, keys, idempotency, QR, read model)
    store_kind: str = "sqlite"
    ledger_dir: Path | None = None  # the embedded ledger's folder
    ca_dir: Path | None = None  # the org's fabric-ca-server home (fabric-ca-server.db, msp/, ca-cert.pem)
    ipfs_url: str | None = None  # kubo RPC, e.g. http://127.0.0.1:5001
    extra_files: list[Path] = field(default_factory=list)  # document key ring etc. kept outside data_dir
    store_url: str | None = None  # postgresql://user@host:port/db (no password) when store_kind is postgresql
    store_password: str | None = field(default=None, repr=False)  # handed to pg_dump in its environment
    # the org's crypto folder: its MSP, its peer's MSP and TLS key pairs, its admin and registrar
    # identities and the CA's bootstrap secret (the CA home inside it is the `ca` part, not copied twice)
    crypto_dir: Path | None = None


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    members: int


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def sqlite_online_copy(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's online backup API, then check the copy's integrity."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if result != "ok":
        raise BackupError(f"{source.name}: integrity check of the copy failed: {result}")


def copy_tree(source: Path, target: Path, skip: Callable[[Path], bool] = lambda p: False) -> None:
    """Every file under ``source``: SQLite databases online, others as they are (no WAL/SHM/locks)."""
    for path in sorted(source.rglob("*")):
        if not path.is_file() or skip(path) or path.name.endswith(("-wal", "-shm", "-journal", ".lock")):
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if is_sqlite(path):
            sqlite_online_copy(path, dest)
        else:
            shutil.copy2(path, dest)


def backup_sqlite_state(sources: BackupSources, target: Path) -> None:
    """The gateway's SQLite stores and key files (the embedded ledger has its own step)."""
    assert sources.gateway_dir is not None
    gateway_dir = sources.gateway_dir
    copy_tree(gateway_dir, target, skip=lambda p: "ledger" in p.relative_to(gateway_dir).parts[:1])


def backup_postgres_state(sources: BackupSources, target: Path) -> None:
    """The files of the data folder (keys, the document KEK file) plus a ``pg_dump`` of the store (users,
    idempotency, QR, notifier, sealed document keys, certificates, model registry metadata)."""
    if not sources.store_url:
        raise BackupError("store_url: a postgresql store needs its URL")
    backup_sqlite_state(sources, target)
    pg_dump(sources.store_url, sources.store_password, target / PG_DUMP_NAME)


STATE_BACKUPS: dict[str, Callable[[BackupSources, Path], None]] = {
    "sqlite": backup_sqlite_state,
    "postgresql": backup_postgres_state,
}


def backup_embedded_ledger(ledger_dir: Path, target: Path) -> None:
    copy_tree(ledger_dir, target)
    verify_embedded_ledger(target)


def verify_embedded_ledger(ledger_dir: Path) -> int:
    """Open the copy: the embedded ledger verifies every block (hashes, signatures) on open."""
    from app.ledger.embedded.ledger import EmbeddedLedger

    with tempfile.TemporaryDirectory() as tmp:  # open a scratch copy: opening may write (WAL, lock)
        scratch = Path(tmp) / "ledger"
        shutil.copytree(ledger_dir, scratch)
        ledger = EmbeddedLedger(scratch)
        try:
            return int(ledger.height_at_open)
        finally:
            asyncio.run(ledger.close())


def backup_ca(ca_dir: Path, target: Path) -> None:
    copy_tree(ca_dir, target)


def backup_crypto(crypto_dir: Path, target: Path, ca_dir: Path | None) -> None:
    """The org's MSP material; a peer rebuilt after its site was lost needs its own keys back (its
    certificates are in the channel's gossip and the other orgs' TLS trust, a new key pair is not)."""
    inside = ca_dir.resolve() if ca_dir is not None else None
    copy_tree(crypto_dir, target, skip=lambda p: inside is not None and inside in p.resolve().parents)


def export_ipfs_pins(ipfs_url: str, target: Path, timeout: float = 120.0) -> list[str]:
    """Each recursive pin as ``<cid>.car`` (kubo ``dag/export``); returns the CIDs."""
    target.mkdir(parents=True, exist_ok=True)
    base = ipfs_url.rstrip("/") + "/api/v0"
    with httpx.Client(timeout=timeout) as http:
        listing = http.post(f"{base}/pin/ls", params={"type": "recursive"})
        listing.raise_for_status()
        cids = sorted(listing.json().get("Keys", {}))
        for cid in cids:
            with http.stream("POST", f"{base}/dag/export", params={"arg": cid}) as response:
                response.raise_for_status()
                with (target / f"{cid}.car").open("wb") as f:
                    for block in response.iter_bytes():
                        f.write(block)
    return cids


def _manifest(root: Path, org: str, parts: dict[str, Any]) -> dict[str, Any]:
    files = {
        str(p.relative_to(root)): {"sha256": _sha256(p), "size": p.stat().st_size}
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    return {
        "format": 1,
        "org": org,
        "created_at": datetime.now(UTC).isoformat(),
        "parts": parts,
        "files": files,
    }


def backup(sources: BackupSources, out_dir: Path, key_file: Path) -> BackupResult:
    """Write ``<out_dir>/mledger-<org>-<UTC time>.backup`` and its ``.sha256``; return size and time."""
    key = read_key(key_file)
    started = time.perf_counter()
    now = datetime.now(UTC)  # milliseconds: scheduled archives a second apart keep their own names
    stamp = now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"mledger-{sources.org}-{stamp}.backup"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "backup"
        root.mkdir()
        parts: dict[str, Any] = {}
        if sources.gateway_dir is not None:
            if sources.store_kind not in STATE_BACKUPS:
                raise BackupError(f"store_kind: no backup for store kind {sources.store_kind!r}")
            STATE_BACKUPS[sources.store_kind](sources, root / "gateway")
            parts["gateway"] = {"store_kind": sources.store_kind}
        for extra in sources.extra_files:
            (root / "files").mkdir(exist_ok=True)
            shutil.copy2(extra, root / "files" / extra.name)
        if sources.ledger_dir is not None:
            backup_embedded_ledger(sources.ledger_dir, root / "ledger")
            parts["ledger"] = {"kind": "embedded"}
        if sources.ca_dir is not None:
            backup_ca(sources.ca_dir, root / "ca")
            parts["ca"] = {}
        if sources.crypto_dir is not None:
            backup_crypto(sources.crypto_dir, root / "crypto", sources.ca_dir)
            parts["crypto"] = {}
        if sources.ipfs_url:
            parts["ipfs"] = {"pins": export_ipfs_pins(sources.ipfs_url, root / "ipfs")}
        manifest = _manifest(root, sources.org, parts)
        (root / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        tar_path = Path(tmp) / "backup.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(root / "MANIFEST.json", arcname="MANIFEST.json")
            for name in manifest["files"]:
                tar.add(root / name, arcname=name)
        partial = path.with_suffix(".partial")
        with tar_path.open("rb") as source, partial.open("wb") as target:
            encrypt_stream(source, target, key, {"org": sources.org, "created_at": manifest["created_at"]})
        partial.chmod(0o600)
        partial.replace(path)
    path.with_name(path.name + ".sha256").write_text(f"{_sha256(path)}  {path.name}\n")
    return BackupResult(path, path.stat().st_size, time.perf_counter() - started, len(manifest["files"]))


@dataclass
class VerifyReport:
    org: str
    created_at: str
    files: int
    parts: list[str]
    ledger_height: int | None


def verify(path: Path, key_file: Path, extract_to: Path | None = None) -> VerifyReport:
    """Checksum file, decryption (authenticates every byte), manifest hashes, SQLite, ledger chain."""
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.exists():
        raise BackupError(f"{sidecar.name}: checksum file missing")
    expected = sidecar.read_text().split()[0]
    if _sha256(path) != expected:
        raise BackupError(f"{path.name}: SHA-256 differs from {sidecar.name} (altered or incomplete)")
    key = read_key(key_file)
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = Path(tmp) / "backup.tar"
        with path.open("rb") as source, tar_path.open("wb") as plain:
            for chunk in decrypt_stream(source, key):
                plain.write(chunk)
        root = extract_to or Path(tmp) / "restore"
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tar_path) as tar:
            tar.extractall(root, filter="data")
        tar_path.unlink()
        manifest = json.loads((root / "MANIFEST.json").read_text())
        present = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"MANIFEST.json"}
        for name in sorted(present - set(manifest["files"])):
            raise BackupError(f"{name}: in the archive but not in the manifest")
        for name, meta in manifest["files"].items():
            member = root / name
            if not member.is_file():
                raise BackupError(f"{name}: listed in the manifest but missing")
            if _sha256(member) != meta["sha256"]:
                raise BackupError(f"{name}: SHA-256 differs from the manifest")
            if is_sqlite(member):
                conn = sqlite3.connect(f"file:{member}?mode=ro", uri=True)
                try:
                    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
                finally:
                    conn.close()
                if result != "ok":
                    raise BackupError(f"{name}: SQLite integrity check failed: {result}")
            if member.name == PG_DUMP_NAME:
                pg_list(member)  # pg_restore reads the dump's table of contents
        height = verify_embedded_ledger(root / "ledger") if "ledger" in manifest["parts"] else None
    return VerifyReport(
        manifest["org"], manifest["created_at"], len(manifest["files"]), sorted(manifest["parts"]), height
    )
