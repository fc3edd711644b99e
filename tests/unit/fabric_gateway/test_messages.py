"""Parse with the protos what the client builds: proposals, envelopes, events and deliver requests."""

from __future__ import annotations

import hashlib

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from app.fabric_gateway.block_events import MAX_BLOCK, build_seek_envelope
from app.fabric_gateway.chaincode_events import build_chaincode_events_request, resolve_start
from app.fabric_gateway.checkpointer import InMemoryCheckpointer
from app.fabric_gateway.proposal_builder import build_proposed_transaction, qualified_transaction_name


def test_proposal_structure_matches_fabric_protoutil() -> None:
    creator = b"serialized-creator"
    proposed = build_proposed_transaction(
        creator=creator,
        channel_name="vehicles",
        chaincode_name="mortgage",
        transaction_name="lien:Request",
        args=["VIN123", b"\x00\x01"],
        transient={"owner": b"secret", "salt": "s"},
        endorsing_organizations=["BankAMSP", "TrafficAuthorityMSP"],
        nonce=b"\x07" * 24,
    )
    assert proposed.transaction_id == hashlib.sha256(b"\x07" * 24 + creator).hexdigest()
    assert list(proposed.endorsing_organizations) == ["BankAMSP", "TrafficAuthorityMSP"]
    assert proposed.proposal.signature == b""

    proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    assert channel_header.type == common_pb2.ENDORSER_TRANSACTION
    assert channel_header.channel_id == "vehicles"
    assert channel_header.tx_id == proposed.transaction_id
    assert channel_header.epoch == 0
    assert channel_header.timestamp.seconds > 1_600_000_000
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
    assert extension.chaincode_id.name == "mortgage"
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert (signature_header.creator, signature_header.nonce) == (creator, b"\x07" * 24)

    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    assert dict(payload.TransientMap) == {"owner": b"secret", "salt": b"s"}
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    assert spec.chaincode_id.name == "mortgage"
    assert list(spec.input.args) == [b"lien:Request", b"VIN123", b"\x00\x01"]


def test_each_proposal_gets_a_fresh_nonce_and_tx_id() -> None:
    ids = {
        build_proposed_transaction(
            creator=b"c", channel_name="ch", chaincode_name="cc", transaction_name="f"
        ).transaction_id
        for _ in range(50)
    }
    assert len(ids) == 50


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel_name": ""}, "channel_name"),
        ({"chaincode_name": ""}, "chaincode_name"),
        ({"args": [1]}, r"args\[0\]"),
        ({"transient": {"k": 5}}, "transient"),
    ],
)
def test_bad_proposal_input_names_the_field(kwargs: dict, field: str) -> None:
    base = {"creator": b"c", "channel_name": "ch", "chaincode_name": "cc", "transaction_name": "f"}
    with pytest.raises((ValueError, TypeError), match=field):
        build_proposed_transaction(**(base | kwargs))


def test_qualified_transaction_name() -> None:
    assert qualified_transaction_name("", "Get") == "Get"
    assert qualified_transaction_name("lien", "Get") == "lien:Get"
    with pytest.raises(ValueError, match="transaction_name"):
        qualified_transaction_name("lien", "")


def test_chaincode_events_request_positions() -> None:
    signed = build_chaincode_events_request(
        creator=b"c",
        channel_name="vehicles",
        chaincode_name="mortgage",
        start_block=None,
        after_transaction_id="",
    )
    request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert request.start_position.WhichOneof("Type") == "next_commit"
    assert (request.channel_id, request.chaincode_id, request.identity) == ("vehicles", "mortgage", b"c")

    signed = build_chaincode_events_request(
        creator=b"c", channel_name="v", chaincode_name="m", start_block=12, after_transaction_id="tx9"
    )
    request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
    assert request.start_position.specified.number == 12
    assert request.after_transaction_id == "tx9"
    with pytest.raises(ValueError, match="start_block"):
        build_chaincode_events_request(
            creator=b"c", channel_name="v", chaincode_name="m", start_block=-1, after_transaction_id=""
        )


def test_checkpoint_wins_over_start_block_only_when_set() -> None:
    checkpointer = InMemoryCheckpointer()
    assert resolve_start(5, "", checkpointer) == (5, "")
    checkpointer.checkpoint_transaction(9, "txA")
    assert resolve_start(5, "", checkpointer) == (9, "txA")
    checkpointer.checkpoint_block(9)
    assert resolve_start(None, "", checkpointer) == (10, "")


def test_seek_envelope_for_deliver() -> None:
    envelope = build_seek_envelope(creator=b"c", channel_name="vehicles", start_block=3)
    payload = common_pb2.Payload.FromString(envelope.payload)
    channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
    assert channel_header.type == common_pb2.DELIVER_SEEK_INFO
    assert channel_header.channel_id == "vehicles"
    assert channel_header.tx_id == hashlib.sha256(signature_header.nonce + b"c").hexdigest()
    seek = ab_pb2.SeekInfo.FromString(payload.data)
    assert seek.start.specified.number == 3
    assert seek.stop.specified.number == MAX_BLOCK
    assert seek.behavior == ab_pb2.SeekInfo.BLOCK_UNTIL_READY
    newest = build_seek_envelope(creator=b"c", channel_name="vehicles", start_block=None)
    seek = ab_pb2.SeekInfo.FromString(common_pb2.Payload.FromString(newest.payload).data)
    assert seek.start.WhichOneof("Type") == "next_commit"
