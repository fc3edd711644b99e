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
