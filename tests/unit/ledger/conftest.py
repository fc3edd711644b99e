"""Fixtures: an embedded ledger in a temp dir hosting the small test contract, and callers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.ledger.embedded.ledger import MORTGAGE_POLICY, ChaincodeSpec, EmbeddedLedger
from app.ledger.port import Caller

CONTRACT = "tests.unit.ledger.contracts:LedgerTestContract"
OFFICER = Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"})
BANK_A = Caller("loan1", "BankAMSP", {"role": "loan_officer"})
INSURER = Caller("underwriter1", "InsurerMSP", {"role": "underwriter"})
DEALER = Caller("dealer1", "DealerMSP", {"role": "dealer"})
REGULATOR = Caller("regulator1", "RegulatorMSP", {"role": "regulator"})


def test_spec(tmp: Path) -> ChaincodeSpec:
    collections = tmp / "collections.json"
    collections.write_text(
        json.dumps(
            [
                {
                    "name": "taBank",
                    "policy": "OR('TrafficAuthorityMSP.member','BankAMSP.member')",
                    "requiredPeerCount": 0,
                    "maxPeerCount": 1,
                    "blockToLive": 0,
                    "memberOnlyRead": True,
                    "memberOnlyWrite": True,
                },
                {
                    "name": "regulatorOnly",
                    "policy": "OR('RegulatorMSP.member')",
                    "requiredPeerCount": 0,
                    "maxPeerCount": 1,
                    "blockToLive": 0,
                    "memberOnlyRead": False,
                    "memberOnlyWrite": False,
                },
                {
                    "name": "openRead",
                    "policy": "OR('TrafficAuthorityMSP.member')",
                    "requiredPeerCount": 0,
                    "maxPeerCount": 1,
                    "blockToLive": 0,
                    "memberOnlyRead": False,
                    "memberOnlyWrite": False,
                },
            ]
        )
    )
    return ChaincodeSpec("ledgertest", [CONTRACT], MORTGAGE_POLICY, collections)


test_spec.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def spec(tmp_path: Path) -> ChaincodeSpec:
    return test_spec(tmp_path)


@pytest.fixture
async def ledger(tmp_path: Path, spec: ChaincodeSpec) -> AsyncIterator[EmbeddedLedger]:
    led = EmbeddedLedger(tmp_path / "ledger", chaincodes=[spec])
    try:
        yield led
        # every test's ledger must replay to exactly its stored state (metadata, deletes, private data)
        assert led.verify(deep=True) == led.height()
    finally:
        await led.close()
