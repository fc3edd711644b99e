"""Evaluate / endorse / submit / commit against the fake Gateway, blocking and asyncio."""

from __future__ import annotations

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2

from app.fabric_gateway import (
    AsyncGateway,
    Gateway,
    Identity,
    PrivateKeySigner,
    connect,
    hashing,
    identity_from_pem,
    new_private_key_signer,
)
from app.fabric_gateway.commit import COMMIT_STATUS_CALL

from .fake_gateway import FakeServer
from .keys import make_cert


def test_evaluate_transaction(gateway: Gateway, fake: FakeServer) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    assert contract.evaluate_transaction("ReadVehicle", "VIN1") == b"ReadVehicle|VIN1"
    kind, request = fake.service.requests[-1]
    assert kind == "evaluate"
    assert request.channel_id == "vehicles"


def test_named_contract_qualifies_function(gateway: Gateway) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage", "lien")
    assert contract.evaluate_transaction("Get", b"k") == b"lien:Get|k"


def test_submit_transaction_signs_envelope_and_waits_for_commit(gateway: Gateway, fake: FakeServer) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    submitted = contract.submit("RegisterVehicle", "VIN1", transient={"owner": "Alice"})
    assert submitted.result == b"RegisterVehicle|VIN1|transient:owner=Alice"
    assert submitted.status.successful and submitted.status.code_name == "VALID"
    assert submitted.status.block_number == 7
    envelope = fake.service.submitted[-1]
    channel_header = common_pb2.ChannelHeader.FromString(
        common_pb2.Payload.FromString(envelope.payload).header.channel_header
    )
    assert channel_header.tx_id == submitted.transaction_id
    # The commit status came from the shared filtered-block stream, not a CommitStatus call.
    assert [k for k, _ in fake.service.requests] == ["endorse", "submit"]


def test_submit_without_commit_listener_asks_commit_status(
    fake: FakeServer, credentials: tuple[Identity, PrivateKeySigner]
) -> None:
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, commit_listener=False)
        commit = gateway.get_network("vehicles").get_contract("mortgage").new_proposal("P").endorse().submit()
        status = commit.get_status()
    assert status.successful and status.block_number == 7 and commit.answered_by == COMMIT_STATUS_CALL
    assert [k for k, _ in fake.service.requests] == ["endorse", "submit", "commit_status"]
    assert gateway.commit_listener_state("vehicles") == "off"


def test_fine_grained_flow_and_endorsing_orgs(gateway: Gateway, fake: FakeServer) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    proposal = contract.new_proposal("Put", ["k", "v"], endorsing_organizations=["BankAMSP", "InsurerMSP"])
    transaction = proposal.endorse()
    assert transaction.transaction_id == proposal.transaction_id
    assert transaction.result == b"Put|k|v"
    endorse_request = fake.service.requests[-1][1]
    assert list(endorse_request.endorsing_organizations) == ["BankAMSP", "InsurerMSP"]
    commit = transaction.submit()
    status = commit.get_status()
    assert (status.transaction_id, status.block_number, status.successful) == (
        proposal.transaction_id,
        7,
        True,
    )


def test_evaluate_targets_endorsing_orgs(gateway: Gateway, fake: FakeServer) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    contract.evaluate_transaction("Q", endorsing_organizations=["InsurerMSP"])
    request = fake.service.requests[-1][1]
    assert isinstance(request, gateway_pb2.EvaluateRequest)
    assert list(request.target_organizations) == ["InsurerMSP"]


def test_args_must_be_a_sequence(gateway: Gateway) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    with pytest.raises(TypeError, match="args"):
        contract.new_proposal("F", "not-a-list")  # type: ignore[arg-type]


def test_ed25519_identity_round_trip(fake: FakeServer) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    identity = identity_from_pem("DealerMSP", make_cert(key, "dealer1"))
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, new_private_key_signer(key), channel)  # hash defaults to none
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        assert contract.submit_transaction("Scan", "VIN") == b"Scan|VIN"


def test_wrong_hash_for_the_key_is_refused_by_the_server(fake: FakeServer) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    identity = identity_from_pem("DealerMSP", make_cert(key, "dealer1"))
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, new_private_key_signer(key), channel, hash=hashing.sha256)
        with pytest.raises(Exception, match="signature invalid"):
            gateway.get_network("vehicles").get_contract("mortgage").evaluate_transaction("Scan")


async def test_connect_refuses_an_aio_channel(credentials) -> None:
    identity, signer = credentials
    async with grpc.aio.insecure_channel("127.0.0.1:9") as channel:
        with pytest.raises(TypeError, match="connect_async"):
            connect(identity, signer, channel)


async def test_async_flow(async_gateway: AsyncGateway, fake: FakeServer) -> None:
    contract = async_gateway.get_network("vehicles").get_contract("mortgage")
    assert await contract.evaluate_transaction("Read", "a") == b"Read|a"
    submitted = await contract.submit("Write", "a", "1")
    assert submitted.result == b"Write|a|1" and submitted.status.successful
    proposal = contract.new_proposal("Write", ["b"])
    transaction = await proposal.endorse()
    commit = await transaction.submit()
    status = await commit.get_status()
    assert status.transaction_id == proposal.transaction_id
    assert len(fake.service.submitted) == 2
