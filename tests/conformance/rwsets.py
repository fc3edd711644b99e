"""Read a committed transaction's read-write set from either backend, as a comparable summary."""

from __future__ import annotations

from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.embedded.rwset import parse
from app.ledger.fabric import FabricLedger
from app.ledger.port import LedgerPort


async def envelope_of(ledger: LedgerPort, tx_id: str) -> bytes:
    if isinstance(ledger, FabricLedger):
        raw = await ledger._qscc("GetTransactionByID", tx_id)
        return transaction_pb2.ProcessedTransaction.FromString(raw).transactionEnvelope.SerializeToString()
    assert isinstance(ledger, EmbeddedLedger)
    status = await ledger.transaction_status(tx_id)
    assert status is not None, tx_id
    block = ledger.block(status.block_number)
    assert block is not None
    for raw in block.data.data:
        payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(raw).payload)
        if common_pb2.ChannelHeader.FromString(payload.header.channel_header).tx_id == tx_id:
            return raw
    raise AssertionError(f"{tx_id} not in block {status.block_number}")


def rwset_summary(envelope: bytes, ignore: tuple[str, ...] = ("_lifecycle",)) -> dict[str, Any]:
    """Keys read, written, deleted, metadata-written, range-scanned and private key hashes, per namespace."""
    payload = common_pb2.Payload.FromString(common_pb2.Envelope.FromString(envelope).payload)
    tx = transaction_pb2.Transaction.FromString(payload.data)
    action = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
    prp = proposal_response_pb2.ProposalResponsePayload.FromString(action.action.proposal_response_payload)
    results = proposal_pb2.ChaincodeAction.FromString(prp.extension).results
    summary: dict[str, Any] = {}
    for ns in parse(results):
        if ns.namespace in ignore:
            continue
        summary[ns.namespace] = {
            "reads": sorted(r.key for r in ns.kv.reads),
            "writes": sorted((w.key, w.is_delete) for w in ns.kv.writes),
            "metadata": sorted(m.key for m in ns.kv.metadata_writes),
            "ranges": [
                (q.start_key, q.end_key, q.itr_exhausted, [r.key for r in q.raw_reads.kv_reads])
                for q in ns.kv.range_queries_info
            ],
            "collections": {
                c.name: {
                    "reads": sorted(r.key_hash.hex() for r in c.hashed.hashed_reads),
                    "writes": sorted((w.key_hash.hex(), w.is_delete) for w in c.hashed.hashed_writes),
                    "metadata": sorted(m.key_hash.hex() for m in c.hashed.metadata_writes),
                }
                for c in ns.collections
            },
        }
    return summary
