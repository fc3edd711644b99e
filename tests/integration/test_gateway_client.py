"""The Python Gateway client against the real Fabric network (chaincode `runtimetest`).

Covers evaluate, submit, transient data into a private collection, endorsing-org selection, offline
signing, chaincode events resumed from a checkpoint, full/filtered block events, a deliberate
MVCC_READ_CONFLICT, endorsement and evaluation failures with per-peer details, a peer restart while
listening, and the asyncio API.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2

from app.fabric_gateway import (
    CommitError,
    EndorseError,
    EvaluateError,
    FileCheckpointer,
    Gateway,
    ReconnectPolicy,
    block_transactions,
    connect,
    connect_async,
    create_async_channel,
    create_channel,
    load_pem_files,
)
from app.fabric_gateway.commit import BLOCK_EVENTS, COMMIT_STATUS_CALL
from network.fixture import FabricNetworkInfo

CC = "runtimetest"
COLLECTION = "taBankA"


def _require_chaincode(net: FabricNetworkInfo) -> None:
    package = net.chaincodes.get(CC, "")
    assert package.startswith(f"{CC}_"), f"chaincode {CC} is not running: {package}"


class Client:
    """One user connected through their own org's peer."""

    def __init__(self, net: FabricNetworkInfo, org: str, user: str, **options: object) -> None:
        info = net.org(org)
        ident = net.identity(org, user)
        self.identity, self.signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
        assert info.peer_endpoint is not None, f"{org} has no peer"
        self.endpoint, self.tls_ca = info.peer_endpoint, info.peer_tls_ca
        self.channel = create_channel(self.endpoint, tls_root_certificates=self.tls_ca)
        self.gateway: Gateway = connect(self.identity, self.signer, self.channel, **options)  # type: ignore[arg-type]
        self.network = self.gateway.get_network(net.channel)
        self.contract = self.network.get_contract(CC)

    def close(self) -> None:
        self.channel.close()


@pytest.fixture(scope="module")
def net(fabric_network: FabricNetworkInfo) -> FabricNetworkInfo:
    _require_chaincode(fabric_network)
    return fabric_network


@pytest.fixture(scope="module")
def bank(net: FabricNetworkInfo) -> Iterator[Client]:
    client = Client(net, "BankAMSP", "loan1")
    yield client
    client.close()


@pytest.fixture(scope="module")
def officer(net: FabricNetworkInfo) -> Iterator[Client]:
    client = Client(net, "TrafficAuthorityMSP", "officer1")
    yield client
    client.close()


def key(prefix: str) -> str:
    return f"gw-{prefix}-{uuid.uuid4().hex[:10]}"


def endorsers_of(block: common_pb2.Block, tx_id: str) -> set[str]:
    for raw in block.data.data:
        envelope = common_pb2.Envelope.FromString(raw)
        payload = common_pb2.Payload.FromString(envelope.payload)
        if common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id != tx_id:
            continue
        tx = transaction_pb2.Transaction.FromString(payload.data)
        action = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
        return {
            identities_pb2.SerializedIdentity.FromString(e.endorser).mspid for e in action.action.endorsements
        }
    raise AssertionError(f"tx {tx_id} not in block {block.header.number}")


def wait_until_other_peers_endorse_with(net: FabricNetworkInfo, msp_id: str, timeout: float = 120) -> None:
    """After restarting an org's peer, wait until the other orgs' gateways find it again as an endorser
    (gossip membership catches up after the peer's own health check), so later tests see a whole
    network."""
    others = (("TrafficAuthorityMSP", "officer1"), ("BankBMSP", "loan1"), ("InsurerMSP", "underwriter1"))
    for org, user in others:
        client = Client(net, org, user)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    client.contract.new_proposal("get", ["probe"], endorsing_organizations=[msp_id]).endorse()
                    break
                except EndorseError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
        finally:
            client.close()


def test_submit_then_evaluate(bank: Client) -> None:
    k = key("put")
    submitted = bank.contract.submit("put", k, "hello")
    assert submitted.status.successful and submitted.status.code_name == "VALID"
    assert submitted.status.block_number > 0
    assert len(submitted.transaction_id) == 64
    assert bank.contract.evaluate_transaction("get", k) == b"hello"


