"""`mledger doc-keys`: create, rotate and inspect the consortium document key ring.

The file this writes is what every authorised org's gateway loads (``MLEDGER_DOCUMENT_KEYRING``);
copying it to the other gateways is out of band (as a KMS would distribute keys). Only key ids are
ever printed — never key material.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ipfs.keyring import (
    KeyringFileError,
    create_keyring_file,
    load_keyring_file,
    rotate_keyring_file,
)

app = typer.Typer(help="Consortium document key ring: create, rotate, show.", no_args_is_help=True)
console = Console(soft_wrap=True)  # paths and key ids stay on one line

KeyringPath = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Key-ring file (default: $MLEDGER_DOCUMENT_KEYRING)."),
]


def _path(file: Path | None) -> Path:
    if file is not None:
        return file
    from app.settings import Settings

    configured = Settings().document_keyring
    if configured is None:
        console.print("[red]no key-ring file: pass --file or set MLEDGER_DOCUMENT_KEYRING[/red]")
        raise typer.Exit(2)
    return configured


def _fail(exc: KeyringFileError) -> typer.Exit:
    console.print(f"[red]{exc}[/red]")
    return typer.Exit(1)


@app.command()
def init(file: KeyringPath = None) -> None:
    """Create a key ring with one fresh key (mode 0600); refuses to overwrite a file."""
    path = _path(file)
    try:
        keyring = create_keyring_file(path)
    except KeyringFileError as exc:
        raise _fail(exc) from None
    console.print(f"created {path}: current key [bold]{keyring.active}[/bold]")
    console.print("copy it (mode 0600) to every org's gateway that may read documents")


@app.command()
def rotate(file: KeyringPath = None) -> None:
    """Add a fresh key and make it current; older keys stay so old documents still open."""
    path = _path(file)
    try:
        keyring = rotate_keyring_file(path)
    except KeyringFileError as exc:
        raise _fail(exc) from None
    console.print(f"rotated {path}: current key [bold]{keyring.active}[/bold] ({len(keyring.kids)} keys)")
    console.print("distribute the new file to every gateway before they store documents with it")


@app.command()
def show(file: KeyringPath = None) -> None:
    """List the key ids and which one is current (no key material)."""
    path = _path(file)
    try:
        keyring = load_keyring_file(path)
    except KeyringFileError as exc:
        raise _fail(exc) from None
    table = Table("key id", "current")
    for kid in keyring.kids:
        table.add_row(kid, "yes" if kid == keyring.active else "")
    console.print(table)
