"""An endorsed transaction's envelope, taken apart into what the committer validates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from app.ledger.embedded import protocol


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@dataclass(slots=True)
class ParsedTx:
    tx_id: str
    channel: str
    chaincode: str
    timestamp: datetime
    creator: bytes
    nonce: bytes
    signature: bytes
    payload_bytes: bytes
    prp_bytes: bytes
    endorsements: list[proposal_response_pb2.Endorsement]
    action: proposal_pb2.ChaincodeAction


def parse_envelope(data: bytes) -> ParsedTx:
    envelope = common_pb2.Envelope()
    envelope.ParseFromString(data)
    payload = common_pb2.Payload()
    payload.ParseFromString(envelope.payload)
    channel_header = common_pb2.ChannelHeader()
    channel_header.ParseFromString(payload.header.channel_header)
    if channel_header.type != common_pb2.ENDORSER_TRANSACTION:
        raise ValueError(f"unsupported header type {channel_header.type}")
    signature_header = common_pb2.SignatureHeader()
    signature_header.ParseFromString(payload.header.signature_header)
    extension = proposal_pb2.ChaincodeHeaderExtension()
    extension.ParseFromString(channel_header.extension)
    tx = transaction_pb2.Transaction()
    tx.ParseFromString(payload.data)
    if len(tx.actions) != 1:
        raise ValueError("a transaction must carry exactly one action")
    action_payload = transaction_pb2.ChaincodeActionPayload()
    action_payload.ParseFromString(tx.actions[0].payload)
    prp = proposal_response_pb2.ProposalResponsePayload()
    prp.ParseFromString(action_payload.action.proposal_response_payload)
    action = proposal_pb2.ChaincodeAction()
    action.ParseFromString(prp.extension)
    return ParsedTx(
        tx_id=channel_header.tx_id,
        channel=channel_header.channel_id,
        chaincode=extension.chaincode_id.name,
        timestamp=protocol.datetime_of(channel_header.timestamp),
        creator=signature_header.creator,
        nonce=signature_header.nonce,
        signature=envelope.signature,
        payload_bytes=envelope.payload,
        prp_bytes=action_payload.action.proposal_response_payload,
        endorsements=list(action_payload.action.endorsements),
        action=action,
    )
