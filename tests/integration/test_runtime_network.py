"""The Python chaincode runtime through real Fabric peers (chaincode ``runtimetest`` = TestContract).

Transactions go through the Python Gateway client with each org's own fabric-ca identities.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509

from app.fabric_gateway import (
    CommitError,
    Contract,
    EndorseError,
    EvaluateError,
    Submitted,
    connect,
    create_channel,
    load_pem_files,
)
from chaincode.runtime.identity import go_dn_string
from network.fixture import FabricNetworkInfo

CC = "runtimetest"
TA, BANKA, BANKB, INSURER = "TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP"


@contextmanager
def gateway_contract(net: FabricNetworkInfo, org: str, user: str, chaincode: str = CC) -> Iterator[Contract]:
    org_info = net.org(org)
    ident = net.identity(org, user)
    identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
    assert org_info.peer_endpoint is not None
    with create_channel(
        org_info.peer_endpoint, tls_root_certificates=org_info.peer_tls_ca.read_bytes()
    ) as ch:
        gw = connect(identity, signer, ch)
        yield CommittedEverywhere(net, gw.get_network(net.channel).get_contract(chaincode))  # type: ignore[misc]


def committed_everywhere(net: FabricNetworkInfo, submitted: Submitted, timeout: float = 30.0) -> None:
    """Wait until every peer has committed the submitted transaction's block.

    A commit status comes from the gateway's own peer; another org's peer may still be a block behind,
    so a read there right after a submit must wait for it (Fabric gives no cross-peer read-your-writes).
    """
    deadline = time.monotonic() + timeout
    while min(net.height(org.msp_id) for org in net.peers) <= submitted.status.block_number:
        if time.monotonic() > deadline:
            raise AssertionError(f"block {submitted.status.block_number} not on every peer in {timeout} s")
        time.sleep(0.1)


class CommittedEverywhere:
    """A contract whose submits return once every peer has the block: reads on any peer then see it."""

    def __init__(self, net: FabricNetworkInfo, contract: Contract) -> None:
        self._net = net
        self._contract = contract

    def submit(self, *args: Any, **kwargs: Any) -> Submitted:
        submitted = self._contract.submit(*args, **kwargs)
        committed_everywhere(self._net, submitted)
        return submitted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._contract, name)


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    pid = fabric_network.chaincodes.get(CC, "")
    assert pid.startswith(f"{CC}"), f"chaincode {CC} is not deployed: {pid}"
    return fabric_network


@pytest.fixture
def officer(net: FabricNetworkInfo) -> Iterator[Contract]:
    with gateway_contract(net, "TrafficAuthority", "officer1") as c:
        yield c


@pytest.fixture
def loan_a(net: FabricNetworkInfo) -> Iterator[Contract]:
    with gateway_contract(net, "BankA", "loan1") as c:
        yield c


@pytest.fixture
def underwriter(net: FabricNetworkInfo) -> Iterator[Contract]:
    with gateway_contract(net, "Insurer", "underwriter1") as c:
        yield c


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_state_calls_history_and_errors(officer: Contract, loan_a: Contract) -> None:
    key = uid("rt")
    first = officer.submit("Put", key, "v1", endorsing_organizations=[TA, BANKA])
    second = officer.submit("Put", key, "v2", endorsing_organizations=[TA, BANKB])
    assert loan_a.evaluate_transaction("Get", key) == b"v2"
    third = loan_a.submit("Delete", key, endorsing_organizations=[BANKA, INSURER])
    with pytest.raises(EvaluateError) as missing:
        loan_a.evaluate_transaction("Get", key)
    assert f"key {key} not found" in str(missing.value.message) + str(missing.value.details)
    history = json.loads(loan_a.evaluate_transaction("History", key))
    assert [h["tx_id"] for h in history] == [
        third.transaction_id,
        second.transaction_id,
        first.transaction_id,
    ]
    assert [(h["value"], h["is_delete"]) for h in history] == [("", True), ("v2", False), ("v1", False)]
    # a refused transaction writes nothing: the error status and message come back to the client
    with pytest.raises(EndorseError) as refused:
        officer.submit(
            "FailAfterWrite", key, "409", "state conflict here", endorsing_organizations=[TA, BANKA]
        )
    text = str(refused.value.message) + " ".join(d.message for d in refused.value.details)
    assert "state conflict here" in text
    with pytest.raises(EvaluateError):
        loan_a.evaluate_transaction("Get", key)
    # argument validation happens before any state access
    with pytest.raises(EndorseError) as bad:
        officer.submit("PutMany", key, "not-a-number", endorsing_organizations=[TA, BANKA])
    assert "invalid argument 'count'" in " ".join(d.message for d in bad.value.details) + str(
        bad.value.message
    )


def test_ranges_pagination_and_composite_keys(officer: Contract, loan_a: Contract) -> None:
    prefix = uid("rg") + "-"
    officer.submit("PutMany", prefix, "150", endorsing_organizations=[TA, BANKA])
    rows = json.loads(loan_a.evaluate_transaction("GetRange", prefix, prefix + "~"))
    assert [r["key"] for r in rows] == [f"{prefix}{i:04d}" for i in range(150)]  # > 1 peer batch of 100
    seen: list[str] = []
    bookmark = ""
    pages = 0
    while True:
        page = json.loads(loan_a.evaluate_transaction("GetRangePage", prefix, prefix + "~", "40", bookmark))
        assert page["fetched"] == len(page["results"])
        seen += [r["key"] for r in page["results"]]
        bookmark = page["bookmark"]
        pages += 1
        if not bookmark:
            break
    assert seen == [f"{prefix}{i:04d}" for i in range(150)] and pages == 4
    assert loan_a.evaluate_transaction("FirstInRange", prefix, prefix + "~") == f"{prefix}0000".encode()
    vin = uid("VIN")
    for n in ("1", "2", "3"):
        officer.submit(
            "PutComposite", "lien", json.dumps([vin, n]), f"lien{n}", endorsing_organizations=[TA, BANKA]
        )
    found = json.loads(loan_a.evaluate_transaction("GetByPartialKey", "lien", json.dumps([vin])))
    assert [(f["attributes"], f["value"]) for f in found] == [([vin, n], f"lien{n}") for n in ("1", "2", "3")]
    page = json.loads(loan_a.evaluate_transaction("GetByPartialKeyPage", "lien", json.dumps([vin]), "2"))
    assert page["attributes"] == [[vin, "1"], [vin, "2"]] and page["bookmark"]
    with pytest.raises(EvaluateError) as rich:
        loan_a.evaluate_transaction("RichQuery", '{"selector":{}}')
    assert "not supported for leveldb" in str(rich.value.message) + str(rich.value.details)


def test_identity_and_proposal_facts(net: FabricNetworkInfo, officer: Contract) -> None:
    who = json.loads(officer.evaluate_transaction("Whoami", transient={"k": b"v"}))
    cert = x509.load_pem_x509_certificate(net.identity("TrafficAuthority", "officer1").cert_pem)
    expected = f"x509::{go_dn_string(cert.subject)}::{go_dn_string(cert.issuer)}"
    assert who["msp_id"] == TA
    assert base64.b64decode(who["id"]).decode() == expected
    assert who["role"] == "registrar"  # fabric-ca attribute from the enrollment certificate
    assert who["transient_keys"] == ["k"] and who["has_signed_proposal"] and len(who["binding"]) == 64
    ts = datetime.fromisoformat(who["timestamp"])
    assert abs(ts - datetime.now(UTC)) < timedelta(minutes=5)


def test_private_data_with_transient_input(
    officer: Contract, loan_a: Contract, underwriter: Contract
) -> None:
    key = uid("owner")
    secret = b"Zhang San, ID 110101199003074512"
    result = officer.submit(
        "PutPrivate", "taBankA", key, transient={"value": secret}, endorsing_organizations=[TA, BANKA]
    )
    assert result.result == hashlib.sha256(secret).hexdigest().encode()
    assert loan_a.evaluate_transaction("GetPrivate", "taBankA", key) == secret
    # the hash is readable on a non-member's peer; the value is not
    assert (
        underwriter.evaluate_transaction("GetPrivateHash", "taBankA", key)
        == hashlib.sha256(secret).hexdigest().encode()
    )
    with pytest.raises(EvaluateError) as denied:
        underwriter.evaluate_transaction("GetPrivate", "taBankA", key)
    assert "read access permission" in str(denied.value.message) + str(denied.value.details)
    loan_a.submit("DeletePrivate", "taBankA", key, endorsing_organizations=[TA, BANKA])
    with pytest.raises(EvaluateError):
        loan_a.evaluate_transaction("GetPrivate", "taBankA", key)


def test_key_level_endorsement_changes_who_must_endorse(officer: Contract, loan_a: Contract) -> None:
    key = uid("car")
    officer.submit("Put", key, "registered", endorsing_organizations=[TA, BANKA])
    orgs = json.loads(
        officer.submit(
            "SetKeyEndorsers", key, json.dumps([BANKB, INSURER]), endorsing_organizations=[TA, BANKA]
        ).result
    )
    assert orgs == [BANKB, INSURER]
    assert json.loads(loan_a.evaluate_transaction("GetKeyEndorsers", key)) == [BANKB, INSURER]
    # the chaincode policy alone (TA + BankA) no longer suffices for this key
    with pytest.raises(CommitError) as failed:
        officer.submit("Put", key, "transferred", endorsing_organizations=[TA, BANKA])
    assert failed.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
    assert loan_a.evaluate_transaction("Get", key) == b"registered"
    officer.submit("Put", key, "transferred", endorsing_organizations=[BANKB, INSURER])
    assert loan_a.evaluate_transaction("Get", key) == b"transferred"


def test_chaincode_event_reaches_a_client(net: FabricNetworkInfo, officer: Contract) -> None:
    key = uid("ev")
    submitted = officer.submit(
        "PutAndEmit", key, "payload-" + key, "RuntimeTestEvent", endorsing_organizations=[TA, BANKA]
    )
    block = submitted.status.block_number
    org_info = net.org("BankB")
    ident = net.identity("BankB", "loan1")
    identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
    assert org_info.peer_endpoint is not None
    with create_channel(
        org_info.peer_endpoint, tls_root_certificates=org_info.peer_tls_ca.read_bytes()
    ) as ch:
        network = connect(identity, signer, ch).get_network(net.channel)
        got = None
        with network.chaincode_events(CC, start_block=block, timeout=30) as events:
            for event in events:
                if event.transaction_id == submitted.transaction_id:
                    got = event
                    break
    assert got is not None
    assert (got.event_name, got.payload) == ("RuntimeTestEvent", ("payload-" + key).encode())
    assert got.chaincode_name == CC and got.block_number == block


def test_invoke_another_chaincode(net: FabricNetworkInfo, officer: Contract) -> None:
    pid = net.chaincodes.get("mortgage", "")
    assert pid.startswith("mortgage"), f"mortgage chaincode not deployed: {pid}"
    out = json.loads(
        officer.evaluate_transaction(
            "InvokeOther", "mortgage", json.dumps(["org.hyperledger.fabric:GetMetadata"])
        )
    )
    assert out["status"] == 200
    assert "contracts" in json.loads(out["payload"])


def test_private_ranges_metadata_and_purge(officer: Contract, loan_a: Contract) -> None:
    prefix = uid("pv") + "-"
    for n in ("a", "b", "c"):
        officer.submit(
            "PutPrivate",
            "taBankA",
            prefix + n,
            transient={"value": n.encode()},
            endorsing_organizations=[TA, BANKA],
        )
    rows = json.loads(loan_a.evaluate_transaction("GetPrivateRange", "taBankA", prefix, prefix + "~"))
    assert [(r["key"], r["value"]) for r in rows] == [(prefix + n, n) for n in ("a", "b", "c")]
    orgs = officer.submit(
        "SetPrivateKeyEndorsers",
        "taBankA",
        prefix + "a",
        json.dumps([TA, BANKA]),
        endorsing_organizations=[TA, BANKA],
    )
    assert json.loads(orgs.result) == [BANKA, TA]
    assert json.loads(loan_a.evaluate_transaction("GetPrivateKeyEndorsers", "taBankA", prefix + "a")) == [
        BANKA,
        TA,
    ]
    officer.submit("PurgePrivate", "taBankA", prefix + "b", endorsing_organizations=[TA, BANKA])
    with pytest.raises(EvaluateError):
        loan_a.evaluate_transaction("GetPrivate", "taBankA", prefix + "b")
    rows = json.loads(loan_a.evaluate_transaction("GetPrivateRange", "taBankA", prefix, prefix + "~"))
    assert [r["key"] for r in rows] == [prefix + "a", prefix + "c"]


def test_multi_key_reads_and_many_writes_in_one_transaction(
    net: FabricNetworkInfo, officer: Contract, loan_a: Contract
) -> None:
    """On a 3.x peer these go as GET_STATE_MULTIPLE and WRITE_BATCH_STATE (offered in READY), on 2.5 as
    one message per key: the same results either way."""
    settings = net.network.settings
    log = settings.log_file("cc.runtimetest").read_text(errors="replace")
    offered = "offers write batches (True, max 1000) and multi-key reads (True, max 1000)" in log
    assert offered == settings.fabric_version.startswith("3."), settings.fabric_version
    prefix = uid("mk") + "-"
    officer.submit("PutMany", prefix, "120", endorsing_organizations=[TA, BANKA])
    keys = [f"{prefix}0000", f"{prefix}missing", f"{prefix}0119"]
    assert json.loads(loan_a.evaluate_transaction("GetMultiple", json.dumps(keys))) == ["v0", None, "v119"]
    # a write and a read of the same key in one transaction: the read sees the committed value
    seen = officer.submit("PutThenRead", f"{prefix}0000", "new", endorsing_organizations=[TA, BANKA])
    assert seen.result == b"v0"
    assert loan_a.evaluate_transaction("Get", f"{prefix}0000") == b"new"
    rows = json.loads(loan_a.evaluate_transaction("GetRange", prefix, prefix + "~"))
    assert len(rows) == 120
