"""Offline signing: take digests and bytes out, sign elsewhere, bring the signature back."""

from __future__ import annotations

import grpc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from app.fabric_gateway import FILTERED, AsyncGateway, connect, hashing

from .fake_gateway import FakeServer


def test_offline_signed_submit_round_trip(fake: FakeServer, credentials) -> None:
    identity, signer = credentials  # the signer plays the remote HSM
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, None, channel)  # no signer in this process
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        unsigned = contract.new_proposal("Transfer", ["VIN", "Bob"])
        assert unsigned.digest() == hashing.sha256(
            __import__("fabric_protos.gateway.gateway_pb2", fromlist=["x"])
            .ProposedTransaction.FromString(unsigned.bytes())
            .proposal.proposal_bytes
        )
        with pytest.raises(RuntimeError, match="no signer"):
            unsigned.endorse()

        proposal = gateway.new_signed_proposal(unsigned.bytes(), signer(unsigned.digest()))
        assert proposal.transaction_id == unsigned.transaction_id
        unsigned_tx = proposal.endorse()
        assert unsigned_tx.result == b"Transfer|VIN|Bob"

        transaction = gateway.new_signed_transaction(unsigned_tx.bytes(), signer(unsigned_tx.digest()))
        assert transaction.transaction_id == proposal.transaction_id
        unsigned_commit = transaction.submit()

        commit = gateway.new_signed_commit(unsigned_commit.bytes(), signer(unsigned_commit.digest()))
        status = commit.get_status()
        assert status.successful and status.transaction_id == proposal.transaction_id
        assert len(fake.service.submitted) == 1


def test_offline_signature_verifies_with_the_certificate(credentials) -> None:
    identity, signer = credentials
    with grpc.insecure_channel("127.0.0.1:9") as channel:
        gateway = connect(identity, None, channel)
        proposal = gateway.get_network("ch").get_contract("cc").new_proposal("F")
        signature = signer(proposal.digest())
        message = (
            __import__("fabric_protos.gateway.gateway_pb2", fromlist=["x"])
            .ProposedTransaction.FromString(proposal.bytes())
            .proposal.proposal_bytes
        )
        identity.certificate().public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_new_signed_refuses_garbage_and_empty_signature(credentials) -> None:
    identity, _ = credentials
    with grpc.insecure_channel("127.0.0.1:9") as channel:
        gateway = connect(identity, None, channel)
        with pytest.raises(ValueError, match="proposal bytes"):
            gateway.new_signed_proposal(b"\xff\xff\xff", b"sig")
        proposal = gateway.get_network("ch").get_contract("cc").new_proposal("F")
        with pytest.raises(ValueError, match="signature"):
            gateway.new_signed_proposal(proposal.bytes(), b"")


def test_offline_signed_events_requests(fake: FakeServer, credentials) -> None:
    identity, signer = credentials
    fake.service.behaviour.chaincode_events = [(2, "tx1", "LienRecorded", b"{}")]
    fake.service.behaviour.blocks = 3
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, None, channel)
        network = gateway.get_network("vehicles")
        unsigned = network.new_chaincode_events_request("mortgage", start_block=0)
        request = gateway.new_signed_chaincode_events_request(unsigned.bytes(), signer(unsigned.digest()))
        with request.get_events() as events:
            event = next(events)
        assert (event.block_number, event.transaction_id, event.event_name) == (2, "tx1", "LienRecorded")

        unsigned_blocks = network.new_block_events_request(kind=FILTERED, start_block=1)
        blocks = gateway.new_signed_block_events_request(
            unsigned_blocks.bytes(), signer(unsigned_blocks.digest()), FILTERED
        )
        with blocks.get_events() as iterator:
            assert next(iterator).number == 1


async def test_async_offline_round_trip(async_gateway: AsyncGateway, credentials) -> None:
    _, signer = credentials
    contract = async_gateway.get_network("vehicles").get_contract("mortgage")
    unsigned = contract.new_proposal("Put", ["k"])
    proposal = async_gateway.new_signed_proposal(unsigned.bytes(), signer(unsigned.digest()))
    transaction = await proposal.endorse()
    signed_tx = async_gateway.new_signed_transaction(transaction.bytes(), signer(transaction.digest()))
    commit = await signed_tx.submit()
    signed_commit = async_gateway.new_signed_commit(commit.bytes(), signer(commit.digest()))
    assert (await signed_commit.get_status()).successful
