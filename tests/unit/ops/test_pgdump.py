"""The store's password reaches pg_dump / pg_restore in their environment, never on a command line, and
a tool's failure names the step (without the password)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.ops import pgdump
from app.ops.backup_crypto import BackupError


def test_the_password_is_in_the_environment_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append((args, kwargs["env"]))
        return subprocess.CompletedProcess(args, 0, "1; 0 0 TABLE public users mledger\n", "")

    monkeypatch.setattr(pgdump.subprocess, "run", fake_run)
    url = "postgresql://mledger@127.0.0.1:5432/store"
    pgdump.pg_dump(url, "s3cret-pass", tmp_path / "store.pgdump")
    pgdump.pg_restore(tmp_path / "store.pgdump", url, "s3cret-pass", clean=True)
    assert calls and all("s3cret-pass" not in " ".join(args) for args, _ in calls)
    assert [env.get("PGPASSWORD") for _, env in calls] == ["s3cret-pass", None, "s3cret-pass"]
    assert "--single-transaction" in calls[2][0] and "--clean" in calls[2][0]


def test_a_failing_tool_names_the_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "pg_dump: error: connection to server failed\n")

    monkeypatch.setattr(pgdump.subprocess, "run", failing)
    with pytest.raises(BackupError, match=r"^pg_dump of the store: pg_dump: error: connection to server"):
        pgdump.pg_dump("postgresql://mledger@127.0.0.1:1/x", "pw", tmp_path / "d")


def test_a_dump_without_tables_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "store.pgdump"
    bogus.write_bytes(b"not a dump")
    with pytest.raises(BackupError, match=r"^store\.pgdump: pg_restore --list: "):
        pgdump.pg_list(bogus)
