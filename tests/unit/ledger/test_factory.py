"""The factory picks the backend from settings, and says what is missing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.fabric import FabricLedger
from app.ledger.factory import create_ledger
from app.ledger.port import Caller, LedgerError, LedgerPort


async def test_embedded_by_default_hosting_the_mortgage_contract(tmp_path: Path) -> None:
    ledger = create_ledger(SimpleNamespace(embedded_ledger_dir=tmp_path / "l", channel="vehicles"))
    try:
        assert isinstance(ledger, EmbeddedLedger) and isinstance(ledger, LedgerPort)
        assert ledger.chaincode == "mortgage"
        config = await ledger.evaluate(
            Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"}), "GetConfig", []
        )
        assert b"ltv_cap" in config
        assert (await ledger.health())["status"] == "ok"
    finally:
        await ledger.close()


def test_fabric_needs_a_profile() -> None:
    with pytest.raises(LedgerError, match="network_profile"):
        create_ledger(SimpleNamespace(backend="fabric", network_profile=None))


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(LedgerError, match="unknown ledger backend"):
        create_ledger(SimpleNamespace(backend="couchdb"))


async def test_fabric_from_profile_and_wallet(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({"organizations": {"BankAMSP": {"peer_endpoint": "127.0.0.1:1"}}}))
    settings = SimpleNamespace(
        backend="fabric",
        network_profile=profile,
        wallet_dir=tmp_path / "wallet",
        channel="vehicles",
        chaincode="mortgage",
    )
    ledger = create_ledger(settings)
    assert isinstance(ledger, FabricLedger) and isinstance(ledger, LedgerPort)
    assert ledger._resolver("BankAMSP", "loan1").msp_dir == tmp_path / "wallet" / "BankAMSP" / "loan1" / "msp"
    await ledger.close()
