"""scripts/install-binaries builds Fabric releases only: anything else is a clear error, never a fallback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "install-binaries"


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "MLEDGER_BIN_DIR": str(tmp_path / "bin"), **env}
    return subprocess.run([str(SCRIPT), "fabric"], env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("version", ["2.5.16", "2.5-snapshot-695dd57", "3.1.5"])
def test_a_version_that_is_not_a_pinned_release_is_refused(tmp_path: Path, version: str) -> None:
    res = _run(tmp_path, FABRIC_VERSION=version)
    assert res.returncode == 1
    assert f"FABRIC_VERSION={version} is not a supported Fabric release (2.5.9, 3.1.1)" in res.stderr
    assert not (tmp_path / "bin").exists()  # nothing built, nothing linked


def test_another_module_version_under_a_release_name_is_refused(tmp_path: Path) -> None:
    res = _run(
        tmp_path, FABRIC_VERSION="2.5.9", FABRIC_MODULE_VERSION="v1.4.0-rc1.0.20230405174026-695dd57e01c2"
    )
    assert res.returncode == 1
    assert "is not Fabric 2.5.9 (v1.4.0-rc1.0.20240618194258-7c3876255bf0)" in res.stderr


def test_a_built_release_is_reused_by_its_stamp(tmp_path: Path) -> None:
    dest = tmp_path / "bin" / "fabric-3.1.1"
    (dest / "config").mkdir(parents=True)
    for b in ("peer", "orderer", "configtxgen", "configtxlator", "osnadmin", "discover"):
        (dest / b).write_text("#!/bin/sh\n")
        (dest / b).chmod(0o755)
    (dest / "config" / "core.yaml").write_text("")
    (dest / ".stamp").write_text("v1.4.0-rc1.0.20250510200036-435a7f1a780a\n")
    res = _run(tmp_path, FABRIC_VERSION="3.1.1")
    assert res.returncode == 0, res.stderr
    assert "fabric 3.1.1: reusing" in res.stderr
