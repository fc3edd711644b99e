"""``mledger ops``: backup (once or on a schedule), verify and restore (docs/operations.md)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from .backup import BackupSources, backup, verify
from .backup_crypto import BackupError, new_key
from .restore import RestoreTargets, restore
from .schedule import Run, run_schedule

app = typer.Typer(help="Operations: encrypted backups per org and their verification.", no_args_is_help=True)

KeyFile = Annotated[Path, typer.Option(help="File with the 32-byte archive key (never the key itself here).")]
StoreUrl = Annotated[
    str | None,
    typer.Option(
        envvar="MLEDGER_STORE_URL",
        help="The gateway's PostgreSQL store (postgresql://user@host:port/db, no password); "
        "the password comes from MLEDGER_STORE_PASSWORD_FILE, MLEDGER_STORE_PASSWORD or PGPASSFILE.",
    ),
]


def _store(store_url: str | None) -> tuple[str | None, str | None]:
    """The PostgreSQL URL and password as the gateway's own settings read them (environment, file)."""
    from app.settings import Settings
    from app.store.config import check_url, is_postgres, store_password

    if not is_postgres(store_url):
        return None, None
    assert store_url is not None
    return check_url(store_url), store_password(Settings(store_url=store_url))


@app.command("new-key")
def new_key_cmd(key_file: KeyFile) -> None:
    """Create a fresh archive key file (0600); refuses to overwrite one."""
    new_key(key_file)
    typer.echo(f"key written to {key_file}")


@app.command("backup")
def backup_cmd(
    org: Annotated[str, typer.Option(help="The org's MSP id (one archive per org).")],
    key_file: KeyFile,
    out: Annotated[Path, typer.Option(help="Folder for the archives.")],
    gateway_dir: Annotated[Path | None, typer.Option(help="The gateway's data folder.")] = None,
    ledger_dir: Annotated[Path | None, typer.Option(help="The embedded ledger's folder.")] = None,
    ca_dir: Annotated[Path | None, typer.Option(help="The org's fabric-ca-server home.")] = None,
    crypto_dir: Annotated[
        Path | None, typer.Option(help="The org's crypto folder: MSP, peer and admin keys (not the CA home).")
    ] = None,
    ipfs_url: Annotated[
        str | None, typer.Option(help="kubo RPC URL whose pins are exported as CAR files.")
    ] = None,
    extra_file: Annotated[
        list[Path] | None, typer.Option(help="Other files (document key ring), repeatable.")
    ] = None,
    store_url: StoreUrl = None,
    every: Annotated[
        float | None, typer.Option(help="Back up every this many minutes until stopped (RPO ≤ every + run).")
    ] = None,
    keep: Annotated[int, typer.Option(help="With --every: archives of the org kept (oldest pruned).")] = 48,
) -> None:
    """Write one dated, checksummed, encrypted archive of what the org holds off the shared ledger."""
    try:
        url, password = _store(store_url)
        kind = "postgresql" if url else "sqlite"
        extras = list(extra_file or [])
        sources = BackupSources(
            org, gateway_dir, kind, ledger_dir, ca_dir, ipfs_url, extras, url, password, crypto_dir=crypto_dir
        )
        if every is None:
            result = backup(sources, out, key_file)
            typer.echo(f"{result.path}\t{result.size} bytes\t{result.members} files\t{result.seconds:.2f}s")
            return
        stop = threading.Event()
        run_schedule(sources, out, key_file, every=every * 60, keep=keep, stop=stop, on_run=_echo_run)
    except (BackupError, OSError, ValueError) as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("scheduled backups stopped")


def _echo_run(run: Run) -> None:
    if run.result is None:
        typer.echo(f"backup failed: {run.error}", err=True)
    else:
        r = run.result
        typer.echo(f"{r.path}\t{r.size} bytes\t{r.members} files\t{r.seconds:.2f}s", color=False)


@app.command("verify")
def verify_cmd(archive: Path, key_file: KeyFile) -> None:
    """Check the checksum, decrypt, and check every member (hashes, SQLite integrity, ledger chain)."""
    try:
        report = verify(archive, key_file)
    except (BackupError, OSError) as exc:
        typer.echo(f"verify failed: {exc}", err=True)
        raise typer.Exit(1) from None
    height = "" if report.ledger_height is None else f"\tledger height {report.ledger_height}"
    typer.echo(f"OK {report.org} {report.created_at}\t{report.files} files\t{','.join(report.parts)}{height}")


@app.command("restore")
def restore_cmd(
    archive: Path,
    key_file: KeyFile,
    data_dir: Annotated[Path, typer.Option(help="The new gateway data folder (must be empty or absent).")],
    ledger_dir: Annotated[
        Path | None, typer.Option(help="The embedded ledger's folder, when not <data-dir>/ledger.")
    ] = None,
    store_url: StoreUrl = None,
    ipfs_url: Annotated[str | None, typer.Option(help="kubo RPC URL to import the pins into.")] = None,
    files_dir: Annotated[
        Path | None, typer.Option(help="Where files kept outside the data folder go (key ring).")
    ] = None,
    ca_dir: Annotated[Path | None, typer.Option(help="Restore the org's fabric-ca-server home here.")] = None,
    crypto_dir: Annotated[
        Path | None, typer.Option(help="Restore the org's crypto folder (MSP, peer and admin keys) here.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a non-empty data folder / store database.")] = False,
) -> None:
    """Verify the archive in full, then restore the gateway state, ledger, pins and PostgreSQL store."""
    try:
        url, password = _store(store_url)
        targets = RestoreTargets(
            data_dir, ledger_dir, url, password, ipfs_url, files_dir, ca_dir, crypto_dir, force
        )
        result = restore(archive, key_file, targets)
    except (BackupError, OSError, ValueError) as exc:
        typer.echo(f"restore failed: {exc}", err=True)
        raise typer.Exit(1) from None
    height = "" if result.ledger_height is None else f"\tledger height {result.ledger_height}"
    store = "\tstore restored" if result.store_restored else ""
    typer.echo(
        f"restored {result.report.org} {result.report.created_at} into {result.data_dir}"
        f"\t{result.report.files} files{height}{store}\t{result.seconds:.2f}s"
    )
