"""Read the namespaces a committed envelope wrote, straight from its Fabric messages."""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from app.ledger.embedded.rwset import parse


def namespaces_written(envelope: bytes) -> list[str]:
    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(envelope).payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    action = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
    prp = proposal_response_pb2.ProposalResponsePayload.FromString(action.action.proposal_response_payload)
    results = proposal_pb2.ChaincodeAction.FromString(prp.extension).results
    return sorted(ns.namespace for ns in parse(results) if ns.kv.writes)
