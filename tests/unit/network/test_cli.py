"""The typer app: commands exist, `up` without binaries fails clearly and starts nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from network.cli import app

runner = CliRunner()


def test_commands_listed() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("up", "down", "status", "logs", "clean"):
        assert cmd in res.output


def test_up_without_binaries_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLEDGER_BIN_DIR", str(tmp_path / "bin"))
    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(tmp_path / "net"))
    res = runner.invoke(app, ["up"])
    assert res.exit_code == 1
    assert "missing binaries" in res.output and "install-binaries" in res.output
    assert not (tmp_path / "net" / "pids.json").exists()


def test_status_of_a_network_that_never_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLEDGER_BIN_DIR", str(tmp_path / "bin"))
    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(tmp_path / "net"))
    monkeypatch.setenv("MLEDGER_NETWORK_BASE_PORT", "39000")
    res = runner.invoke(app, ["status", "--json"])
    assert res.exit_code == 0, res.output
    assert '"healthy": false' in res.output
    assert "peer0.banka" in res.output


def test_mledger_mounts_the_network_verbs() -> None:
    """One CLI: `mledger network ...` is this typer app, mounted by a plain import in app/cli.py."""
    from app.cli import cli

    res = runner.invoke(cli, ["network", "--help"])
    assert res.exit_code == 0, res.output
    for cmd in ("up", "down", "status", "profile", "consortium", "compose", "render"):
        assert cmd in res.output


def test_profile_verb_prints_an_org_connection_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("MLEDGER_NETWORK_DIR", str(tmp_path / "net"))
    monkeypatch.setenv("MLEDGER_NETWORK_BASE_PORT", "39000")
    res = runner.invoke(app, ["profile", "BankBMSP"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["client"]["organization"] == "BankB"
    assert doc["peers"]["peer0.bankb"]["url"] == "grpcs://127.0.0.1:39220"
    out = tmp_path / "p.json"
    assert runner.invoke(app, ["profile", "consortium", "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["x-mledger"]["serviceIdentity"]["mspid"] == "TrafficAuthorityMSP"
    res = runner.invoke(app, ["profile", "nobody"])
    assert res.exit_code == 2 and "unknown org 'nobody'" in res.output


def test_consortium_verb_prints_the_definition() -> None:
    from chaincode.consortium import render_markdown

    res = runner.invoke(app, ["consortium"])
    assert res.exit_code == 0 and res.output == render_markdown()


def test_network_sh_is_an_alias_of_the_one_cli() -> None:
    import subprocess

    from chaincode.consortium import render_markdown

    script = Path(__file__).resolve().parents[3] / "scripts" / "network.sh"
    res = subprocess.run(
        [str(script), "consortium"], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == render_markdown()
