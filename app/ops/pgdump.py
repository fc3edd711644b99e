"""The PostgreSQL off-chain store in a backup: ``pg_dump`` (custom format), ``pg_restore``.

Debian's PostgreSQL client tools. The dump is one consistent snapshot (pg_dump reads in a single
repeatable-read transaction while the gateway keeps writing). The password is never on a command line:
it is handed to the tool in its environment (``PGPASSWORD``), or libpq finds it itself (``PGPASSFILE``,
an inherited ``PGPASSWORD``), as the store's own connections do (:mod:`app.store.config`). The URL
carries no password (the store's settings refuse one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .backup_crypto import BackupError

PG_DUMP_NAME = "store.pgdump"


def pg_tool(name: str) -> str:
    """The newest Debian PostgreSQL client binary (``/usr/lib/postgresql/<n>/bin``), else PATH's."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name or 0))
    for folder in reversed(versions):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name}: not installed (Debian's postgresql-client)")
    return found


def _env(password: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def _run(args: list[str], password: str | None, what: str, timeout: float = 3600) -> str:
    out = subprocess.run(
        args, env=_env(password), capture_output=True, text=True, timeout=timeout, check=False
    )
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        raise BackupError(f"{what}: {lines[-1] if lines else f'exit status {out.returncode}'}")
    return out.stdout


def pg_dump(url: str, password: str | None, target: Path) -> None:
    """Dump the store's database (custom format, no owners or grants: restorable into any role's db)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    args = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
    _run([*args, f"--dbname={url}"], password, "pg_dump of the store")
    pg_list(target)


def pg_list(dump: Path) -> list[str]:
    """The dump's table-of-contents lines (``pg_restore --list``); BackupError when it is unreadable."""
    listing = _run([pg_tool("pg_restore"), "--list", str(dump)], None, f"{dump.name}: pg_restore --list")
    entries = [line for line in listing.splitlines() if line and not line.startswith(";")]
    if not any(" TABLE " in line for line in entries):
        raise BackupError(f"{dump.name}: the dump holds no table")
    return entries


def store_tables(url: str, password: str | None) -> list[str]:
    """The tables of the public schema (to refuse restoring over a store in use)."""
    import psycopg

    with psycopg.connect(url, password=password, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall()
    return [str(r[0]) for r in rows]


def pg_restore(dump: Path, url: str, password: str | None, *, clean: bool = False) -> None:
    """Load the dump in one transaction (all or nothing); ``clean`` drops the objects it recreates."""
    args = [pg_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges"]
    if clean:
        args += ["--clean", "--if-exists"]
    _run([*args, f"--dbname={url}", str(dump)], password, "pg_restore into the store")
