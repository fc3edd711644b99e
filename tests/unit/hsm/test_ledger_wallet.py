"""A wallet user whose key is in a token, on a gateway with no HSM configured: a clear 503, never a
silent fall-back to a key file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.ledger.fabric import TOKEN_KEY_MARKER, FabricLedger
from app.ledger.port import Caller, LedgerError


async def test_token_user_without_hsm_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "channel": "vehicles",
                "chaincode": "mortgage",
                "gateway_org": "BankAMSP",
                "service_identity": {"msp_id": "BankAMSP", "user": "auditor1"},
                "wallet": "wallet",
                "organizations": {"BankAMSP": {"peer_endpoint": "127.0.0.1:1"}},
            }
        )
    )
    msp = tmp_path / "wallet" / "BankAMSP" / "hsm-user" / "msp"
    msp.mkdir(parents=True)
    (msp / TOKEN_KEY_MARKER).write_text(json.dumps({"key_label": "fabric/BankAMSP/hsm-user"}))
    ledger = FabricLedger.from_profile(profile)
    try:
        with pytest.raises(LedgerError) as info:
            await ledger.evaluate(Caller("hsm-user", "BankAMSP"), "GetVehicle", ["VIN1"])
        assert (
            info.value.status == 503 and "hsm-user@BankAMSP" in str(info.value) and "HSM" in str(info.value)
        )
    finally:
        await ledger.close()
