"""`mledger doc-keys`: create, rotate and inspect the consortium document key ring.

The file this writes is what every authorised org's gateway loads (``MLEDGER_DOCUMENT_KEYRING``);
copying it to the other gateways is out of band (as a KMS would distribute keys). With ``--store``
``rotate`` and ``show`` act on this org's own key ring in the off-chain store instead (the default
when no file is configured; shared by every replica of the org through ``MLEDGER_STORE_URL``). Only
key ids are ever printed — never key material.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

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


StoreOption = Annotated[
    bool,
    typer.Option(
        "--store", help="This org's key ring in the off-chain store (MLEDGER_STORE_URL), not a file."
    ),
]


def _no_hsm(settings: Any) -> Any:
    return None


#: the HSM key sealing stored keys, from the settings (set by the composition root, app/cli.py)
store_wrap: Callable[[Any], Any] = _no_hsm


def _store_ring() -> Any:
    from app.documents.keystore import StoreKeyRing
    from app.documents.service import store_and_kek
    from app.settings import Settings

    settings = Settings()
    db, kek = store_and_kek(settings, store_wrap(settings))
    return StoreKeyRing(db, kek, adopt_dir=settings.data_dir / "keys")


def _path(file: Path | None) -> Path:
    if file is not None:
        return file
    from app.settings import Settings

    configured = Settings().document_keyring
    if configured is None:
        console.print(
            "[red]no key-ring file: pass --file or set MLEDGER_DOCUMENT_KEYRING "
            "(or --store for this org's key ring in the store)[/red]"
        )
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
def rotate(file: KeyringPath = None, store: StoreOption = False) -> None:
    """Add a fresh key and make it current; older keys stay so old documents still open."""
    if store:
        try:
            ring = _store_ring().rotate()
        except KeyringFileError as exc:
            raise _fail(exc) from None
        console.print(
            f"rotated the store's key ring: current key [bold]{ring.active}[/bold] ({len(ring.kids)} keys)"
        )
        console.print("every replica of the org wraps new documents with it from now on")
        return
    path = _path(file)
    try:
        keyring = rotate_keyring_file(path)
    except KeyringFileError as exc:
        raise _fail(exc) from None
    console.print(f"rotated {path}: current key [bold]{keyring.active}[/bold] ({len(keyring.kids)} keys)")
    console.print("distribute the new file to every gateway before they store documents with it")


@app.command()
def show(file: KeyringPath = None, store: StoreOption = False) -> None:
    """List the key ids and which one is current (no key material)."""
    try:
        keyring = _store_ring().current() if store else load_keyring_file(_path(file))
    except KeyringFileError as exc:
        raise _fail(exc) from None
    table = Table("key id", "current")
    for kid in keyring.kids:
        table.add_row(kid, "yes" if kid == keyring.active else "")
    console.print(table)
