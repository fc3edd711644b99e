"""The Mortgage-Asset chaincode through real Fabric peers, with each org's own fabric-ca identities.

One lifecycle: register → insure → value → lien → second lien → refused transfer → release → transfer
(while mortgaged, with the lienholder's consent) → foreclosure → disposal. The key-level endorsement on
the vehicle key is checked where Fabric enforces it: the same transfer is ENDORSEMENT_POLICY_FAILURE when
the lienholder's peer did not endorse, and VALID when it did.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2

from app.fabric_gateway import (
    CommitError,
    Contract,
    EndorseError,
    EvaluateError,
    connect,
    create_channel,
    load_pem_files,
)
from app.fabric_gateway.contract import Submitted
from chaincode.mortgage.vin import with_check_digit
from network.fixture import FabricNetworkInfo
from tests.integration import payloads

CC = "mortgage"
TA, BANKA, BANKB, INSURER = "TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP"


@contextmanager
def contract(net: FabricNetworkInfo, org: str, user: str, via: str | None = None) -> Iterator[Contract]:
    """A Gateway contract for ``user`` of ``org``, connected to the peer of ``via`` (default: its own)."""
    peer = net.org(via or org)
    ident = net.identity(org, user)
    identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
    assert peer.peer_endpoint is not None
    with create_channel(peer.peer_endpoint, tls_root_certificates=peer.peer_tls_ca.read_bytes()) as ch:
        yield connect(identity, signer, ch).get_network(net.channel).get_contract(CC)


def error_text(exc: EndorseError | EvaluateError) -> str:
    return str(exc.message) + " " + " ".join(d.message for d in exc.details)


def eventually(read: Callable[[], dict[str, Any]], status: str, timeout: float = 15.0) -> dict[str, Any]:
    """Poll a read until the record reaches ``status`` (peers commit blocks independently)."""
    deadline = time.monotonic() + timeout
    while True:
        record = read()
        if record.get("status") == status or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def endorsers(net: FabricNetworkInfo, block_number: int, tx_id: str) -> tuple[list[str], int]:
    """The MSP IDs that endorsed ``tx_id`` and its validation code, read from the committed block."""
    org = net.org("TrafficAuthority")
    ident = net.identity("TrafficAuthority", "auditor1")
    identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
    assert org.peer_endpoint is not None
    with create_channel(org.peer_endpoint, tls_root_certificates=org.peer_tls_ca.read_bytes()) as ch:
        network = connect(identity, signer, ch).get_network(net.channel)
        with network.block_events(start_block=block_number, timeout=30) as blocks:
            block = next(iter(blocks))
    codes = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
    for index, raw in enumerate(block.data.data):
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
        if common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id != tx_id:
            continue
        tx = transaction_pb2.Transaction.FromString(payload.data)
        action = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
        msps = sorted(
            identities_pb2.SerializedIdentity.FromString(e.endorser).mspid for e in action.action.endorsements
        )
        return msps, codes[index]
    raise AssertionError(f"tx {tx_id} not in block {block_number}")


PEER_ORGS = ("TrafficAuthority", "BankA", "BankB", "Insurer", "Regulator")


class Committer:
    """Submit, then wait until every peer has committed that block.

    Each org's client talks to its own peer; the Gateway confirms a commit on the gateway peer only, so
    the next org's peer may still be a block behind (reads would miss the new state).
    """

    def __init__(self, net: FabricNetworkInfo) -> None:
        self.net = net
        self.pool = ThreadPoolExecutor(max_workers=len(PEER_ORGS))

    def __call__(self, who: Contract, name: str, *args: str, **kw: Any) -> Submitted:
        submitted = who.submit(name, *args, **kw)
        self.wait(submitted.status.block_number)
        return submitted

    def wait(self, block: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while min(self.pool.map(self.net.height, PEER_ORGS)) <= block:
            assert time.monotonic() < deadline, f"peers did not reach block {block}"
            time.sleep(0.1)


def owner(label: str) -> tuple[dict[str, bytes], str]:
    id_number = f"ID-{label}".upper()
    salt = hashlib.sha256(label.encode()).digest()[:16]
    transient = {
        "owner": json.dumps({"name": f"Owner {label}", "id_number": id_number}).encode(),
        "owner_salt": salt,
    }
    return transient, hashlib.sha256(salt + id_number.encode()).hexdigest()


MODEL_VERSIONS = (("residual-lgbm", "1.0.0"), ("residual-lgbm", "1.0.1"))


def ensure_models(net: FabricNetworkInfo) -> None:
    """The valuation model versions the tests name, registered on chain by BankA's model administrator."""
    with contract(net, "BankA", "models1") as models:
        for model_id, version in MODEL_VERSIONS:
            card = hashlib.sha256(f"model card {model_id} {version}".encode()).hexdigest()
            body = {"model_id": model_id, "model_version": version, "model_card_sha256": card}
            try:
                Committer(net)(models, "RegisterModelVersion", json.dumps(body))
            except EndorseError as exc:  # a reused network already has it
                assert "already registered" in error_text(exc), error_text(exc)


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    pid = fabric_network.chaincodes.get(CC, "")
    assert pid.startswith(CC), f"chaincode {CC} is not deployed: {pid}"
    ensure_models(fabric_network)
    return fabric_network


