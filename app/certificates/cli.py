"""``mledger certificate verify``: check a search certificate (JSON or PDF) offline, no gateway needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.certificates.document import CertificateError, load_trusted, verify
from app.certificates.pdf import load_document

certificate_cli = typer.Typer(help="Search certificates: verify offline.", no_args_is_help=True)


@certificate_cli.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(help="The certificate: its .json or .pdf")],
    ca: Annotated[
        Path | None,
        typer.Option("--ca", help="The issuing org's CA certificate (or the signer's certificate), PEM"),
    ] = None,
) -> None:
    """Exit 0 when the hash and signature hold (and the signer is issued by --ca); 1 otherwise."""
    try:
        document = load_document(file.read_bytes())
        trusted = load_trusted(ca.read_bytes()) if ca is not None else None
    except (OSError, CertificateError) as exc:
        typer.echo(json.dumps({"valid": False, "problems": [str(exc)]}, indent=1))
        raise typer.Exit(1) from None
    verdict = verify(document, trusted)
    report = verdict.as_dict()
    if trusted is None:
        report["warning"] = "no --ca given: the signature is checked against the certificate it carries only"
    typer.echo(json.dumps(report, indent=1))
    raise typer.Exit(0 if verdict.ok else 1)