def test_whoami_sees_the_client_identity_and_tx_id(bank: Client) -> None:
    proposal = bank.contract.new_proposal("whoami", transient={"x": b"1"})
    me = json.loads(proposal.evaluate())
    assert me["msp_id"] == "BankAMSP"
    assert me["role"] == "loan_officer"
    assert me["tx_id"] == proposal.transaction_id
    assert me["transient_keys"] == ["x"]


def test_transient_data_to_private_collection(bank: Client, officer: Client) -> None:
    k = key("pvt")
    secret = b"owner: Alice Example, id 110101199001011234"
    submitted = bank.contract.submit(
        "put_private",
        COLLECTION,
        k,
        transient={"value": secret},
        endorsing_organizations=["BankAMSP", "TrafficAuthorityMSP"],
    )
    assert submitted.result.decode() == __import__("hashlib").sha256(secret).hexdigest()
    assert bank.contract.evaluate_transaction("get_private", COLLECTION, k) == secret
    assert officer.contract.evaluate_transaction("get_private", COLLECTION, k) == secret
    # the secret never lands in the block: only its hash does
    with bank.network.block_events(start_block=submitted.status.block_number) as blocks:
        block = next(blocks)
    assert secret not in block.SerializeToString()
    # ...but a member org's auditor can read it from Deliver with private data
    with bank.network.block_and_private_data_events(start_block=submitted.status.block_number) as blocks:
        with_private = next(blocks)
    tx_index = [t.transaction_id for t in block_transactions(with_private.block)].index(
        submitted.transaction_id
    )
    private = with_private.private_data_map[tx_index]
    assert [c.collection_name for ns in private.ns_pvt_rwset for c in ns.collection_pvt_rwset] == [COLLECTION]
    assert secret in private.SerializeToString()


def test_endorsing_org_selection_is_honoured(bank: Client) -> None:
    k = key("orgs")
    submitted = bank.contract.submit("put", k, "v", endorsing_organizations=["BankAMSP", "InsurerMSP"])
    with bank.network.block_events(start_block=submitted.status.block_number) as blocks:
        block = next(blocks)
    assert endorsers_of(block, submitted.transaction_id) == {"BankAMSP", "InsurerMSP"}


def test_offline_signing_round_trip(net: FabricNetworkInfo, bank: Client) -> None:
    offline = connect(bank.identity, None, bank.channel)  # holds no key
    contract = offline.get_network(net.channel).get_contract(CC)
    k = key("offline")
    unsigned = contract.new_proposal("put", [k, "signed-elsewhere"])
    proposal = offline.new_signed_proposal(unsigned.bytes(), bank.signer(unsigned.digest()))
    unsigned_tx = proposal.endorse()
    transaction = offline.new_signed_transaction(unsigned_tx.bytes(), bank.signer(unsigned_tx.digest()))
    unsigned_commit = transaction.submit()
    commit = offline.new_signed_commit(unsigned_commit.bytes(), bank.signer(unsigned_commit.digest()))
    status = commit.get_status()
    assert status.successful and status.transaction_id == unsigned.transaction_id
    assert bank.contract.evaluate_transaction("get", k) == b"signed-elsewhere"


def test_chaincode_events_resume_from_checkpoint(bank: Client, tmp_path: Path) -> None:
    name = key("evt")
    first = bank.contract.submit("emit", name, "one")
    bank.contract.submit("emit", name, "two")
    bank.contract.submit("emit", name, "three")
    checkpointer = FileCheckpointer(tmp_path / "checkpoint.json")

    def ours(events, n):
        out = []
        for event in events:
            checkpointer.checkpoint_chaincode_event(event)
            if event.event_name == name:
                out.append(event)
                if len(out) == n:
                    return out
        raise AssertionError("stream ended")

    start = first.status.block_number
    with bank.network.chaincode_events(CC, start_block=start, checkpoint=checkpointer) as events:
        got = ours(events, 1)
    assert got[0].payload == b"one" and got[0].transaction_id == first.transaction_id
    assert got[0].chaincode_name == CC

    restarted = FileCheckpointer(tmp_path / "checkpoint.json")  # as a new process would
    with bank.network.chaincode_events(CC, start_block=0, checkpoint=restarted) as events:
        checkpointer = restarted
        assert [e.payload for e in ours(events, 2)] == [b"two", b"three"]