class Actors:
    """Each org's user, connected to its own peer (the dealer, with no peer, through the vehicle office's)."""

    def __init__(self, net: FabricNetworkInfo) -> None:
        self.net = net
        self.run = uuid.uuid4().hex[:8]
        self.commit = Committer(net)

    def doc(self, who: Contract, doc_type: str, vin: str, lien_id: str | None = None) -> str:
        """Anchor a document (the commit is awaited on every peer)."""
        doc_id = f"D-{self.run}-{uuid.uuid4().hex[:6]}"
        body = f"{doc_type}:{doc_id}".encode()
        document: dict[str, Any] = {
            "document_id": doc_id,
            "doc_type": doc_type,
            "cid": "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
            "encryption_key_ref": f"kms://it/{doc_id}",
            "vin": vin,
        }
        if lien_id:
            document["lien_id"] = lien_id
        self.commit(who, "AnchorDocument", json.dumps(document))
        return doc_id


def test_mortgage_lifecycle_on_fabric(net: FabricNetworkInfo) -> None:
    actors = Actors(net)
    commit = Committer(net)
    run = actors.run
    vin = with_check_digit(f"LSV{run.upper()}000000")  # China WMI: check digit verified; hex has no I/O/Q
    l1, l2 = f"L1-{run}", f"L2-{run}"
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "TrafficAuthority", "admin") as ta_admin,
        contract(net, "BankA", "loan1") as bank_a,
        contract(net, "BankB", "loan1") as bank_b,
        contract(net, "Insurer", "underwriter1") as insurer,
        contract(net, "Dealer", "dealer1", via="TrafficAuthority") as dealer,
        contract(net, "Regulator", "regulator1") as regulator,
        contract(net, "Regulator", "regulator1", via="TrafficAuthority") as regulator_on_ta,
        contract(net, "BankA", "auditor1", via="TrafficAuthority") as auditor,
    ):
        commit(ta_admin, "SetConfig", json.dumps({"ltv_cap": "0.8", "valuation_max_age_days": 90}))
        first_transient, first_hash = owner(f"first-{run}")
        registered = commit(
            officer,
            "RegisterVehicle",
            json.dumps(
                {
                    "vin": vin,
                    "plate": f"沪A{run[:5].upper()}",
                    "make": "BYD",
                    "model": "Han",
                    "trim": "EV",
                    "year": 2025,
                    "configuration": {"battery_kwh": 85},
                    "registration_date": "2025-06-01",
                }
            ),
            transient=first_transient,
        )
        start_block = registered.status.block_number
        assert json.loads(registered.result)["owner_hash"] == first_hash

        # owner data: private collection, readable by the regulator, not by the insurer
        assert (
            json.loads(regulator_on_ta.evaluate_transaction("GetOwner", vin))["name"] == f"Owner first-{run}"
        )
        with pytest.raises(EvaluateError) as denied:
            insurer.evaluate_transaction("GetOwner", vin)
        assert "access denied by rule 'owner_read'" in error_text(denied.value)

        commit(
            insurer,
            "RecordInsurancePolicy",
            json.dumps(
                {
                    "policy_id": f"P-{run}",
                    "vin": vin,
                    "coverage": {"type": "comprehensive", "amount": "200000", "currency": "CNY"},
                    "valid_from": "2025-06-01",
                    "valid_to": "2030-06-01",
                }
            ),
        )
        commit(dealer, "RecordOdometer", json.dumps({"vin": vin, "odometer_km": 12000, "source": "service"}))
        commit(  # the vehicle office values it; a bank may only once it requested a lien on it
            officer,
            "RecordValuation",
            payloads.valuation(f"V-{run}", vin, 200000, inputs_hash="ab" * 32),
        )

        def request(bank: Contract, lien_id: str, amount: str) -> None:
            consent = actors.doc(bank, "owner_consent", vin)
            commit(
                bank,
                "RequestLien",
                payloads.lien_request(lien_id, vin, amount, consent, maturity="2030-01-01"),
            )

        request(bank_a, l1, "100000")
        recorded = json.loads(commit(officer, "RecordLien", l1, endorsing_organizations=[TA, BANKA]).result)
        assert (recorded["status"], recorded["priority"]) == ("RECORDED", 1)

        # a second lien that would break the LTV cap is refused with both figures
        request(bank_b, l2, "70000")
        with pytest.raises(EndorseError) as ltv:
            commit(officer, "RecordLien", l2, endorsing_organizations=[TA, BANKA])
        assert "secured total 170000.00 CNY > cap 160000.00 CNY" in error_text(ltv.value)
        commit(
            bank_a,
            "RecordValuation",
            payloads.valuation(
                f"V2-{run}",
                vin,
                220000,
                interval=(200000, 240000),
                inputs_hash="cd" * 32,
                model_version="1.0.1",
            ),
        )
        # the vehicle key now requires TrafficAuthority AND BankA: BankA's peer must endorse
        second = json.loads(
            commit(officer, "RecordLien", l2, endorsing_organizations=[TA, BANKA, BANKB]).result
        )
        assert second["priority"] == 2

        buyer_transient, buyer_hash = owner(f"buyer-{run}")
        with pytest.raises(EndorseError) as refused:
            commit(
                officer,
                "TransferTitle",
                vin,
                json.dumps({"new_owner_hash": buyer_hash, "reason": "private sale"}),
                transient=buyer_transient,
            )
        assert (
            f"transfer refused: vehicle {vin} has recorded lien(s) {l1} held by {BANKA}, {l2} held by {BANKB}"
            in (error_text(refused.value))
        )

        released = json.loads(
            commit(bank_b, "ReleaseLien", l2, endorsing_organizations=[TA, BANKA, BANKB]).result
        )
        assert released["status"] == "RELEASED"

        consent = actors.doc(officer, "lienholder_consent", vin)
        transfer = json.dumps(
            {
                "new_owner_hash": buyer_hash,
                "reason": "sale with lien",
                "lienholder_consent_document_id": consent,
            }
        )
        # the chaincode accepts (consent anchored) but the ledger refuses: BankA's peer did not endorse
        with pytest.raises(CommitError) as sbe:
            commit(
                officer,
                "TransferTitle",
                vin,
                transfer,
                transient=buyer_transient,
                endorsing_organizations=[TA, INSURER],
            )
        assert sbe.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
        # what the validators saw: a policy-satisfying 2 of 4, but not the lienholder's endorsement
        assert endorsers(net, sbe.value.block_number, sbe.value.transaction_id) == ([INSURER, TA], 10)
        assert json.loads(auditor.evaluate_transaction("GetVehicle", vin))["owner_hash"] == first_hash
        moved = commit(
            officer,
            "TransferTitle",
            vin,
            transfer,
            transient=buyer_transient,
            endorsing_organizations=[TA, BANKA],
        )
        assert endorsers(net, moved.status.block_number, moved.transaction_id) == ([BANKA, TA], 0)
        assert json.loads(moved.result)["owner_hash"] == buyer_hash

        notice = actors.doc(bank_a, "foreclosure_notice", vin, l1)
        commit(bank_a, "StartForeclosure", l1, notice, endorsing_organizations=[TA, BANKA])
        sale = actors.doc(bank_a, "sale_contract", vin)
        auction_transient, auction_hash = owner(f"auction-{run}")
        disposal = json.loads(
            commit(
                bank_a,
                "CompleteDisposal",
                vin,
                json.dumps(
                    {
                        "sale_price": "150000",
                        "currency": "CNY",
                        "buyer_owner_hash": auction_hash,
                        "sale_document_id": sale,
                    }
                ),
                transient=auction_transient,
                endorsing_organizations=[TA, BANKA],
            ).result
        )
        assert [(p["lien_id"], p["paid"]) for p in disposal["distribution"]] == [(l1, "100000")]
        assert disposal["surplus"] == "50000"

        # the regulator's own (committing) peer may be a block behind the gateway that confirmed the commit
        vehicle = eventually(
            lambda: json.loads(regulator.evaluate_transaction("GetVehicle", vin)), "DISPOSED"
        )
        assert (vehicle["status"], vehicle["owner_hash"], vehicle["liens"]) == ("DISPOSED", auction_hash, [])
        assert json.loads(regulator.evaluate_transaction("GetLien", l1))["status"] == "DISCHARGED"
        # liens gone: the key-level policy is removed, the chaincode policy (2 of 4) applies to the vehicle
        # key again, so a write endorsed by TrafficAuthority and the Insurer alone is VALID
        order = actors.doc(officer, "seizure_order", vin)
        seized = commit(
            officer,
            "SeizeVehicle",
            vin,
            json.dumps({"document_id": order, "authority": "Shanghai court", "reason": "dispute"}),
            endorsing_organizations=[TA, INSURER],
        )
        assert json.loads(seized.result)["status"] == "SEIZED"
        commit(
            officer,
            "IssueQrIdentity",
            vin,
            json.dumps({"code_id": f"Q-{run}", "payload_sha256": "ee" * 32}),
            endorsing_organizations=[TA, INSURER],
        )

        history = json.loads(auditor.evaluate_transaction("GetVehicleHistory", vin))
        statuses = [h["value"]["status"] for h in history]
        assert statuses[0] == "SEIZED" and statuses[-1] == "REGISTERED" and "IN_DISPOSAL" in statuses
        assert history[-1]["tx_id"] == registered.transaction_id
        with pytest.raises(EvaluateError) as no_history:
            bank_a.evaluate_transaction("GetVehicleHistory", vin)
        assert "rule 'history_read'" in error_text(no_history.value)
        with pytest.raises(EndorseError) as regulator_write:
            commit(regulator_on_ta, "RejectLien", l1, "no")
        assert "access denied by rule 'registrar'" in error_text(regulator_write.value)
        assert disposal["buyer_owner_hash"] == auction_hash

    # the events of this vehicle, in commit order, as any client sees them
    org = net.org("BankB")
    ident = net.identity("BankB", "loan1")
    identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
    assert org.peer_endpoint is not None
    names: list[str] = []
    with create_channel(org.peer_endpoint, tls_root_certificates=org.peer_tls_ca.read_bytes()) as ch:
        network = connect(identity, signer, ch).get_network(net.channel)
        with network.chaincode_events(CC, start_block=start_block, timeout=30) as events:
            for event in events:
                payload = json.loads(event.payload)
                if payload.get("vin") == vin:
                    names.append(event.event_name)
                if event.event_name == "QrIdentityIssued" and payload.get("vin") == vin:
                    break
    expected = [
        "VehicleRegistered",
        "InsurancePolicyRecorded",
        "OdometerRecorded",
        "ValuationRecorded",
        "DocumentAnchored",
        "LienRequested",
        "LienRecorded",
        "DocumentAnchored",
        "LienRequested",
        "ValuationRecorded",
        "LienRecorded",
        "LienReleased",
        "DocumentAnchored",
        "TitleTransferred",
        "DocumentAnchored",
        "ForeclosureStarted",
        "DocumentAnchored",
        "DisposalCompleted",
        "DocumentAnchored",
        "VehicleSeized",
        "QrIdentityIssued",
    ]
    assert names == expected


