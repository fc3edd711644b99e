"""`mledger doc-keys`: init, rotate, show — ids only, never key material."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from ipfs.keyring import load_keyring_file

runner = CliRunner()


def test_init_rotate_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keyring.json"
    created = runner.invoke(cli, ["doc-keys", "init", "--file", str(path)])
    assert created.exit_code == 0, created.output
    first = load_keyring_file(path).active
    assert first in created.output and os.stat(path).st_mode & 0o777 == 0o600
    again = runner.invoke(cli, ["doc-keys", "init", "--file", str(path)])
    assert again.exit_code == 1 and "already exists" in again.output

    monkeypatch.setenv("MLEDGER_DOCUMENT_KEYRING", str(path))  # the setting is the default file
    rotated = runner.invoke(cli, ["doc-keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    ring = load_keyring_file(path)
    assert ring.active != first and ring.active in rotated.output
    assert ring.kids == sorted([first, ring.active])

    shown = runner.invoke(cli, ["doc-keys", "show"])
    assert shown.exit_code == 0 and first in shown.output and ring.active in shown.output
    for secret in json.loads(path.read_text())["keys"].values():
        assert secret not in created.output + rotated.output + shown.output

    os.chmod(path, 0o644)
    refused = runner.invoke(cli, ["doc-keys", "show"])
    assert refused.exit_code == 1 and "too open" in refused.output


def test_no_file_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLEDGER_DOCUMENT_KEYRING", raising=False)
    answer = runner.invoke(cli, ["doc-keys", "rotate"])
    assert answer.exit_code == 2 and "MLEDGER_DOCUMENT_KEYRING" in answer.output


def test_the_store_key_ring_rotates_for_every_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.documents.service import DocumentService
    from app.settings import Settings

    monkeypatch.delenv("MLEDGER_DOCUMENT_KEYRING", raising=False)
    monkeypatch.setenv("MLEDGER_DATA_DIR", str(tmp_path / "gw"))
    gateway = DocumentService.from_settings(Settings(), store=object())  # type: ignore[arg-type]
    first = gateway.vault.keys.current().active
    shown = runner.invoke(cli, ["doc-keys", "show", "--store"])
    assert shown.exit_code == 0 and first in shown.output
    rotated = runner.invoke(cli, ["doc-keys", "rotate", "--store"])
    assert rotated.exit_code == 0, rotated.output
    current = gateway.vault.keys.current()  # the running gateway sees the rotation, no restart
    assert (
        current.active != first
        and current.active in rotated.output
        and current.kids == sorted([first, current.active])
    )
    for kid in current.kids:
        assert current.get(kid).hex() not in shown.output + rotated.output
