"""The ledger port's transaction_origin on the real network: the Fabric adapter reads the creator MSP
and block of a committed transaction through qscc, as the embedded ledger does from its own blocks."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from app.ledger.port import TxOrigin
from chaincode.mortgage.vin import with_check_digit
from tests.integration.test_gateway_api import _add_and_login, _gateway, _profile

pytestmark = pytest.mark.fabric


def test_fabric_adapter_names_the_creator_and_block_of_a_transaction(
    fabric_network: Any, tmp_path: Path
) -> None:
    run = secrets.token_hex(3)
    wallet = tmp_path / "wallet"
    profile = _profile(fabric_network, tmp_path, wallet)
    with _gateway(fabric_network, tmp_path, "TrafficAuthorityMSP", wallet, profile) as ta:
        officer = _add_and_login(ta, f"officer-{run}", "registrar")
        vin = with_check_digit("LSV" + secrets.token_hex(7).upper())
        vehicle = {
            "vin": vin, "plate": f"粤Y{run[:5].upper()}", "make": "GAC", "model": "Aion S", "trim": "Plus",
            "year": 2023, "configuration": {}, "registration_date": "2023-01-01",
        }  # fmt: skip
        owner = {"name": "He Yun", "id_number": f"44010119900101{run[:4]}"}
        created = ta.post("/api/v1/vehicles", json={"vehicle": vehicle, "owner": owner}, headers=officer)
        assert created.status_code == 201, created.text
        tx_id, block = created.json()["tx_id"], created.json()["block_number"]

        ledger = ta.app.state.gw.ledger  # type: ignore[attr-defined]
        origin = ta.portal.call(ledger.transaction_origin, tx_id)  # type: ignore[union-attr]
        assert origin == TxOrigin(tx_id=tx_id, block_number=block, creator_msp_id="TrafficAuthorityMSP")
        assert ta.portal.call(ledger.transaction_origin, "0" * 64) is None  # type: ignore[union-attr]
