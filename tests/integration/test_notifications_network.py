"""Notifications on the real network: a chaincode event committed by Fabric peers becomes a signed
webhook delivered to the lienholder's receiver (the BankB gateway's notifier follows the peer's
ChaincodeEvents stream from its checkpoint)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration import payloads
from tests.integration.test_mortgage_lifecycle import Actors, contract, ensure_models, owner
from tests.unit.notifications.receiver import Receiver

pytestmark = pytest.mark.fabric


def _login(client: TestClient, username: str, role: str) -> dict[str, str]:
    from app.users.provision import provision_user
    from app.users.roles import Role

    gw = client.app.state.gw  # type: ignore[attr-defined]
    password = secrets.token_urlsafe(12)
    provision_user(gw.users, gw.enroller, gw.settings.orgs[0], username, Role(role), password)
    token = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_a_seizure_on_the_network_reaches_the_lienholders_webhook(
    fabric_network: FabricNetworkInfo, tmp_path: Path
) -> None:
    net = fabric_network
    ensure_models(net)
    settings = Settings(
        backend="fabric",
        orgs=["BankBMSP"],
        data_dir=tmp_path / "bankb",
        network_profile=Path(net.connection_profile()),
        ipfs_url=net.kubo_rpc_url,
        token_secret=secrets.token_hex(16),
        wallet=tmp_path / "wallet",
        notify_allow_http_hosts=["127.0.0.1"],
        notify_backoff_seconds=0.2,
        notify_backoff_max_seconds=0.5,
    )
    receiver = Receiver(fail_first=1).start()
    actors = Actors(net)
    run = actors.run
    vin = with_check_digit(f"LNT{run.upper()}000000")
    try:
        with TestClient(create_app(settings)) as bank:
            headers = _login(bank, f"notify-{run}", "loan_officer")
            created = bank.post(
                "/api/v1/notifications/subscriptions", json={"url": receiver.url}, headers=headers
            )
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            with (
                contract(net, "TrafficAuthority", "officer1") as officer,
                contract(net, "BankB", "loan1") as bank_b,
            ):
                transient, _ = owner(f"notify-{run}")
                plate = f"京N{run[:5].upper()}"
                actors.commit(officer, "RegisterVehicle", payloads.vehicle(vin, plate), transient=transient)
                valuation = payloads.valuation(f"V-{run}", vin, 100000)
                actors.commit(officer, "RecordValuation", valuation)
                consent = actors.doc(bank_b, "owner_consent", vin)
                lien = payloads.lien_request(f"LN-{run}", vin, "50000", consent, loan=f"LN-{run}")
                actors.commit(bank_b, "RequestLien", lien)
                actors.commit(officer, "RecordLien", f"LN-{run}")
                order = actors.doc(officer, "seizure_order", vin)
                seized = actors.commit(
                    officer,
                    "SeizeVehicle",
                    vin,
                    json.dumps({"document_id": order, "authority": "Beijing court", "reason": "dispute"}),
                )
            deadline = time.monotonic() + 60
            while not receiver.accepted and time.monotonic() < deadline:
                time.sleep(0.2)
            inbox: Any = bank.get("/api/v1/notifications", headers=headers).json()
    finally:
        receiver.stop()
    assert len(receiver.accepted) == 1, (receiver.attempts, inbox)
    ((key, body),) = receiver.accepted.items()
    assert body["type"] == "VehicleSeized" and body["vin"] == vin and body["party"] == "org:BankBMSP"
    assert body["tx_id"] == seized.transaction_id and receiver.attempts[key] == 2
    assert receiver.bad_signatures == 0
    assert [n["event_name"] for n in inbox["notifications"] if n["vin"] == vin] == ["VehicleSeized"]
