"""Read who created a transaction from its committed envelope (shared by both ledger adapters).

The creator is the MSP id in the envelope's signature header: the identity that signed the proposal,
as every peer recorded it. Nothing here trusts the payload's own claims.
"""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from google.protobuf.message import DecodeError

from app.ledger.port import TxOrigin


def envelope_creator(envelope_bytes: bytes) -> tuple[str, str] | None:
    """(tx id, creator MSP id) of one transaction envelope; None for bytes that are not one."""
    try:
        envelope = common_pb2.Envelope.FromString(envelope_bytes)
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        signature = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        creator = identities_pb2.SerializedIdentity.FromString(signature.creator)
    except DecodeError:
        return None
    return header.tx_id, creator.mspid


def origin_in_block(block: common_pb2.Block, tx_id: str) -> TxOrigin | None:
    """The origin of ``tx_id`` if the block holds it (a config block's envelopes have no tx id)."""
    for data in block.data.data:
        found = envelope_creator(data)
        if found is not None and found[0] == tx_id:
            return TxOrigin(tx_id=tx_id, block_number=block.header.number, creator_msp_id=found[1])
    return None