def test_gateway_adds_the_lienholder_to_the_endorsers_by_itself(net: FabricNetworkInfo) -> None:
    """No endorsing orgs named: the peer reports the vehicle key's policy in its chaincode interest and the
    Gateway collects TrafficAuthority's and the lienholder's endorsements, so the write is VALID."""
    actors = Actors(net)
    commit = Committer(net)
    run = actors.run
    vin = with_check_digit(f"LGB{run.upper()}000000")
    with (
        contract(net, "TrafficAuthority", "officer1") as officer,
        contract(net, "BankB", "loan1") as bank_b,
    ):
        transient, _ = owner(f"sbe-{run}")
        plate = f"京B{run[:5].upper()}"
        vehicle = payloads.vehicle(vin, plate, make="NIO", model="ET5")
        commit(officer, "RegisterVehicle", vehicle, transient=transient)
        commit(officer, "RecordValuation", payloads.valuation(f"V-{run}", vin, 100000))
        consent = actors.doc(bank_b, "owner_consent", vin)
        lien = payloads.lien_request(f"LB-{run}", vin, "50000", consent, loan=f"LN-{run}")
        commit(bank_b, "RequestLien", lien)
        commit(officer, "RecordLien", f"LB-{run}")
        order = actors.doc(officer, "seizure_order", vin)
        seized = commit(
            officer,
            "SeizeVehicle",
            vin,
            json.dumps({"document_id": order, "authority": "Beijing court", "reason": "dispute"}),
        )
        assert json.loads(seized.result)["status"] == "SEIZED"
        endorsed_by, code = endorsers(net, seized.status.block_number, seized.transaction_id)
        assert BANKB in endorsed_by and TA in endorsed_by and code == 0
        lifted = commit(
            officer,
            "LiftSeizure",
            vin,
            json.dumps({"document_id": order, "authority": "Beijing court", "reason": "settled"}),
        )
        assert json.loads(lifted.result)["status"] == "MORTGAGED"
        released = commit(bank_b, "ReleaseLien", f"LB-{run}")
        assert json.loads(released.result)["status"] == "RELEASED"