def test_block_events_full_and_filtered(net: FabricNetworkInfo) -> None:
    auditor = Client(net, "RegulatorMSP", "auditor1")  # the regulator's peer never endorses but delivers
    writer = Client(net, "BankBMSP", "loan1")
    try:
        submitted = writer.contract.submit("put_and_emit", key("blk"), "v", "BlockTest")
        number = submitted.status.block_number
        with auditor.network.filtered_block_events(start_block=number) as blocks:
            filtered = next(blocks)
        assert filtered.number == number
        txs = {t.txid: t for t in filtered.filtered_transactions}
        assert txs[submitted.transaction_id].tx_validation_code == transaction_pb2.VALID
        event = txs[submitted.transaction_id].transaction_actions.chaincode_actions[0].chaincode_event
        assert event.event_name == "BlockTest" and event.payload == b""  # filtered: no payloads

        with auditor.network.block_events(start_block=number) as blocks:
            full = next(blocks)
        listed = {t.transaction_id: t for t in block_transactions(full)}
        assert listed[submitted.transaction_id].creator_msp_id == "BankBMSP"
        assert listed[submitted.transaction_id].validation_code_name == "VALID"
    finally:
        auditor.close()
        writer.close()


def test_concurrent_increments_give_mvcc_read_conflict(bank: Client) -> None:
    k = key("mvcc")
    bank.contract.submit("increment", k)
    # Endorse five increments first, so all read the same version, then submit them together.
    transactions = [bank.contract.new_proposal("increment", [k]).endorse() for _ in range(5)]
    outcomes: list[object] = [None] * 5

    def run(i: int) -> None:
        try:
            outcomes[i] = transactions[i].submit().get_status().raise_for_status()
        except Exception as exc:  # CommitError expected; anything else is shown by the assert below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [o for o in outcomes if isinstance(o, CommitError)]
    assert len(errors) == 4, outcomes
    for error in errors:
        assert error.code_name == "MVCC_READ_CONFLICT"
        assert error.code == transaction_pb2.MVCC_READ_CONFLICT
        assert error.transaction_id in {t.transaction_id for t in transactions}
    assert bank.contract.evaluate_transaction("get", k) == b"2"


def test_commit_status_comes_from_the_shared_block_stream(bank: Client, net: FabricNetworkInfo) -> None:
    transaction = bank.contract.new_proposal("put", [key("listen"), "v"]).endorse()
    commit = transaction.submit()
    status = commit.get_status()
    assert status.successful and commit.answered_by == BLOCK_EVENTS
    assert bank.gateway.commit_listener_state(net.channel) == "live"
    # The peer's own CommitStatus answer for the same transaction agrees (asked through a gateway
    # without a listener, with the request signed "offline").
    plain = connect(bank.identity, None, bank.channel, commit_listener=False)
    asked = plain.new_signed_commit(commit.bytes(), bank.signer(commit.digest()))
    assert asked.get_status() == status and asked.answered_by == COMMIT_STATUS_CALL


def test_lost_stream_falls_back_to_the_commit_status_call(net: FabricNetworkInfo) -> None:
    client = Client(net, "BankAMSP", "loan1")
    try:
        client.contract.submit("put", key("warm"), "v")
        listener = client.gateway._session.listeners.listener(net.channel)  # type: ignore[union-attr]
        answered = []
        for _ in range(3):  # the block is cut 250 ms after the submit: the cancel all but always wins
            commit = client.contract.new_proposal("put", [key("lost"), "v"]).endorse().submit()
            listener._call.cancel()  # the stream breaks before the block arrives
            assert commit.get_status().successful
            answered.append(commit.answered_by)
            deadline = time.monotonic() + 20
            while client.gateway.commit_listener_state(net.channel) != "live" and time.monotonic() < deadline:
                time.sleep(0.1)
            if commit.answered_by == COMMIT_STATUS_CALL:
                break
        assert answered[-1] == COMMIT_STATUS_CALL, answered
        later = client.contract.new_proposal("put", [key("again"), "v"]).endorse().submit()
        assert later.get_status().successful and later.answered_by == BLOCK_EVENTS
    finally:
        client.gateway.close()
        client.close()


