"""``mledger owner sign``: the owner's own command line, run on the owner's machine.

It signs in to the vehicle office's gateway by challenge, fetches the consent's exact terms, shows them,
and signs them locally with the key of the owner's fabric-ca enrolment (ECDSA P-256 / SHA-256). Only
signatures travel; the key is read from a file (never from the command line) and never printed or logged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.services.owners import sign_document, signed_document
from app.users.owner_signin import OwnerSignInError, sign_challenge

app = typer.Typer(
    help="The owner's own commands: sign a consent with your enrolment key.", no_args_is_help=True
)


class OwnerCliError(Exception):
    """A step that failed; the message says which and why (the gateway's answer when it refused)."""


@contextlib.contextmanager
def open_client(gateway: str) -> Iterator[httpx.Client]:
    """The HTTP client to the gateway (tests swap in an in-process one)."""
    with httpx.Client(base_url=gateway.rstrip("/"), timeout=60) as client:
        yield client


def _answer(response: httpx.Response, step: str) -> Any:
    if response.status_code >= 300:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        raise OwnerCliError(f"{step}: {response.status_code} {message}")
    return response.json()


def account_of(certificate_pem: bytes) -> str:
    """The owner account id: the certificate's CN (the pseudonymous enrolment id)."""
    cert = x509.load_pem_x509_certificate(certificate_pem)
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names:
        raise OwnerCliError("cert: the certificate has no CN (the owner enrolment id)")
    return str(names[0].value)


def sign_in(http: httpx.Client, account_id: str, key_pem: bytes, password: bytes | None) -> dict[str, str]:
    """Challenge, sign locally, answer: the owner's bearer header."""
    found = _answer(http.post("/api/v1/owner-auth/challenge", json={"account_id": account_id}), "sign-in")
    signature = sign_challenge(key_pem, found["document"], password)
    body = {"challenge_id": found["challenge_id"], "account_id": account_id, "signature": signature}
    session = _answer(http.post("/api/v1/owner-auth/response", json=body), "sign-in")
    return {"Authorization": f"Bearer {session['access_token']}"}


def describe(consent: dict[str, Any]) -> list[str]:
    lines = [
        f"consent   {consent['consent_id']} ({consent['kind']}), status {consent['status']}",
        f"vehicle   {consent['vin']}",
        f"to        {consent.get('grantee_name') or consent['grantee']} ({consent['grantee']})",
        f"expires   {consent['expires_at']}",
    ]
    lines += [f"  {name} = {value}" for name, value in sorted((consent.get("terms") or {}).items())]
    return lines


def _load_key(path: Path) -> tuple[bytes, bytes | None]:
    key_pem = path.read_bytes()
    try:
        serialization.load_pem_private_key(key_pem, None)
        return key_pem, None
    except TypeError:  # an encrypted key: its passphrase, asked for without echo
        password = typer.prompt("key passphrase", hide_input=True).encode()
        return key_pem, password
    except ValueError as exc:
        raise OwnerCliError(f"key: {path.name} is not a PEM private key ({exc})") from None


@app.command("sign")
def sign(
    consent_id: Annotated[str, typer.Argument(help="The consent to sign (as given to you).")],
    key: Annotated[Path, typer.Option(help="Your enrolment key file (PEM); it never leaves this machine.")],
    cert: Annotated[Path, typer.Option(help="Your enrolment certificate (PEM).")],
    gateway: Annotated[str, typer.Option(help="The vehicle office's gateway URL.")],
    yes: Annotated[bool, typer.Option("--yes", help="Sign without asking for confirmation.")] = False,
) -> None:
    """Sign in by challenge, show the consent's exact terms, sign them here and send the signature."""
    try:
        key_pem, password = _load_key(key)
        cert_pem = cert.read_bytes()
        account_id = account_of(cert_pem)
        with open_client(gateway) as http:
            headers = sign_in(http, account_id, key_pem, password)
            consent = _answer(http.get(f"/api/v1/owner/consents/{consent_id}", headers=headers), "consent")
            for line in describe(consent):
                typer.echo(line)
            if consent["status"] != "REQUESTED":
                raise OwnerCliError(f"consent {consent_id} is {consent['status']}: nothing to sign")
            if not yes and not typer.confirm("Sign these terms?", default=False):
                typer.echo("not signed")
                raise typer.Exit(1)
            document = signed_document(consent)
            body = {
                "signature": sign_document(key_pem, document, password),
                "signed_terms": json.dumps(document, sort_keys=True, separators=(",", ":")),
                "signer_certificate_pem": cert_pem.decode("ascii"),
            }
            path = f"/api/v1/owner/consents/{consent_id}/signature"
            result = _answer(http.post(path, json=body, headers=headers), "signature")
    except (OwnerCliError, OwnerSignInError, OSError, ValueError, httpx.HTTPError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"signed: consent {consent_id} is {result['result']['status']} (tx {result['tx_id']})")
