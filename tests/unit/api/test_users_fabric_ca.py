"""Where a gateway finds fabric-ca: its connection profile and the binary cache, not network/."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from app.users.enrolment import EnrolmentError, fabric_ca_client_binary
from app.users.fabric_profile import enroller_from_profile


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_binary_from_the_cache_install_binaries_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FABRIC_CA_CLIENT", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("MLEDGER_BIN_DIR", str(tmp_path / "bin"))
    with pytest.raises(EnrolmentError, match="fabric-ca-client not found"):
        fabric_ca_client_binary()
    versioned = _executable(tmp_path / "bin" / "fabric-ca-1.5.21" / "fabric-ca-client")
    assert fabric_ca_client_binary() == versioned
    explicit = _executable(tmp_path / "elsewhere" / "fabric-ca-client")
    monkeypatch.setenv("FABRIC_CA_CLIENT", str(explicit))
    assert fabric_ca_client_binary() == explicit


def test_enrolment_needs_a_profile_naming_the_org_ca(tmp_path: Path) -> None:
    settings = Settings(backend="fabric", orgs=["BankAMSP"], data_dir=tmp_path, token_secret="x" * 32)
    with pytest.raises(EnrolmentError, match="no network profile"):
        enroller_from_profile(settings)
    profile = tmp_path / "p.yaml"
    profile.write_text("organizations: {BankAMSP: {peer_endpoint: '127.0.0.1:1'}}\n")
    settings = Settings(
        backend="fabric", orgs=["BankAMSP"], data_dir=tmp_path, token_secret="x" * 32, network_profile=profile
    )
    with pytest.raises(EnrolmentError, match="no fabric-ca with a registrar for \\['BankAMSP'\\]"):
        enroller_from_profile(settings)
