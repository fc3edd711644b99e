"""``mledger ops``: backup and verify (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .backup import BackupSources, backup, verify
from .backup_crypto import BackupError, new_key

app = typer.Typer(help="Operations: encrypted backups per org and their verification.", no_args_is_help=True)

KeyFile = Annotated[Path, typer.Option(help="File with the 32-byte archive key (never the key itself here).")]


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
    ipfs_url: Annotated[
        str | None, typer.Option(help="kubo RPC URL whose pins are exported as CAR files.")
    ] = None,
    extra_file: Annotated[
        list[Path] | None, typer.Option(help="Other files (document key ring), repeatable.")
    ] = None,
) -> None:
    """Write one dated, checksummed, encrypted archive of what the org holds off the shared ledger."""
    sources = BackupSources(org, gateway_dir, "sqlite", ledger_dir, ca_dir, ipfs_url, list(extra_file or []))
    try:
        result = backup(sources, out, key_file)
    except (BackupError, OSError) as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{result.path}\t{result.size} bytes\t{result.members} files\t{result.seconds:.2f}s")


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
