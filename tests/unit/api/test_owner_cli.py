"""``mledger owner sign`` against an in-process gateway (embedded backend): sign-in by challenge, the terms
shown, signed locally with the owner's key file, the signature verified by the ledger. The key is never
echoed; another owner's consent and a wrong key are refused."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app import owner_cli
from app.cli import cli
from tests.unit.api.builders import BANK_A, Api
from tests.unit.api.owner_helpers import Owner, ask_lien_consent, enrol


@pytest.fixture
def gateway_client(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    @contextlib.contextmanager
    def in_process(gateway: str) -> Iterator[httpx.Client]:
        assert gateway == "http://gateway.test"
        yield api.client

    monkeypatch.setattr(owner_cli, "open_client", in_process)
    return api


def _files(tmp_path: Path, owner: Owner, key_pem: bytes | None = None) -> list[str]:
    key, cert = tmp_path / f"{owner.account}.key", tmp_path / f"{owner.account}.pem"
    key.write_bytes(key_pem or owner.key_pem)
    cert.write_text(owner.cert_pem)
    return ["--key", str(key), "--cert", str(cert), "--gateway", "http://gateway.test"]


def test_owner_signs_a_consent_from_the_command_line(gateway_client: Api, tmp_path: Path) -> None:
    api = gateway_client
    alice, bob = enrol(api, "owner-clialice1", 201), enrol(api, "owner-clibob0001", 202)
    ask_lien_consent(api, 201, "OC-201")
    ask_lien_consent(api, 202, "OC-202", suffix="B")
    runner = CliRunner()

    declined = runner.invoke(cli, ["owner", "sign", "OC-201", *_files(tmp_path, alice)], input="n\n")
    assert declined.exit_code == 1 and "secured_amount = 100000.00" in declined.output
    assert api.ok(api.get(BANK_A, "/owner-consents/OC-201"))["status"] == "REQUESTED"

    wrong_key = runner.invoke(
        cli, ["owner", "sign", "OC-201", "--yes", *_files(tmp_path, alice, bob.key_pem)]
    )
    assert wrong_key.exit_code == 1 and "field 'signature'" in wrong_key.output
    theirs = runner.invoke(cli, ["owner", "sign", "OC-202", "--yes", *_files(tmp_path, alice)])
    assert theirs.exit_code == 1 and "404" in theirs.output

    signed = runner.invoke(cli, ["owner", "sign", "OC-201", "--yes", *_files(tmp_path, alice)])
    assert signed.exit_code == 0, signed.output
    assert "OC-201 is SIGNED" in signed.output and "PRIVATE KEY" not in signed.output
    assert api.ok(api.get(BANK_A, "/owner-consents/OC-201"))["status"] == "SIGNED"
    again = runner.invoke(cli, ["owner", "sign", "OC-201", "--yes", *_files(tmp_path, alice)])
    assert again.exit_code == 1 and "SIGNED: nothing to sign" in again.output
