"""The gateway on the real network: per-org gateways, users enrolled by fabric-ca with their role,
the chaincode seeing the real caller, the regulator's gateway read-only, documents in kubo."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.users.enrolment import wallet_msp_dir
from chaincode.mortgage.vin import with_check_digit

pytestmark = pytest.mark.fabric
ATTRS_OID = x509.ObjectIdentifier("1.2.3.4.5.6.7.8.1")


def _profile(info: Any, root: Path, wallet: Path) -> Path:
    """The connection profile `up` wrote for a gateway serving every org (peers, CAs, registrars, the
    standard users and the service identity): what the gateways read, instead of the network tooling."""
    return Path(info.connection_profile())


def _gateway(info: Any, root: Path, org: str, wallet: Path, profile: Path) -> TestClient:
    settings = Settings(
        backend="fabric",
        orgs=[org],
        data_dir=root / org,
        network_profile=profile,
        ledger_data_dir=None,
        ipfs_url=info.kubo_rpc_url,
        token_secret=secrets.token_hex(16),
        wallet=wallet,  # one wallet shared by the test's gateways
        document_public_keys=root / "document-public-keys",  # each org's public key, shared
    )
    return TestClient(create_app(settings))


def _add_and_login(client: TestClient, username: str, role: str) -> dict[str, str]:
    from app.users.provision import provision_user
    from app.users.roles import Role

    gw = client.app.state.gw  # type: ignore[attr-defined]
    msp = gw.settings.orgs[0]
    password = secrets.token_urlsafe(12)
    user = provision_user(gw.users, gw.enroller, msp, username, Role(role), password)
    assert user.enrolled
    token = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_gateways_per_org_with_fabric_ca_users(fabric_network: Any, tmp_path: Path) -> None:
    run = secrets.token_hex(3)
    wallet = tmp_path / "wallet"
    profile = _profile(fabric_network, tmp_path, wallet)
    with (
        _gateway(fabric_network, tmp_path, "TrafficAuthorityMSP", wallet, profile) as ta,
        _gateway(fabric_network, tmp_path, "BankAMSP", wallet, profile) as bank,
        _gateway(fabric_network, tmp_path, "RegulatorMSP", wallet, profile) as regulator,
        _gateway(fabric_network, tmp_path, "InsurerMSP", wallet, profile) as insurer,
    ):
        ready = ta.get("/readyz")
        assert ready.status_code == 200, ready.text

        officer = _add_and_login(ta, f"officer-{run}", "registrar")
        loan = _add_and_login(bank, f"loan-{run}", "loan_officer")
        reg = _add_and_login(regulator, f"reg-{run}", "regulator")
        cert = x509.load_pem_x509_certificate(
            next((wallet / "BankAMSP" / f"loan-{run}" / "msp" / "signcerts").glob("*.pem")).read_bytes()
        )
        attrs = cert.extensions.get_extension_for_oid(ATTRS_OID).value
        assert isinstance(attrs, x509.UnrecognizedExtension) and b'"role":"loan_officer"' in attrs.value

        vin = with_check_digit("LSV" + secrets.token_hex(7).upper())
        vehicle = {
            "vin": vin, "plate": f"粤Z{run[:5].upper()}", "make": "GAC", "model": "Aion S", "trim": "Plus",
            "year": 2023, "configuration": {}, "registration_date": "2023-01-01",
        }  # fmt: skip
        owner = {"name": "He Yun", "id_number": f"44010119900101{run[:4]}"}
        created = ta.post("/api/v1/vehicles", json={"vehicle": vehicle, "owner": owner}, headers=officer)
        assert created.status_code == 201, created.text
        assert created.json()["validation_code"] == "VALID" and created.json()["block_number"] > 0

        # the vehicle's QR identity: issued by the registrar, verified by an anonymous scan through the
        # gateway's own qr-scanner identity, which the gateway enrolled with fabric-ca when it started
        assert wallet_msp_dir(wallet, "TrafficAuthorityMSP", "qr-scanner").joinpath("signcerts").is_dir()
        issued = ta.post(f"/api/v1/vehicles/{vin}/qr", headers=officer)
        assert issued.status_code == 201, issued.text
        scanned = ta.post("/api/v1/qr/verify", json={"payload": issued.json()["payload"]})
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["valid"] is True and scanned.json()["vin"] == vin, scanned.json()

        # the chaincode sees the bank's real identity: its rule refuses a bank registering vehicles
        refused = bank.post("/api/v1/vehicles", json={"vehicle": vehicle, "owner": owner}, headers=loan)
        assert refused.status_code == 403 and "registrar" in refused.json()["error"]["message"]
        # the regulator's gateway refuses every write before the ledger
        read_only = regulator.post("/api/v1/liens/L-x/record", headers=reg)
        assert read_only.status_code == 403 and "read-only gateway" in read_only.json()["error"]["message"]

        # documents go to kubo and are anchored on the real chain
        up = bank.post(
            "/api/v1/documents",
            headers=loan,
            data={"doc_type": "owner_consent", "vin": vin, "document_id": f"DOC-{run}"},
            files={"file": ("consent.txt", b"consent " + run.encode())},
        )
        assert up.status_code == 201, up.text
        down = bank.get(f"/api/v1/documents/DOC-{run}/content", headers=loan)
        assert down.status_code == 200 and down.content == b"consent " + run.encode()
        # wrapped for its parties' own keys: the regulator's gateway opens it, the insurer's refuses
        assert up.json()["document"]["parties"] == ["BankAMSP", "RegulatorMSP", "TrafficAuthorityMSP"]
        by_regulator = regulator.get(f"/api/v1/documents/DOC-{run}/content", headers=reg)
        assert by_regulator.status_code == 200 and by_regulator.content == b"consent " + run.encode()
        underwriter = _add_and_login(insurer, f"uw-{run}", "underwriter")
        by_insurer = insurer.get(f"/api/v1/documents/DOC-{run}/content", headers=underwriter)
        assert by_insurer.status_code == 403 and "document_parties" in by_insurer.json()["error"]["message"]

        tx = ta.get(f"/api/v1/transactions/{created.json()['tx_id']}", headers=officer)
        assert tx.status_code == 200 and tx.json()["block_number"] == created.json()["block_number"]
