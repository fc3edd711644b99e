"""A ledger backend that cannot start does not stop the gateway: every ledger call answers 503."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.api.ledger_provider import UnavailableLedger, build_ledger
from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.port import LedgerUnavailable
from app.settings import Settings


def test_a_fabric_backend_without_a_profile_is_an_unavailable_ledger_naming_why(tmp_path: Path) -> None:
    ledger = build_ledger(Settings(data_dir=tmp_path / "gw", backend="fabric", network_profile=None))
    assert isinstance(ledger, UnavailableLedger)
    assert "network profile" in ledger.reason
    with pytest.raises(LedgerUnavailable) as refused:
        asyncio.run(ledger.transaction_origin("a" * 64))
    assert refused.value.status == 503
    assert asyncio.run(ledger.health())["backend"].startswith("down: fabric backend could not start")


def test_the_embedded_backend_is_built_by_the_factory(tmp_path: Path) -> None:
    ledger = build_ledger(Settings(data_dir=tmp_path / "gw"))
    try:
        assert isinstance(ledger, EmbeddedLedger)
    finally:
        asyncio.run(ledger.close())
