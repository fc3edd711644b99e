"""Search certificates on real Fabric peers with fabric-ca identities: a dealer reads the facts of a car
with two liens, signs the certificate with its enrolled identity, records the hash (a VALID transaction);
any consortium identity reads the record back and the signature verifies offline with the dealer org's
fabric-ca root certificate (cacerts/), not with another org's."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.certificates.document import SigningIdentity, load_trusted, sign, verify
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration.test_mortgage_lifecycle import CC, Actors, Committer, contract, owner


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    pid = fabric_network.chaincodes.get(CC, "")
    assert pid.startswith(CC), f"chaincode {CC} is not deployed: {pid}"
    return fabric_network


def test_certificate_hash_is_recorded_on_chain_and_readable(net: FabricNetworkInfo) -> None:
    run = Actors(net).run
    commit = Committer(net)
    car = with_check_digit(f"LSC{run.upper()}000019")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "Dealer", "dealer1", via="TrafficAuthority") as dealer,
        contract(net, "Regulator", "regulator1") as regulator,
    ):
        transient, _ = owner(f"certificate-{run}")
        vehicle = {
            "vin": car,
            "plate": f"沪C{run[:5].upper()}",
            "make": "BYD",
            "model": "Han",
            "year": 2025,
            "registration_date": today,
        }
        commit(officer, "RegisterVehicle", json.dumps(vehicle), transient=transient)
        facts = json.loads(dealer.evaluate_transaction("GetSearchFacts", car))
        assert facts["vin"] == car and facts["liens"] == [] and facts["odometer_anomaly"] is False

        ident = net.identity("Dealer", "dealer1")
        signer = SigningIdentity.from_pem("DealerMSP", ident.key_pem, ident.cert_pem)
        number = f"SC-{dt.datetime.now(dt.UTC):%Y%m%d}-{run.upper()}0000"
        body = {
            "certificate_number": number,
            "vin": car,
            "as_of": {"block": 0, "height": 1, "time": facts["as_of"]},
            "issued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "issuer": {"msp_id": "DealerMSP", "name": "Dealer"},
            "facts": facts,
            "requested_by": {
                "msp_id": "DealerMSP",
                "org_name": "Dealer",
                "user": "dealer1",
                "basis": "dealer",
            },
            "verify_url": f"http://127.0.0.1/certificates/{number}",
        }
        document = sign(body, signer)
        record = {
            "certificate_number": number,
            "vin": car,
            "sha256": document["sha256"],
            "as_of_block": 0,
            "issuer": "DealerMSP",
        }
        submitted = commit(dealer, "RecordSearchCertificate", json.dumps(record))
        assert submitted.status.code_name == "VALID"

        on_chain = json.loads(regulator.evaluate_transaction("GetSearchCertificate", number))
        assert on_chain["sha256"] == document["sha256"] and on_chain["requested_by"] == "DealerMSP"
        assert on_chain["tx_id"] == submitted.transaction_id

    cacerts = sorted((ident.cert_path.parent.parent / "cacerts").glob("*.pem"))
    assert cacerts, "the dealer org's fabric-ca root certificate"
    assert verify(document, load_trusted(cacerts[0].read_bytes())).ok
    bank = net.identity("BankA", "loan1")
    bank_ca = sorted((bank.cert_path.parent.parent / "cacerts").glob("*.pem"))[0]
    assert not verify(document, load_trusted(bank_ca.read_bytes())).ok
