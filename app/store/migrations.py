"""Schema migrations: versioned SQL files applied in order, per component, on both backends.

``app/store/sql/<dialect>/<component>/NNNN_name.sql``; what was applied is kept in
``schema_migrations (component, version, name, applied_at)``. Every migration of a start-up runs in
one transaction holding the component's lock (PostgreSQL: an advisory lock), so two gateway
replicas starting together do not both apply it. Data dirs from before the store kept versions have
the tables but no record: ``legacy`` names the version their tables already match.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.store.database import Database, Tx

log = logging.getLogger(__name__)

SQL_ROOT = Path(__file__).parent / "sql"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_LEDGER_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at {real} NOT NULL,
    PRIMARY KEY (component, version)
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.strip().startswith("--"))
        return [part.strip() for part in body.split(";") if part.strip()]


def migrations(dialect: str, component: str) -> list[Migration]:
    folder = SQL_ROOT / dialect / component
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file name {path.name}: expected NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations of {component} ({dialect}): versions {versions} are not 1..n")
    return found


LegacyProbe = Callable[[Tx], int]  # the version an unrecorded (pre-migrations) schema matches; 0: none


def applied(db: Database, component: str) -> int:
    with db.transaction() as tx:
        tx.execute(_LEDGER_TABLE.format(real=_real(db)))
        row = tx.one("SELECT MAX(version) FROM schema_migrations WHERE component = ?", (component,))
    return int(row[0]) if row and row[0] is not None else 0


def migrate(
    db: Database, component: str, *, legacy: LegacyProbe | None = None, target: int | None = None
) -> int:
    """Bring ``component``'s tables to ``target`` (default: the newest); returns the version reached."""
    wanted = migrations(db.dialect, component)
    if target is not None:
        wanted = wanted[:target]
    with db.transaction(lock=f"mledger-migrate:{component}") as tx:
        tx.execute(_LEDGER_TABLE.format(real=_real(db)))
        row = tx.one("SELECT MAX(version) FROM schema_migrations WHERE component = ?", (component,))
        current = int(row[0]) if row and row[0] is not None else 0
        if current == 0 and legacy is not None:
            adopted = legacy(tx)
            for migration in wanted[:adopted]:
                _record(tx, component, migration, "adopted")
            current = adopted
        for migration in wanted[current:]:
            for statement in migration.statements():
                tx.execute(statement)
            _record(tx, component, migration, "applied")
            current = migration.version
    return current


def _record(tx: Tx, component: str, migration: Migration, how: str) -> None:
    tx.execute(
        "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
        (component, migration.version, migration.name, time.time()),
    )
    log.info("store migration %s %04d_%s %s", component, migration.version, migration.name, how)


def _real(db: Database) -> str:
    return "DOUBLE PRECISION" if db.dialect == "postgresql" else "REAL"


def sqlite_columns(tx: Tx, table: str) -> set[str] | None:
    """A SQLite table's columns, or None when it does not exist (for legacy probes)."""
    rows = tx.all(f"PRAGMA table_info({table})")
    return {str(r[1]) for r in rows} if rows else None
