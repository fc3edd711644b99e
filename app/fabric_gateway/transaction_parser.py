"""Read the chaincode's response out of a prepared transaction envelope (pure code)."""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2


def chaincode_response(envelope: common_pb2.Envelope) -> proposal_response_pb2.Response:
    """The chaincode ``Response`` (status, message, payload) endorsed into ``envelope``."""
    payload = common_pb2.Payload.FromString(envelope.payload)
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    if not transaction.actions:
        raise ValueError("prepared transaction: has no actions")
    action_payload = transaction_pb2.ChaincodeActionPayload.FromString(transaction.actions[0].payload)
    response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
        action_payload.action.proposal_response_payload
    )
    chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
    return chaincode_action.response


def channel_header(envelope: common_pb2.Envelope) -> common_pb2.ChannelHeader:
    """The channel header of an envelope (its channel and tx id)."""
    payload = common_pb2.Payload.FromString(envelope.payload)
    return common_pb2.ChannelHeader.FromString(payload.header.channel_header)
