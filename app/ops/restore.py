"""``mledger ops restore``: an org's archive back into a new gateway data folder (and its PostgreSQL store).

Order, so that a refused or interrupted restore leaves no half-restored target:

1. the targets are checked first: a non-empty data folder or a store database that already holds tables
   is refused unless ``force``;
2. the archive is verified in full (checksum file, authenticated decryption, every member against the
   manifest, SQLite integrity, ledger chain, ``pg_restore --list``) while extracting into a staging
   folder beside the target, so a tampered or truncated archive is refused (naming the member or
   chunk) before anything is written;
3. the new data folder is assembled in staging: the gateway state, the embedded ledger (opened again
   there, which re-verifies every block), the CA home when a CA folder is given, kubo pins imported
   from the CAR files when a kubo is given;
4. a PostgreSQL store is loaded with ``pg_restore --single-transaction`` (all or nothing);
5. the staged folder is renamed onto the target (one ``rename``; a forced restore first renames the old
   folder aside and removes it afterwards).

A crash before step 5 leaves the target as it was, plus a ``.<name>.restoring-*`` folder that the next
restore removes.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .backup import VerifyReport, verify, verify_embedded_ledger
from .backup_crypto import BackupError
from .pgdump import PG_DUMP_NAME, pg_restore, store_tables

log = logging.getLogger(__name__)


@dataclass
class RestoreTargets:
    data_dir: Path  # the new gateway data folder
    ledger_dir: Path | None = None  # the embedded ledger's folder when not <data_dir>/ledger
    store_url: str | None = None  # the PostgreSQL store to load the dump into (empty database)
    store_password: str | None = field(default=None, repr=False)
    ipfs_url: str | None = None  # kubo RPC to import the archived pins into
    files_dir: Path | None = None  # files kept outside the data folder (default: <data_dir>/restored-files)
    ca_dir: Path | None = None  # the org's fabric-ca-server home, restored from ca/ when given
    crypto_dir: Path | None = None  # the org's crypto folder (MSP, peer keys), restored from crypto/
    force: bool = False  # replace a non-empty data folder / store


@dataclass
class RestoreResult:
    report: VerifyReport
    data_dir: Path
    ledger_height: int | None
    ipfs_pins: int
    store_restored: bool
    seconds: float


def _non_empty(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def check_targets(targets: RestoreTargets) -> None:
    """Refuse targets in use before reading the archive (``force`` replaces them)."""
    if targets.force:
        return
    for path in (targets.data_dir, targets.ledger_dir, targets.ca_dir, targets.crypto_dir):
        if path is not None and _non_empty(path):
            raise BackupError(f"{path}: not empty (restore into a new folder, or pass --force)")
    if targets.store_url:
        tables = store_tables(targets.store_url, targets.store_password)
        if tables:
            raise BackupError(
                f"store_url: the database already holds {len(tables)} tables (use an empty one, or --force)"
            )


def import_cars(ipfs_url: str, car_dir: Path, timeout: float = 120.0) -> int:
    """Import every ``<cid>.car`` into kubo (``dag/import`` pins the roots); returns the count."""
    cars = sorted(car_dir.glob("*.car"))
    base = ipfs_url.rstrip("/") + "/api/v0"
    with httpx.Client(timeout=timeout) as http:
        for car in cars:
            with car.open("rb") as f:
                response = http.post(
                    f"{base}/dag/import", params={"pin-roots": "true"}, files={"file": (car.name, f)}
                )
            if response.status_code != 200:
                raise BackupError(f"ipfs/{car.name}: kubo refused the import ({response.status_code})")
    return len(cars)


def _move_into(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for child in source.iterdir():
        shutil.move(str(child), str(target / child.name))


def _swap(staged: Path, target: Path) -> None:
    """Rename the staged folder onto the target; a forced restore renames the old one aside first."""
    aside = None
    if target.exists():
        if any(target.iterdir()):
            aside = target.with_name(f".{target.name}.replaced-{secrets.token_hex(4)}")
            target.rename(aside)
        else:
            target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(target)
    if aside is not None:
        shutil.rmtree(aside)


def restore(archive: Path, key_file: Path, targets: RestoreTargets) -> RestoreResult:
    started = time.perf_counter()
    check_targets(targets)
    data_dir = targets.data_dir.absolute()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.parent.glob(f".{data_dir.name}.restoring-*"):  # a crashed earlier restore
        shutil.rmtree(stale, ignore_errors=True)
    staging = data_dir.parent / f".{data_dir.name}.restoring-{secrets.token_hex(4)}"
    try:
        extracted = staging / "archive"
        report = verify(archive, key_file, extract_to=extracted)
        manifest = json.loads((extracted / "MANIFEST.json").read_text())
        staged = staging / "data"
        staged.mkdir()
        if (extracted / "gateway").is_dir():
            _move_into(extracted / "gateway", staged)
        dump = staged / PG_DUMP_NAME
        if dump.exists():
            dump.rename(staging / PG_DUMP_NAME)  # not part of the data folder
        height = None
        staged_ledger = staged / "ledger" if targets.ledger_dir is None else staging / "ledger"
        if (extracted / "ledger").is_dir():
            _move_into(extracted / "ledger", staged_ledger)
            height = verify_embedded_ledger(staged_ledger)
        if (extracted / "files").is_dir():  # placed with the others at the end, outside the data folder
            _move_into(
                extracted / "files", staging / "files" if targets.files_dir else staged / "restored-files"
            )
        if (extracted / "ca").is_dir() and targets.ca_dir is not None:
            _move_into(extracted / "ca", staging / "ca")
        if (extracted / "crypto").is_dir() and targets.crypto_dir is not None:
            _move_into(extracted / "crypto", staging / "crypto")
        pins = 0
        if (extracted / "ipfs").is_dir() and targets.ipfs_url:
            pins = import_cars(targets.ipfs_url, extracted / "ipfs")
        store_restored = False
        if (staging / PG_DUMP_NAME).exists():
            if not targets.store_url:
                raise BackupError("store_url: the archive holds a PostgreSQL store; name the database")
            pg_restore(staging / PG_DUMP_NAME, targets.store_url, targets.store_password, clean=targets.force)
            store_restored = True
        if targets.ledger_dir is not None and staged_ledger.exists():
            _swap(staged_ledger, targets.ledger_dir.absolute())
        if targets.crypto_dir is not None and (staging / "crypto").exists():  # before the CA home in it
            _swap(staging / "crypto", targets.crypto_dir.absolute())
        if targets.ca_dir is not None and (staging / "ca").exists():
            _swap(staging / "ca", targets.ca_dir.absolute())
        if targets.files_dir is not None and (staging / "files").exists():
            _move_into(staging / "files", targets.files_dir)
        _swap(staged, data_dir)
        log.info(
            "restored org=%s created_at=%s files=%d parts=%s",
            manifest["org"], manifest["created_at"], report.files, ",".join(report.parts),
        )  # fmt: skip
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(report, data_dir, height, pins, store_restored, time.perf_counter() - started)
