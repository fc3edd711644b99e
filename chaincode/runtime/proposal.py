"""Transaction facts a stub exposes, read from the signed proposal as fabric-chaincode-go does.

The creator and nonce come from the signature header, the timestamp, tx id, channel and epoch from
the channel header, the transient map from the chaincode proposal payload, and the binding is
``sha256(nonce ‖ creator ‖ epoch as 8 bytes little-endian)``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ProposalError(ValueError):
    """The signed proposal cannot be read as an endorser transaction."""


@dataclass(frozen=True, slots=True)
class TxFacts:
    """Everything about the transaction that is not state: who, when, with what."""

    tx_id: str
    channel_id: str
    args: Sequence[bytes]
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
    args: Sequence[bytes],
    signed_proposal: bytes | proposal_pb2.SignedProposal | None,
    decorations: dict[str, bytes] | None = None,
    *,
    _reserialize: bool = True,
) -> TxFacts:
    """Parse the peer's SignedProposal (bytes or message) into TxFacts (none → only ids and args)."""
    if not signed_proposal:
        return TxFacts(tx_id, channel_id, list(args), decorations=dict(decorations or {}))
    try:
        if isinstance(signed_proposal, bytes | bytearray):
            sp = proposal_pb2.SignedProposal.FromString(signed_proposal)
        else:
            sp = signed_proposal
            signed_proposal = sp.SerializeToString() if _reserialize else b""
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
        signed_proposal=bytes(signed_proposal) or None,
        decorations=dict(decorations or {}),
    )


class PeerTxFacts:
    """TxFacts of a TRANSACTION message, decoded only as far as the contract asks.

    The ChaincodeInput (arguments, decorations) is read up front; the signed proposal (creator,
    timestamp, transient map, binding: five nested parses, a datetime and a hash) only when a contract
    first asks for one of them. The peer has already validated the proposal; should it still not
    parse, the contract's first access raises :class:`ProposalError` (a status 500 naming the cause).
    """

    __slots__ = ("_decoded", "_input", "_proposal", "_serialized", "args", "channel_id", "tx_id")

    def __init__(self, msg: Any) -> None:
        self.tx_id: str = msg.txid
        self.channel_id: str = msg.channel_id
        self._input = chaincode_pb2.ChaincodeInput.FromString(msg.payload)
        self.args: Sequence[bytes] = self._input.args  # the parsed repeated field itself: no copy
        self._proposal = msg.proposal if msg.HasField("proposal") else None
        self._decoded: TxFacts | None = None
        self._serialized: bytes | None = None

    def _facts(self) -> TxFacts:
        decoded = self._decoded
        if decoded is None:
            decoded = self._decoded = facts_from_signed_proposal(
                self.tx_id, self.channel_id, (), self._proposal, _reserialize=False
            )
        return decoded

    @property
    def creator(self) -> bytes:
        return self._facts().creator

    @property
    def timestamp(self) -> datetime:
        return self._facts().timestamp

    @property
    def transient(self) -> dict[str, bytes]:
        return self._facts().transient

    @property
    def binding(self) -> bytes:
        return self._facts().binding

    @property
    def decorations(self) -> dict[str, bytes]:
        return dict(self._input.decorations)

    @property
    def signed_proposal(self) -> bytes | None:
        if self._proposal is None:
            return None
        if self._serialized is None:
            self._serialized = self._proposal.SerializeToString()
        return self._serialized