def test_commit_status_survives_the_gateway_peer_restarting(net: FabricNetworkInfo) -> None:
    client = Client(net, "BankAMSP", "loan1", reconnect=ReconnectPolicy(initial_backoff=0.5, max_backoff=2))
    peer = net.org("BankAMSP").peer_name
    assert peer is not None
    try:
        client.contract.submit("put", key("warm"), "v")
        k = key("restart-commit")
        commit = client.contract.new_proposal("put", [k, "v"]).endorse().submit()
        net.stop_node(peer)  # the block may or may not have reached the peer yet
        try:
            time.sleep(0.5)
        finally:
            net.start_node(peer)
        status = commit.get_status(timeout=120)
        assert status.successful, status
        assert client.contract.evaluate_transaction("get", k) == b"v"
    finally:
        client.gateway.close()
        client.close()
        wait_until_other_peers_endorse_with(net, "BankAMSP")


def test_endorsement_failure_reports_each_peer(bank: Client) -> None:
    k = key("fail")
    proposal = bank.contract.new_proposal("fail_after_write", [k, "500", "lien already recorded"])
    with pytest.raises(EndorseError) as info:
        proposal.endorse()
    error = info.value
    assert error.transaction_id == proposal.transaction_id
    assert error.code == grpc.StatusCode.ABORTED
    assert error.details, "per-peer details expected"
    for detail in error.details:
        assert detail.address and detail.msp_id.endswith("MSP")
        assert "lien already recorded" in detail.message
    # the refused write never reached the ledger
    assert json.loads(bank.contract.evaluate_transaction("get_range", k, k + "~")) == []


def test_evaluate_failure_reports_the_peer(bank: Client) -> None:
    with pytest.raises(EvaluateError) as info:
        bank.contract.evaluate_transaction("fail_after_write", key("ev"), "403", "not your lien")
    error = info.value
    assert "not your lien" in str(error)
    assert any("not your lien" in d.message and d.msp_id == "BankAMSP" for d in error.details), error.details


def test_unknown_chaincode_is_an_endorse_error(bank: Client, net: FabricNetworkInfo) -> None:
    contract = bank.network.get_contract("no-such-chaincode")
    with pytest.raises(EndorseError) as info:
        contract.submit_transaction("f")
    assert info.value.code in (
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.UNAVAILABLE,
    )


def test_listener_survives_its_peer_restarting(net: FabricNetworkInfo, officer: Client) -> None:
    listener = Client(
        net,
        "BankAMSP",
        "auditor1",
        reconnect=ReconnectPolicy(initial_backoff=0.5, max_backoff=2, max_attempts=60),
    )
    name = key("restart")
    received: list[bytes] = []
    done = threading.Event()
    try:
        before = officer.contract.submit("emit", name, "before")
        events = listener.network.chaincode_events(CC, start_block=before.status.block_number)

        def listen() -> None:
            for event in events:
                if event.event_name == name:
                    received.append(event.payload)
                    if len(received) == 2:
                        done.set()
                        return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received == [b"before"]

        peer = net.org("BankAMSP").peer_name

        assert peer is not None
        net.stop_node(peer)
        try:
            officer.contract.submit(
                "emit", name, "during", endorsing_organizations=["TrafficAuthorityMSP", "InsurerMSP"]
            )
        finally:
            net.start_node(peer)
        assert done.wait(120), f"event committed while the peer was down never arrived: {received}"
        assert received == [b"before", b"during"]  # nothing lost, nothing repeated
        events.close()
    finally:
        listener.close()
        wait_until_other_peers_endorse_with(net, "BankAMSP")


async def test_async_api(net: FabricNetworkInfo) -> None:
    ident = net.identity("InsurerMSP", "underwriter1")
    identity, signer = load_pem_files(ident.msp_id, ident.cert_path, ident.key_path)
    info = net.org("InsurerMSP")
    assert info.peer_endpoint is not None
    async with create_async_channel(info.peer_endpoint, tls_root_certificates=info.peer_tls_ca) as channel:
        contract = connect_async(identity, signer, channel).get_network(net.channel).get_contract(CC)
        k = key("async")
        submitted = await contract.submit("put_and_emit", k, "v", "AsyncEvent")
        assert submitted.status.successful
        assert await contract.evaluate_transaction("get", k) == b"v"
        network = connect_async(identity, signer, channel).get_network(net.channel)
        async with network.chaincode_events(CC, start_block=submitted.status.block_number) as events:
            async for event in events:
                if event.transaction_id == submitted.transaction_id:
                    assert event.event_name == "AsyncEvent"
                    break
