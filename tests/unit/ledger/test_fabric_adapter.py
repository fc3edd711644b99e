"""The Fabric adapter against an in-process fake Gateway service: profile, identities, error mapping.

The real-network behaviour is covered by tests/conformance (marker ``fabric``); these cover the
paths a real network cannot produce on demand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from app.ledger.fabric import FabricLedger, NetworkProfile, map_error
from app.ledger.port import Caller, ChaincodeRefused, LedgerError, LedgerUnavailable, TransactionInvalidated
from tests.unit.fabric_gateway.fake_gateway import FakeServer, Refused
from tests.unit.fabric_gateway.keys import write_msp

LOAN = Caller("loan1", "BankAMSP", {"role": "loan_officer"})
DEALER = Caller("dealer1", "DealerMSP", {"role": "dealer"})


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


def _profile(tmp_path: Path, endpoint: str) -> Path:
    wallet = tmp_path / "wallet"
    for msp, user in [("BankAMSP", "loan1"), ("DealerMSP", "dealer1"), ("BankAMSP", "auditor1")]:
        write_msp(wallet / msp / user / "msp", ec.generate_private_key(ec.SECP256R1()), user)
    path = tmp_path / "profile.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "channel": "vehicles",
                "chaincode": "mortgage",
                "gateway_org": "BankAMSP",
                "service_identity": {"msp_id": "BankAMSP", "user": "auditor1"},
                "wallet": "wallet",
                "organizations": {"BankAMSP": {"peer_endpoint": endpoint}, "DealerMSP": {}},
            }
        )
    )
    return path


@pytest.fixture
async def ledger(tmp_path: Path, fake: FakeServer) -> AsyncIterator[FabricLedger]:
    led = FabricLedger.from_profile(_profile(tmp_path, fake.address))
    yield led
    await led.close()


def test_profile_paths_are_relative_to_the_profile(tmp_path: Path) -> None:
    profile = NetworkProfile.load(_profile(tmp_path, "127.0.0.1:1"))
    assert profile.wallet == tmp_path / "wallet"
    assert profile.peers["BankAMSP"].endpoint == "127.0.0.1:1"
    assert profile.service_identity == ("BankAMSP", "auditor1")
    assert profile.orgs == ["BankAMSP", "DealerMSP"]


def test_malformed_profile_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("channel: vehicles\n")
    with pytest.raises(LedgerError, match="missing or malformed field"):
        NetworkProfile.load(path)


async def test_evaluate_signs_with_the_callers_own_identity(ledger: FabricLedger, fake: FakeServer) -> None:
    assert await ledger.evaluate(LOAN, "GetVehicle", ["VIN1"]) == b"GetVehicle|VIN1"
    # an org without a peer goes through the gateway org's peer, still with its own identity
    assert await ledger.evaluate(DEALER, "GetOdometer", ["VIN1"]) == b"GetOdometer|VIN1"
    creators = {
        req.proposed_transaction.proposal_bytes
        for _, req in fake.service.requests
        if isinstance(req, gateway_pb2.EvaluateRequest)
    }
    assert len(creators) == 2


async def test_users_share_one_commit_stream_signed_by_the_service_identity(
    ledger: FabricLedger, fake: FakeServer
) -> None:
    first = await ledger.submit(LOAN, "RequestLien", ["{}"])
    second = await ledger.submit(DEALER, "RecordOdometer", ["VIN1", "100"])
    assert (first.block_number, second.block_number) == (7, 8)
    assert [kind for kind, _ in fake.service.requests].count("commit_status") == 0
    assert len(fake.service.deliver_requests) == 1  # one stream for both users
    await ledger.close()
    assert ledger._listeners == {}


async def test_submit_returns_block_code_payload_and_proposal_time(ledger: FabricLedger) -> None:
    result = await ledger.submit(LOAN, "RequestLien", ["{}"], transient={"k": b"v"})
    assert result.validation_code == "VALID" and result.block_number == 7
    assert result.payload == b"RequestLien|{}|transient:k=v"
    assert result.timestamp.tzinfo is not None


async def test_chaincode_refusal_keeps_status_message_and_details(
    ledger: FabricLedger, fake: FakeServer
) -> None:
    fake.service.behaviour.endorse_error = Refused(
        grpc.StatusCode.ABORTED,
        "failed to endorse transaction, see attached details",
        [("peer0.banka:7051", "BankAMSP", "chaincode response 409, transfer refused: vehicle has liens")],
    )
    with pytest.raises(ChaincodeRefused) as info:
        await ledger.submit(LOAN, "TransferTitle", ["VIN1", "{}"])
    assert info.value.status == 409
    assert info.value.message == "transfer refused: vehicle has liens"
    assert info.value.details[0]["msp_id"] == "BankAMSP"


async def test_evaluate_refusal_is_parsed_from_the_message(ledger: FabricLedger, fake: FakeServer) -> None:
    fake.service.behaviour.evaluate_error = Refused(
        grpc.StatusCode.UNKNOWN,
        "evaluate call to endorser returned error: chaincode response 404, vehicle VIN1 not found",
        [("peer0.banka:7051", "BankAMSP", "vehicle VIN1 not found")],
    )
    with pytest.raises(ChaincodeRefused) as info:
        await ledger.evaluate(LOAN, "GetVehicle", ["VIN1"])
    assert (info.value.status, info.value.message) == (404, "vehicle VIN1 not found")


async def test_invalidated_commit_is_transaction_invalidated(ledger: FabricLedger, fake: FakeServer) -> None:
    fake.service.behaviour.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit(LOAN, "RecordValuation", ["{}"])
    assert info.value.validation_code == "MVCC_READ_CONFLICT"
    assert info.value.block_number == 7 and info.value.status == 409


async def test_orderer_failure_is_unavailable(ledger: FabricLedger, fake: FakeServer) -> None:
    ledger.submit_retry_seconds = 0.6  # sent again within the window, then 503
    fake.service.behaviour.submit_error = Refused(grpc.StatusCode.UNAVAILABLE, "no orderers available")
    with pytest.raises(LedgerUnavailable) as info:
        await ledger.submit(LOAN, "RecordValuation", ["{}"])
    assert info.value.status == 503
    assert len([r for r in fake.service.requests if r[0] == "submit"]) >= 2


def _submits(fake: FakeServer) -> list[gateway_pb2.SubmitRequest]:
    return [r[1] for r in fake.service.requests if r[0] == "submit"]


async def test_submit_rides_out_a_raft_election_with_the_same_transaction(
    ledger: FabricLedger, fake: FakeServer
) -> None:
    """The soak's finding: with the Raft leader killed, no orderer takes a transaction for a few seconds;
    the gateway answered 503 and the client's retry then waited out the commit grace. The same signed
    transaction is sent again until an orderer takes it."""
    fake.service.behaviour.submit_error = Refused(
        grpc.StatusCode.UNAVAILABLE, "no orderers could successfully process transaction"
    )

    async def leader_elected() -> None:
        while len(_submits(fake)) < 2:
            await asyncio.sleep(0.05)
        fake.service.behaviour.submit_error = None

    elected = asyncio.create_task(leader_elected())
    result = await asyncio.wait_for(ledger.submit(LOAN, "RecordValuation", ["{}"]), 20)
    await elected
    sent = _submits(fake)
    assert result.validation_code == "VALID" and len(sent) >= 3
    assert {s.transaction_id for s in sent} == {result.tx_id}
    assert len({s.prepared_transaction.SerializeToString() for s in sent}) == 1  # not signed anew
    assert len(fake.service.submitted) == 1


async def test_an_endorsement_rides_out_its_peer_restarting(ledger: FabricLedger, fake: FakeServer) -> None:
    fake.service.behaviour.endorse_error = Refused(grpc.StatusCode.UNAVAILABLE, "connection refused")

    async def peer_back() -> None:
        while len([r for r in fake.service.requests if r[0] == "endorse"]) < 2:
            await asyncio.sleep(0.05)
        fake.service.behaviour.endorse_error = None

    back = asyncio.create_task(peer_back())
    result = await asyncio.wait_for(ledger.submit(LOAN, "RecordValuation", ["{}"]), 20)
    await back
    assert result.validation_code == "VALID" and len(_submits(fake)) == 1


async def test_a_refused_submit_is_not_sent_again(ledger: FabricLedger, fake: FakeServer) -> None:
    fake.service.behaviour.submit_error = Refused(grpc.StatusCode.ABORTED, "BAD_REQUEST from the orderer")
    with pytest.raises(LedgerError):
        await ledger.submit(LOAN, "RecordValuation", ["{}"])
    assert len(_submits(fake)) == 1


async def test_unreachable_peer_is_unavailable(tmp_path: Path) -> None:
    led = FabricLedger.from_profile(_profile(tmp_path, "127.0.0.1:1"))
    led.submit_retry_seconds = 0.6  # called again within the window, then 503
    try:
        with pytest.raises(LedgerUnavailable):
            await asyncio.wait_for(led.evaluate(LOAN, "GetVehicle", ["VIN1"]), 30)
    finally:
        await led.close()


async def test_missing_identity_is_an_identity_error(ledger: FabricLedger) -> None:
    with pytest.raises(LedgerError, match="caller identity") as info:
        await ledger.evaluate(Caller("nobody", "BankAMSP"), "GetVehicle", ["VIN1"])
    assert info.value.status == 401


async def test_chaincode_events_are_mapped(ledger: FabricLedger, fake: FakeServer) -> None:
    fake.service.behaviour.chaincode_events = [
        (3, "tx1", "LienRecorded", b"{}"),
        (4, "tx2", "LienReleased", b""),
    ]
    stream = ledger.chaincode_events(start_block=3)
    first = await asyncio.wait_for(anext(stream), 10)  # type: ignore[arg-type]
    await stream.aclose()  # type: ignore[attr-defined]
    assert (first.block_number, first.tx_id, first.event_name) == (3, "tx1", "LienRecorded")
    assert first.chaincode_id == "mortgage"


def test_map_error_passes_ledger_errors_through() -> None:
    err = ChaincodeRefused("x", status=400)
    assert map_error(err) is err


def test_profile_users_are_used_before_the_wallet(tmp_path: Path) -> None:
    listed = write_msp(
        tmp_path / "crypto" / "officer1" / "msp", ec.generate_private_key(ec.SECP256R1()), "o1"
    )
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "organizations": {"TrafficAuthorityMSP": {"peer_endpoint": "127.0.0.1:1"}},
                "users": {"TrafficAuthorityMSP": {"officer1": "crypto/officer1/msp"}},
                "deadlines": {"submit": 42},
            }
        )
    )
    led = FabricLedger.from_profile(path)  # no wallet at all: only the listed users resolve
    assert led.profile.deadlines.submit == 42
    assert led._resolver("TrafficAuthorityMSP", "officer1").msp_dir == listed
    with pytest.raises(LedgerError, match="no enrolled identity"):
        led._resolver("TrafficAuthorityMSP", "someone")


async def test_private_data_distribution_failure_is_unavailable(
    ledger: FabricLedger, fake: FakeServer
) -> None:
    ledger.submit_retry_seconds = 0.6  # endorsed again within the window, then 503
    fake.service.behaviour.endorse_error = Refused(
        grpc.StatusCode.ABORTED,
        "failed to endorse transaction, see attached details for more info",
        [
            (
                "127.0.0.1:7051",
                "BankAMSP",
                "error in simulation: failed to distribute private collection, txID x",
            )
        ],
    )
    with pytest.raises(LedgerUnavailable) as info:
        await ledger.submit(LOAN, "RegisterVehicle", ["{}"])
    assert info.value.status == 503 and info.value.details[0]["msp_id"] == "BankAMSP"


async def test_a_transaction_lost_unordered_is_sent_again_within_the_commit_deadline(
    ledger: FabricLedger, fake: FakeServer
) -> None:
    """The soak's last 503s: an orderer accepted three writes and died (the Raft leader) before ordering
    them, so their commits were never seen and the gateway answered 503 after the 60 s commit wait. The
    same signed transaction is sent again once no commit is seen for a while."""
    ledger.commit_resend_seconds, ledger.commit_wait_seconds = 0.5, 20.0
    fake.service.behaviour.commit_hang = True  # accepted, never ordered

    async def new_leader() -> None:
        while len(_submits(fake)) < 1:
            await asyncio.sleep(0.02)
        fake.service.behaviour.commit_hang = False

    elected = asyncio.create_task(new_leader())
    result = await asyncio.wait_for(ledger.submit(LOAN, "RecordValuation", ["{}"]), 20)
    await elected
    sent = _submits(fake)
    assert result.validation_code == "VALID" and len(sent) >= 2
    assert len({s.prepared_transaction.SerializeToString() for s in sent}) == 1  # not signed anew


async def test_a_commit_never_seen_still_answers_unavailable_at_the_deadline(
    ledger: FabricLedger, fake: FakeServer
) -> None:
    ledger.commit_resend_seconds, ledger.commit_wait_seconds = 0.3, 1.0
    fake.service.behaviour.commit_hang = True
    with pytest.raises(LedgerUnavailable):
        await asyncio.wait_for(ledger.submit(LOAN, "RecordValuation", ["{}"]), 20)
    assert 2 <= len(_submits(fake)) <= 5
