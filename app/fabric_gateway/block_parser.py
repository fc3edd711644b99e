"""Read transactions out of full blocks (for auditors): tx id, type, creator, validation code."""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2

from .errors import validation_code_name


@dataclass(frozen=True, slots=True)
class BlockTransaction:
    """One envelope of a block, as committed."""

    block_number: int
    index: int
    transaction_id: str
    header_type: int
    creator_msp_id: str
    validation_code: int

    @property
    def validation_code_name(self) -> str:
        return validation_code_name(self.validation_code)

    @property
    def valid(self) -> bool:
        return self.validation_code == 0


def block_transactions(block: common_pb2.Block) -> list[BlockTransaction]:
    """Every envelope in ``block`` with the validation code the committer recorded for it."""
    metadata = block.metadata.metadata
    flags = (
        metadata[common_pb2.TRANSACTIONS_FILTER] if len(metadata) > common_pb2.TRANSACTIONS_FILTER else b""
    )
    result: list[BlockTransaction] = []
    for index, raw in enumerate(block.data.data):
        envelope = common_pb2.Envelope.FromString(raw)
        payload = common_pb2.Payload.FromString(envelope.payload)
        channel_header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        signature_header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        creator = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
        result.append(
            BlockTransaction(
                block_number=int(block.header.number),
                index=index,
                transaction_id=channel_header.tx_id,
                header_type=channel_header.type,
                creator_msp_id=creator.mspid,
                validation_code=flags[index] if index < len(flags) else 255,
            )
        )
    return result
