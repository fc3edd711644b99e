"""The one atomic key-file writer: mode, replacement, and no temporary left behind on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ipfs.private_file import write_file_atomically


def test_writes_owner_only_by_default_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "k.key"
    write_file_atomically(target, b"one")
    write_file_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key"]


def test_mode_parameter_applies(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_file_atomically(tmp_path / "c.crt", b"pem", 0o644)
    finally:
        os.umask(old)
    assert (tmp_path / "c.crt").stat().st_mode & 0o777 == 0o644


def test_failed_replace_keeps_old_file_and_removes_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "k.key"
    target.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_file_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key"]
