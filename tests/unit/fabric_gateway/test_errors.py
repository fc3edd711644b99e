"""Stage errors with gRPC status and per-peer ErrorDetail, commit codes and deadlines (fake Gateway)."""

from __future__ import annotations

import time

import grpc
import pytest
from fabric_protos.peer import transaction_pb2

from app.fabric_gateway import (
    AsyncGateway,
    CommitError,
    CommitStatusError,
    Deadlines,
    EndorseError,
    ErrorDetail,
    EvaluateError,
    Gateway,
    SubmitError,
    connect,
)

from .fake_gateway import FakeServer, Refused

PEER_DETAILS = [
    ("peer0.banka:7051", "BankAMSP", "chaincode response 500, lien exists"),
    ("peer0.insurer:9051", "InsurerMSP", "chaincode response 500, lien exists"),
]


def test_endorse_failure_carries_per_peer_details(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.endorse_error = Refused(
        grpc.StatusCode.ABORTED, "failed to endorse transaction, see attached details", PEER_DETAILS
    )
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    proposal = contract.new_proposal("RequestLien", ["VIN"])
    with pytest.raises(EndorseError) as info:
        proposal.endorse()
    error = info.value
    assert error.code == grpc.StatusCode.ABORTED
    assert error.transaction_id == proposal.transaction_id
    assert error.details == [ErrorDetail(*d) for d in PEER_DETAILS]
    assert "endorse failed" in str(error) and "InsurerMSP" in str(error)
    assert fake.service.submitted == []


def test_evaluate_failure(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.evaluate_error = Refused(
        grpc.StatusCode.UNKNOWN,
        "evaluate call to endorser returned error: chaincode response 500, not found",
        [("peer0.banka:7051", "BankAMSP", "not found")],
    )
    with pytest.raises(EvaluateError) as info:
        gateway.get_network("vehicles").get_contract("mortgage").evaluate_transaction("Read", "x")
    assert info.value.details[0].msp_id == "BankAMSP"
    assert "chaincode response 500" in info.value.message


def test_submit_failure(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.submit_error = Refused(grpc.StatusCode.UNAVAILABLE, "no orderers available")
    transaction = gateway.get_network("vehicles").get_contract("mortgage").new_proposal("Put").endorse()
    with pytest.raises(SubmitError) as info:
        transaction.submit()
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
    assert info.value.transaction_id == transaction.transaction_id


@pytest.mark.parametrize(
    "code", [transaction_pb2.MVCC_READ_CONFLICT, transaction_pb2.ENDORSEMENT_POLICY_FAILURE]
)
def test_invalid_commit_raises_commit_error_with_code_name(
    gateway: Gateway, fake: FakeServer, code: int
) -> None:
    fake.service.behaviour.commit_code = code
    fake.service.behaviour.commit_block = 42
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    with pytest.raises(CommitError) as info:
        contract.submit_transaction("Increment", "k")
    error = info.value
    assert error.code == code
    assert error.code_name == transaction_pb2.TxValidationCode.Name(code)
    assert error.block_number == 42
    assert error.code_name in str(error) and error.transaction_id in str(error)


def test_get_status_reports_invalid_without_raising(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    status = (
        gateway.get_network("vehicles")
        .get_contract("mortgage")
        .new_proposal("I")
        .endorse()
        .submit()
        .get_status()
    )
    assert not status.successful and status.code_name == "MVCC_READ_CONFLICT"


def test_commit_status_deadline(fake: FakeServer, credentials) -> None:
    fake.service.behaviour.commit_hang = True
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, deadlines=Deadlines(commit_status=0.3))
        commit = gateway.get_network("vehicles").get_contract("mortgage").new_proposal("P").endorse().submit()
        started = time.monotonic()
        with pytest.raises(CommitStatusError) as info:
            commit.get_status()
        assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert info.value.transaction_id == commit.transaction_id
        assert time.monotonic() - started < 5
        with pytest.raises(CommitStatusError):  # per-call override
            commit.get_status(timeout=0.1)


def test_commit_status_server_error(fake: FakeServer, credentials) -> None:
    fake.service.behaviour.commit_status_error = Refused(
        grpc.StatusCode.PERMISSION_DENIED, "not the submitter"
    )
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, commit_listener=False)
        with pytest.raises(CommitStatusError, match="not the submitter"):
            gateway.get_network("vehicles").get_contract("mortgage").submit_transaction("P")


def test_unreachable_peer_is_an_evaluate_error(credentials) -> None:
    identity, signer = credentials
    with grpc.insecure_channel("127.0.0.1:9") as channel:
        gateway = connect(identity, signer, channel, deadlines=Deadlines(evaluate=0.5))
        with pytest.raises(EvaluateError) as info:
            gateway.get_network("vehicles").get_contract("cc").evaluate_transaction("F")
    assert info.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_async_errors(async_gateway: AsyncGateway, fake: FakeServer) -> None:
    contract = async_gateway.get_network("vehicles").get_contract("mortgage")
    fake.service.behaviour.endorse_error = Refused(grpc.StatusCode.ABORTED, "failed to endorse", PEER_DETAILS)
    with pytest.raises(EndorseError) as info:
        await contract.submit_transaction("X")
    assert [d.msp_id for d in info.value.details] == ["BankAMSP", "InsurerMSP"]
    fake.service.behaviour.endorse_error = None
    fake.service.behaviour.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
        await contract.submit_transaction("X")
    fake.service.behaviour.commit_hang = True
    commit = await (await contract.new_proposal("Y").endorse()).submit()
    with pytest.raises(CommitStatusError) as deadline:
        await commit.get_status(timeout=0.2)
    assert deadline.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
