"""Transaction facts a stub exposes, read from the signed proposal as fabric-chaincode-go does.

The creator and nonce come from the signature header, the timestamp, tx id, channel and epoch from
the channel header, the transient map from the chaincode proposal payload, and the binding is
``sha256(nonce ‖ creator ‖ epoch as 8 bytes little-endian)``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fabric_protos.common import common_pb2
from fabric_protos.peer import proposal_pb2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ProposalError(ValueError):
    """The signed proposal cannot be read as an endorser transaction."""


@dataclass(frozen=True, slots=True)
class TxFacts:
    """Everything about the transaction that is not state: who, when, with what."""

    tx_id: str
    channel_id: str
    args: list[bytes]
    creator: bytes = b""
    timestamp: datetime = _EPOCH
    transient: dict[str, bytes] = field(default_factory=dict)
    binding: bytes = b""
    signed_proposal: bytes | None = None
    decorations: dict[str, bytes] = field(default_factory=dict)


def compute_binding(nonce: bytes, creator: bytes, epoch: int) -> bytes:
    """The proposal binding, as Go's ``computeProposalBinding``."""
    return hashlib.sha256(nonce + creator + struct.pack("<Q", epoch)).digest()


def timestamp_to_datetime(seconds: int, nanos: int) -> datetime:
    """A protobuf Timestamp as an aware UTC datetime (microsecond precision)."""
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=nanos // 1000)


def facts_from_signed_proposal(
    tx_id: str,
    channel_id: str,
    args: list[bytes],
    signed_proposal: bytes | proposal_pb2.SignedProposal | None,
    decorations: dict[str, bytes] | None = None,
) -> TxFacts:
    """Parse the peer's SignedProposal (bytes or message) into TxFacts (none → only ids and args)."""
    if not signed_proposal:
        return TxFacts(tx_id, channel_id, list(args), decorations=dict(decorations or {}))
    try:
        if isinstance(signed_proposal, bytes | bytearray):
            sp = proposal_pb2.SignedProposal.FromString(signed_proposal)
        else:
            sp, signed_proposal = signed_proposal, signed_proposal.SerializeToString()
        prop = proposal_pb2.Proposal.FromString(sp.proposal_bytes)
        hdr = common_pb2.Header.FromString(prop.header)
        chdr = common_pb2.ChannelHeader.FromString(hdr.channel_header)
        shdr = common_pb2.SignatureHeader.FromString(hdr.signature_header)
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(prop.payload)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ProposalError(f"cannot read the signed proposal: {exc}") from exc
    if chdr.type not in (common_pb2.ENDORSER_TRANSACTION, common_pb2.CONFIG):
        raise ProposalError(
            f"invalid channel header type. Expected ENDORSER_TRANSACTION or CONFIG, received {chdr.type}"
        )
    return TxFacts(
        tx_id=tx_id,
        channel_id=channel_id,
        args=list(args),
        creator=bytes(shdr.creator),
        timestamp=timestamp_to_datetime(chdr.timestamp.seconds, chdr.timestamp.nanos),
        transient={k: bytes(v) for k, v in payload.TransientMap.items()},
        binding=compute_binding(bytes(shdr.nonce), bytes(shdr.creator), chdr.epoch),
        signed_proposal=bytes(signed_proposal),
        decorations=dict(decorations or {}),
    )
