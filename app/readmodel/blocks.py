"""Read committed blocks as the projector needs them: the valid writes of one chaincode, in order.

A committed ``common.Block`` holds envelopes; the committing peer's verdict on each is in the
``TRANSACTIONS_FILTER`` metadata. Only endorser transactions whose code is VALID (0) changed world
state, so only their write sets are projected: config blocks, invalid transactions and other
chaincodes' namespaces (``_lifecycle``) are skipped here, by the same rule the peer applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

VALID = 0


@dataclass(frozen=True, slots=True)
class Write:
    key: str
    value: bytes | None  # None: the key was deleted


@dataclass(slots=True)
class Transaction:
    """One valid transaction of the projected chaincode."""

    index: int  # position in the block
    tx_id: str
    timestamp: str  # ISO 8601 UTC, from the channel header (the contract's own clock)
    creator_msp: str
    function: str
    contract_version: str  # the chaincode version the peer recorded for the action
    writes: list[Write] = field(default_factory=list)
    event_name: str = ""
    event_payload: bytes = b""


@dataclass(slots=True)
class BlockSummary:
    """What one block contributes: its number, the projected transactions and what was skipped."""

    number: int
    transactions: list[Transaction]
    skipped_invalid: int = 0
    skipped_other: int = 0  # config blocks, other chaincodes, non-endorser envelopes
    is_config: bool = False


def _timestamp(header: common_pb2.ChannelHeader) -> str:
    ts = header.timestamp
    moment = datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def validation_flags(block: common_pb2.Block) -> bytes:
    metadata = block.metadata.metadata
    return (
        bytes(metadata[common_pb2.TRANSACTIONS_FILTER])
        if len(metadata) > common_pb2.TRANSACTIONS_FILTER
        else b""
    )


def read_block(block: common_pb2.Block, chaincode: str) -> BlockSummary:
    """The valid writes of ``chaincode`` in ``block`` (one entry per valid transaction touching it)."""
    number = int(block.header.number)
    flags = validation_flags(block)
    summary = BlockSummary(number=number, transactions=[])
    for index, raw in enumerate(block.data.data):
        code = flags[index] if index < len(flags) else 255  # no filter: not committed, never valid
        envelope = common_pb2.Envelope.FromString(raw)
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        if header.type != common_pb2.ENDORSER_TRANSACTION:
            summary.skipped_other += 1
            summary.is_config = summary.is_config or header.type in (
                common_pb2.CONFIG,
                common_pb2.CONFIG_UPDATE,
            )
            continue
        if code != VALID:
            summary.skipped_invalid += 1
            continue
        tx = _read_transaction(index, header, payload, chaincode)
        if tx is None:
            summary.skipped_other += 1
        else:
            summary.transactions.append(tx)
    return summary


def _read_transaction(
    index: int, header: common_pb2.ChannelHeader, payload: common_pb2.Payload, chaincode: str
) -> Transaction | None:
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    found: Transaction | None = None
    for action in transaction.actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
            action_payload.action.proposal_response_payload
        )
        cc_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
        rwset = rwset_pb2.TxReadWriteSet.FromString(cc_action.results)
        writes: list[Write] = []
        touched = False
        for ns in rwset.ns_rwset:
            if ns.namespace != chaincode:
                continue
            touched = True
            kv = kv_rwset_pb2.KVRWSet.FromString(ns.rwset)
            writes.extend(Write(w.key, None if w.is_delete else bytes(w.value)) for w in kv.writes)
        if not touched:
            continue
        if found is None:
            signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
            creator = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
            found = Transaction(
                index=index,
                tx_id=header.tx_id,
                timestamp=_timestamp(header),
                creator_msp=creator.mspid,
                function=_function(action_payload),
                contract_version=cc_action.chaincode_id.version,
            )
        found.writes.extend(writes)
        if cc_action.events:
            event = chaincode_event_pb2.ChaincodeEvent.FromString(cc_action.events)
            if event.chaincode_id == chaincode or not event.chaincode_id:
                found.event_name, found.event_payload = event.event_name, bytes(event.payload)
    return found


def _function(action_payload: transaction_pb2.ChaincodeActionPayload) -> str:
    proposal_payload = proposal_pb2.ChaincodeProposalPayload.FromString(
        action_payload.chaincode_proposal_payload
    )
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(proposal_payload.input)
    args = spec.chaincode_spec.input.args
    return args[0].decode("utf-8", "replace") if args else ""


def split_key(key: str) -> tuple[str, list[str]] | None:
    """``(object type, attributes)`` of a composite key; None for a simple key."""
    if not key.startswith("\x00") or not key.endswith("\x00"):
        return None
    parts = key[1:-1].split("\x00")
    return parts[0], parts[1:]


def composite_key(object_type: str, *attrs: str) -> str:
    return "\x00" + "\x00".join([object_type, *attrs]) + "\x00"
