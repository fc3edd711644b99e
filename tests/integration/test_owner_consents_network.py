"""Issue 16.1 on real Fabric peers: an owner enrolled by the vehicle office's fabric-ca (role owner) signs a
consent with their own key; the chaincode on the endorsing peers verifies it against the certificate the
office registered, refuses one signed by another owner or over other terms, and the lien carries it."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.fabric_gateway import EndorseError
from app.users.enrolment import FabricCaEnroller
from app.users.fabric_profile import configs_from_profile
from app.users.roles import Role
from chaincode.mortgage.owners import canonical_json
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration.test_lien_law_network import register
from tests.integration.test_mortgage_lifecycle import (
    CC,
    Actors,
    Committer,
    contract,
    ensure_models,
    error_text,
)


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    pid = fabric_network.chaincodes.get(CC, "")
    assert pid.startswith(CC), f"chaincode {CC} is not deployed: {pid}"
    ensure_models(fabric_network)
    return fabric_network


def enrol_owner(net: FabricNetworkInfo, wallet: Path, account: str) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """The office registers the owner at its fabric-ca (role owner); the enrolment runs on the owner's side
    (here: a wallet of the test standing for the owner's device) and the key never leaves it."""
    cas = configs_from_profile(net.connection_profile("TrafficAuthority"))
    enrolled = FabricCaEnroller(cas["TrafficAuthorityMSP"], wallet).enroll(
        "TrafficAuthorityMSP", account, Role.owner, secrets.token_urlsafe(18)
    )
    assert enrolled.msp_dir is not None
    cert = next((enrolled.msp_dir / "signcerts").glob("*.pem")).read_text()
    key = serialization.load_pem_private_key(
        next((enrolled.msp_dir / "keystore").glob("*")).read_bytes(), None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def sign(key: ec.EllipticCurvePrivateKey, document: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical_json(document), ec.ECDSA(hashes.SHA256()))).decode()


def test_owner_signed_consent_is_verified_by_the_chaincode_on_fabric(
    net: FabricNetworkInfo, tmp_path: Path
) -> None:
    actors = Actors(net)
    commit = Committer(net)
    run = actors.run
    vin = with_check_digit(f"LWN{run.upper()}000016")
    other_vin = with_check_digit(f"LWX{run.upper()}000016")
    alice, bob = f"owner-a{run}", f"owner-b{run}"
    alice_cert, alice_key = enrol_owner(net, tmp_path / "alice-device", alice)
    bob_cert, bob_key = enrol_owner(net, tmp_path / "bob-device", bob)
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "BankA", "loan1") as bank,
    ):
        register(actors, commit, officer, bank, vin, "alice")
        register(actors, commit, officer, bank, other_vin, "bob")
        commit(officer, "EnrolOwner", json.dumps({"certificate_pem": alice_cert, "vins": [vin]}))
        commit(officer, "EnrolOwner", json.dumps({"certificate_pem": bob_cert, "vins": [other_vin]}))
        account = json.loads(officer.evaluate_transaction("GetOwnerAccount", alice))
        assert account["vins"] == [vin] and "CN=ca.trafficauthority" in account["issuer"]

        consent_id = f"OC-{run}"
        lien_id = f"L-{run}"
        maturity = (date.today() + timedelta(days=1000)).isoformat()
        terms = {"lien_id": lien_id, "secured_amount": "50000", "currency": "CNY", "maturity_date": maturity}
        request = {"consent_id": consent_id, "vin": vin, "kind": "lien_request", "terms": terms}
        commit(bank, "RequestOwnerConsent", json.dumps(request))
        shown = json.loads(bank.evaluate_transaction("GetOwnerConsent", consent_id))
        assert shown["status"] == "REQUESTED" and shown["owner_account"] == alice
        document = json.loads(shown["signed_document"])

        # signed by another owner (Bob's fabric-ca key): refused by the chaincode on the peers
        with pytest.raises(EndorseError) as refused:
            commit(bank, "SignOwnerConsent", consent_id, json.dumps({"signature": sign(bob_key, document)}))
        assert "field 'signature'" in error_text(refused.value) and alice in error_text(refused.value)
        # signed over other terms: refused, naming the field once the signed document is shown
        other = {**document, "terms": {**document["terms"], "secured_amount": "90000.00"}}
        body = {"signature": sign(alice_key, other), "signed_terms": json.dumps(other)}
        with pytest.raises(EndorseError) as refused:
            commit(bank, "SignOwnerConsent", consent_id, json.dumps(body))
        assert "field 'terms.secured_amount'" in error_text(refused.value)
        assert json.loads(bank.evaluate_transaction("GetOwnerConsent", consent_id))["status"] == "REQUESTED"

        # Alice's own signature verifies; the lien carries it
        commit(bank, "SignOwnerConsent", consent_id, json.dumps({"signature": sign(alice_key, document)}))
        lien = {
            "lien_id": lien_id,
            "vin": vin,
            "loan_number": f"LN-{lien_id}",
            "mortgage_contract_number": f"MC-{lien_id}",
            "secured_amount": "50000",
            "currency": "CNY",
            "maturity_date": maturity,
            "owner_consent_id": consent_id,
        }
        commit(bank, "RequestLien", json.dumps(lien))
        recorded = json.loads(bank.evaluate_transaction("GetLien", lien_id))
        assert recorded["consent_method"] == "owner_signature" and recorded["owner_consent_id"] == consent_id
        assert json.loads(bank.evaluate_transaction("GetOwnerConsent", consent_id))["status"] == "USED"
