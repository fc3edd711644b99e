"""Issue 16's owner sign-in on real Fabric and a real fabric-ca: the vehicle office's gateway enrols its
`owner-desk` service identity with the office's CA at start (once: a restart reuses it, a wiped wallet
re-enrols it), and an owner enrolled by that CA signs in by challenge with the key that never leaves the
owner's device; every read of the owner's pages runs as `owner-desk` through the real peers."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.users.owner_signin import sign_challenge
from chaincode import consortium
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration.test_lien_law_network import register
from tests.integration.test_mortgage_lifecycle import Actors, Committer, contract, ensure_models
from tests.integration.test_owner_consents_network import enrol_owner

pytestmark = pytest.mark.fabric
OFFICE = "TrafficAuthorityMSP"


def _office_settings(net: FabricNetworkInfo, home: Path) -> Settings:
    return Settings(
        backend="fabric",
        orgs=[OFFICE],
        data_dir=home / "data",
        network_profile=Path(net.connection_profile()),
        ipfs_url=net.kubo_rpc_url,
        token_secret=secrets.token_hex(16),
        wallet=home / "wallet",
    )


def _desk_dir(settings: Settings) -> Path:
    assert settings.wallet is not None
    return settings.wallet / OFFICE / consortium.OWNER_DESK_USER


def _desk_cert(settings: Settings) -> bytes:
    signcerts = _desk_dir(settings) / "msp" / "signcerts"
    return b"".join(p.read_bytes() for p in sorted(signcerts.glob("*.pem")))


def _sign_in(office: TestClient, account: str, key_pem: bytes) -> Any:
    found = office.post("/api/v1/owner-auth/challenge", json={"account_id": account})
    assert found.status_code == 200, found.text
    body = found.json()
    answer = {
        "challenge_id": body["challenge_id"],
        "account_id": account,
        "signature": sign_challenge(key_pem, body["document"]),
    }
    return office.post("/api/v1/owner-auth/response", json=answer)


def test_owner_signs_in_through_the_office_gateway_on_fabric(
    fabric_network: FabricNetworkInfo, tmp_path: Path
) -> None:
    net = fabric_network
    ensure_models(net)
    actors = Actors(net)
    commit = Committer(net)
    run = actors.run
    vin = with_check_digit(f"LSG{run.upper()}000017")
    alice, bob = f"owner-s{run}", f"owner-t{run}"
    alice_cert, alice_key = enrol_owner(net, tmp_path / "alice-device", alice)
    _, bob_key = enrol_owner(net, tmp_path / "bob-device", bob)
    alice_pem = alice_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    bob_pem = bob_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "BankA", "loan1") as bank,
    ):
        register(actors, commit, officer, bank, vin, "own")
        commit(
            officer,
            "EnrolOwner",
            f'{{"certificate_pem": {alice_cert!r}, "vins": ["{vin}"]}}'.replace("'", '"'),
        )

    settings = _office_settings(net, tmp_path / "office")
    with TestClient(create_app(settings)) as office:
        desk = _desk_cert(settings)
        assert b"BEGIN CERTIFICATE" in desk, "owner-desk was not enrolled at the office's fabric-ca"

        # Bob's key (another enrolment of the same CA) does not answer Alice's challenge
        refused = _sign_in(office, alice, bob_pem)
        assert refused.status_code == 401, refused.text
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["signature"]

        signed = _sign_in(office, alice, alice_pem)
        assert signed.status_code == 200, signed.text
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        me = office.get("/api/v1/owner/me", headers=headers)
        assert me.status_code == 200 and me.json()["account_id"] == alice, me.text
        mine = office.get("/api/v1/owner/vehicles", headers=headers)
        assert mine.status_code == 200, mine.text
        assert [v["vin"] for v in mine.json()] == [vin]
        detail = office.get(f"/api/v1/owner/vehicles/{vin}", headers=headers)
        assert detail.status_code == 200 and detail.json()["vin"] == vin, detail.text

    # a restart reuses the enrolled identity; a wiped wallet is enrolled again with the CA that knows it
    with TestClient(create_app(settings)):
        assert _desk_cert(settings) == desk
    shutil.rmtree(_desk_dir(settings))
    with TestClient(create_app(settings)) as office:
        again = _desk_cert(settings)
        assert b"BEGIN CERTIFICATE" in again and again != desk
        assert _sign_in(office, alice, alice_pem).status_code == 200
