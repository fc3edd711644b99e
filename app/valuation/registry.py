"""A model registry: <root>/<name>/v<N>/ holding the artefact and meta.json, and which is champion.

Each version records its id (a hash of artefact and metadata), the hash of its training data,
its metrics and its parameters. Versions are immutable once written; a new training registers
the next number. The root defaults to <repo>/.data/models/ and is overridden by MLEDGER_MODELS_DIR.

With ``db`` (the off-chain store, :func:`open_registry`: ``<root>/registry.sqlite`` by default, the
org's PostgreSQL with ``MLEDGER_STORE_URL``) the metadata, version numbers and champion pointer are
rows every gateway replica shares; the artefacts stay files (a shared volume), each checked against
the SHA-256 its row records. Opening a store adopts the versions and champions already on disk.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.store.database import Database, Tx
from app.store.migrations import migrate
from app.valuation.canonical import canonical_json, sha256_hex
from app.valuation.errors import ModelNotFoundError, ValuationError

logger = logging.getLogger(__name__)

COMPONENT = "models"
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / ".data" / "models"  # <repo>/.data/models


def default_root() -> Path:
    return Path(os.environ.get("MLEDGER_MODELS_DIR", str(DEFAULT_ROOT)))


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: int
    path: Path
    meta: dict[str, Any]

    @property
    def model_id(self) -> str:
        return str(self.meta["model_id"])

    @property
    def ref(self) -> str:
        """ "name@version", the form valuations cite."""
        return f"{self.name}@{self.version}"

    def artefact(self) -> bytes:
        data = (self.path / str(self.meta["artefact"])).read_bytes()
        if sha256_hex(data) != self.meta["artefact_sha256"]:
            raise ValuationError(f"model {self.ref}: artefact hash does not match its metadata (tampered?)")
        return data


class ModelRegistry:
    def __init__(
        self, root: Path | str | None = None, db: Database | None = None, *, files_only: bool = False
    ):
        """``db`` unset: the store the settings name (:func:`registry_database`); ``files_only``: the
        earlier layout, metadata and champion as files only (tools and upgrade tests)."""
        self.root = Path(root) if root is not None else default_root()
        #: champion records by name, with the (inode, mtime, size) of the file they were read from
        self._champions: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = {}
        if db is None and not files_only:
            db = registry_database(self.root)
        self.db = db
        if db is not None:
            migrate(db, COMPONENT)
            self._adopt(db)

    def _adopt(self, db: Database) -> None:
        """Versions and champions on disk that the store does not know yet (an earlier registry)."""
        if not self.root.is_dir():
            return
        with db.transaction(lock="mledger-models:adopt") as tx:
            for model_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name)):
                for version in _file_versions(model_dir):
                    meta_file = model_dir / f"v{version}" / "meta.json"
                    if meta_file.is_file():
                        _insert_version(tx, model_dir.name, version, json.loads(meta_file.read_text()))
                champion = model_dir / "champion.json"
                if champion.is_file():
                    record = json.loads(champion.read_text())
                    tx.execute(
                        "INSERT INTO model_champions (name, version, record, promoted_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        (model_dir.name, int(record["version"]), json.dumps(record, sort_keys=True), 0.0),
                    )

    def register(
        self, name: str, artefact_name: str, artefact: bytes, meta: dict[str, Any]
    ) -> RegisteredModel:
        """Store a new version; returns it. The id covers artefact and metadata, not the timestamp."""
        model_dir = self.root / check_name(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        meta = dict(meta, name=name, artefact=artefact_name, artefact_sha256=sha256_hex(artefact))
        meta["model_id"] = sha256_hex(canonical_json(meta))[:16]
        meta["registered_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
        try:
            (staging / artefact_name).write_bytes(artefact)
            if self.db is not None:
                return self._register_in_store(self.db, name, staging, meta)
            for version in range(self._next_version(name), self._next_version(name) + 100):
                meta["version"] = version
                (staging / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
                try:
                    staging.rename(model_dir / f"v{version}")  # atomic; fails if another writer took it
                except OSError:
                    continue
                logger.info("registered model %s@%d (%s)", name, version, meta["model_id"])
                return RegisteredModel(name, version, model_dir / f"v{version}", meta)
            raise ValuationError(f"could not allocate a version for model {name!r}")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _register_in_store(
        self, db: Database, name: str, staging: Path, meta: dict[str, Any]
    ) -> RegisteredModel:
        """The next number under the name's lock (every replica), the folder renamed into place and
        the row written in the same transaction."""
        model_dir = self.root / name
        with db.transaction(lock=f"mledger-models:{name}") as tx:
            row = tx.one("SELECT MAX(version) FROM model_versions WHERE name = ?", (name,))
            on_disk = _file_versions(model_dir)
            version = max(int(row[0]) if row and row[0] is not None else 0, max(on_disk, default=0)) + 1
            meta["version"] = version
            (staging / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
            staging.rename(model_dir / f"v{version}")
            _insert_version(tx, name, version, meta)
        logger.info("registered model %s@%d (%s)", name, version, meta["model_id"])
        return RegisteredModel(name, version, model_dir / f"v{version}", meta)

    def versions(self, name: str) -> list[int]:
        """Registered version numbers of ``name``, ascending."""
        if self.db is not None:
            with self.db.reading() as tx:
                rows = tx.all("SELECT version FROM model_versions WHERE name = ? ORDER BY version", (name,))
            return [int(r[0]) for r in rows]
        try:
            entries = os.listdir(self.root / name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(int(e[1:]) for e in entries if e.startswith("v") and e[1:].isdigit())

    def _next_version(self, name: str) -> int:
        versions = self.versions(name)
        return versions[-1] + 1 if versions else 1

    # --- the champion: the one version valuations use, set only by an explicit promotion ---------
    def champion(self, name: str) -> dict[str, Any] | None:
        """``{"version", "promoted_by", "promoted_at", "reason", "previous"}`` or None."""
        if self.db is not None:
            with self.db.reading() as tx:
                row = tx.one("SELECT record FROM model_champions WHERE name = ?", (check_name(name),))
            return None if row is None else dict(json.loads(row[0]))
        path = self.root / check_name(name) / "champion.json"
        try:  # a stat, not a read, per valuation: promotion replaces the file (a new inode)
            st = path.stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            cached = self._champions.get(name)
            if cached is None or cached[0] != key:
                cached = (key, dict(json.loads(path.read_text())))
                self._champions[name] = cached
        except FileNotFoundError:
            return None
        return dict(cached[1])

    def promote(self, name: str, version: int, actor: str, reason: str = "") -> dict[str, Any]:
        """Make ``version`` the champion (atomic replace); the previous one is recorded."""
        registered = self.get(name, version)
        if self.db is not None:
            with self.db.transaction(lock=f"mledger-models:{name}") as tx:
                row = tx.one("SELECT version FROM model_champions WHERE name = ?", (name,))
                record = _champion_record(registered, actor, reason, None if row is None else int(row[0]))
                tx.execute(
                    "INSERT INTO model_champions (name, version, record, promoted_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET version = excluded.version, record = excluded.record,"
                    " promoted_at = excluded.promoted_at",
                    (name, version, json.dumps(record, sort_keys=True), time.time()),
                )
            logger.info("promoted %s@%d (by %s)", name, version, actor)
            return record
        previous = self.champion(name)
        record = _champion_record(
            registered, actor, reason, None if previous is None else int(previous["version"])
        )
        fd, tmp = tempfile.mkstemp(prefix=".champion-", dir=self.root / name)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.root / name / "champion.json")
        logger.info("promoted %s@%d (by %s)", name, version, actor)
        return record

    def list(self, name: str) -> list[RegisteredModel]:
        return [self.get(name, v) for v in self.versions(name)]

    def get(self, name: str, version: int | None = None) -> RegisteredModel:
        """The given version, or the latest when version is None."""
        versions = self.versions(check_name(name))
        if not versions:
            raise ModelNotFoundError(f"no model {name!r} registered under {self.root}")
        version = versions[-1] if version is None else version
        path = self.root / name / f"v{version}"
        if version not in versions:
            raise ModelNotFoundError(f"model {name}@{version} is not registered under {self.root}")
        if self.db is not None:
            with self.db.reading() as tx:
                row = tx.one(
                    "SELECT meta FROM model_versions WHERE name = ? AND version = ?", (name, version)
                )
            if row is None:
                raise ModelNotFoundError(f"model {name}@{version} is not registered under {self.root}")
            return RegisteredModel(name, version, path, json.loads(row[0]))
        return RegisteredModel(name, version, path, json.loads((path / "meta.json").read_text()))


_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _file_versions(model_dir: Path) -> list[int]:
    try:
        entries = os.listdir(model_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(e[1:]) for e in entries if e.startswith("v") and e[1:].isdigit())


def _insert_version(tx: Tx, name: str, version: int, meta: dict[str, Any]) -> None:
    tx.execute(
        "INSERT INTO model_versions (name, version, model_id, meta, registered_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (
            name,
            version,
            str(meta["model_id"]),
            json.dumps(meta, sort_keys=True),
            str(meta.get("registered_at", "")),
        ),
    )


def _champion_record(
    registered: RegisteredModel, actor: str, reason: str, previous: int | None
) -> dict[str, Any]:
    return {
        "version": registered.version,
        "model_id": registered.model_id,
        "promoted_by": actor,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "previous": previous,
    }


def registry_database(root: Path) -> Database:
    """Where the registry's metadata lives: ``MLEDGER_STORE_URL``'s PostgreSQL (shared by the
    replicas), else ``<root>/registry.sqlite``."""
    from app.settings import Settings
    from app.store.config import open_component

    root.mkdir(parents=True, exist_ok=True)
    return open_component(Settings(), root / "registry.sqlite")


def open_registry(root: Path | str | None = None) -> ModelRegistry:
    """The registry at ``root`` (default ``$MLEDGER_MODELS_DIR``) over the store the settings name."""
    return ModelRegistry(root)


def check_name(name: str) -> str:
    """Model names become folder names: lowercase letters, digits and dashes only."""
    if not _NAME.match(name):
        raise ModelNotFoundError(f"bad model name {name!r}: use lowercase letters, digits and '-'")
    return name


def parse_ref(ref: str, default_name: str) -> tuple[str, int | None]:
    """ "name@3" -> (name, 3); "3" -> (default_name, 3); "name" -> (name, None)."""
    if "@" in ref:
        name, _, version = ref.partition("@")
        if not version.isdigit():
            raise ModelNotFoundError(f"bad model reference {ref!r}; expected name@version")
        return check_name(name), int(version)
    if ref.isdigit():
        return default_name, int(ref)
    return check_name(ref), None
