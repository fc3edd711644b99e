"""Block events from the peer's Deliver service: full blocks, filtered blocks, blocks with private data.

The request is a signed ``Envelope`` whose payload is a ``SeekInfo`` (type DELIVER_SEEK_INFO),
checked by the peer against the channel's Readers policy — so auditors and the regulator can use it.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import events_pb2

from .chaincode_events import seek_position
from .client import AnyClient
from .errors import BlockEventsError
from .event_stream import EventSource, StreamInterrupted
from .options import DEFAULT, ReconnectPolicy, Timeout
from .proposal_builder import compute_transaction_id, new_nonce, now_timestamp
from .signing_identity import SigningIdentity

MAX_BLOCK = 2**64 - 1

FULL = "Deliver"
FILTERED = "DeliverFiltered"
WITH_PRIVATE_DATA = "DeliverWithPrivateData"

# The iterator the request hands out: EventIterator (blocking) or AsyncEventIterator (asyncio).
B = TypeVar("B")


def build_seek_envelope(
    *,
    creator: bytes,
    channel_name: str,
    start_block: int | None,
    start: ab_pb2.SeekPosition | None = None,
) -> common_pb2.Envelope:
    """An unsigned Deliver request envelope from ``start_block`` (None: the next block) onwards;
    ``start`` gives any other seek position (e.g. newest) instead."""
    if not channel_name:
        raise ValueError("channel_name: must not be empty")
    nonce = new_nonce()
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.DELIVER_SEEK_INFO,
        channel_id=channel_name,
        tx_id=compute_transaction_id(nonce, creator),
        timestamp=now_timestamp(),
        epoch=0,
    )
    seek = ab_pb2.SeekInfo(
        start=start if start is not None else seek_position(start_block),
        stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=MAX_BLOCK)),
        behavior=ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
    )
    payload = common_pb2.Payload(
        header=common_pb2.Header(
            channel_header=channel_header.SerializeToString(),
            signature_header=common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString(),
        ),
        data=seek.SerializeToString(),
    )
    return common_pb2.Envelope(payload=payload.SerializeToString())


def block_number_of(block: Any) -> int:
    if isinstance(block, common_pb2.Block):
        return int(block.header.number)
    if isinstance(block, events_pb2.FilteredBlock):
        return int(block.number)
    return int(block.block.header.number)


def _payload_of(method: str, response: events_pb2.DeliverResponse) -> Any:
    kind = response.WhichOneof("Type")
    if kind == "status":
        status = response.status
        if status == common_pb2.SERVICE_UNAVAILABLE:
            raise StreamInterrupted("peer answered SERVICE_UNAVAILABLE")
        name = common_pb2.Status.Name(status)
        raise BlockEventsError(f"deliver ended with status {name} ({status})")
    expected = {FULL: "block", FILTERED: "filtered_block", WITH_PRIVATE_DATA: "block_and_private_data"}[
        method
    ]
    if kind != expected:
        raise BlockEventsError(f"deliver sent {kind}, expected {expected}")
    return getattr(response, kind)


class BlockEventsRequest(Generic[B]):
    """A (signed or to-be-signed) Deliver envelope of one kind (full, filtered, private data).

    Written once: ``iterate`` (the blocking or asyncio iterator class) is the only flavoured part.
    """

    def __init__(
        self,
        client: AnyClient,
        signing_identity: SigningIdentity,
        envelope: common_pb2.Envelope,
        method: str,
        reconnect: ReconnectPolicy,
        iterate: Callable[[EventSource[Any], ReconnectPolicy], B],
    ) -> None:
        if method not in (FULL, FILTERED, WITH_PRIVATE_DATA):
            raise ValueError(f"method: unknown Deliver method {method!r}")
        self._client = client
        self._signing_identity = signing_identity
        self._envelope = envelope
        self.method = method
        self._reconnect = reconnect
        self._iterate = iterate
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        self.channel_name: str = header.channel_id

    def bytes(self) -> builtins.bytes:
        """Serialized ``common.Envelope``."""
        return bytes(self._envelope.SerializeToString())

    def digest(self) -> builtins.bytes:
        return self._signing_identity.digest(self._envelope.payload)

    def get_events(self, *, timeout: Timeout = DEFAULT) -> B:
        """Iterate blocks (``Block``, ``FilteredBlock`` or ``BlockAndPrivateData`` by kind)."""
        return self._iterate(_BlockSource(self, timeout), self._reconnect)

    def _signed_envelope(self) -> common_pb2.Envelope:
        if not self._envelope.signature:
            self._envelope.signature = self._signing_identity.sign(self._envelope.payload)
        return self._envelope


class _BlockSource:
    error_class = BlockEventsError

    def __init__(self, base: BlockEventsRequest[Any], timeout: Timeout) -> None:
        self._base = base
        self._timeout = timeout
        self._next: int | None = None

    def can_resume(self) -> bool:
        return self._base._signing_identity.can_sign

    def request(self) -> common_pb2.Envelope:
        return self._base._signed_envelope()

    def resume_request(self) -> common_pb2.Envelope:
        if self._next is None:
            return self.request()
        identity = self._base._signing_identity
        envelope = build_seek_envelope(
            creator=identity.creator, channel_name=self._base.channel_name, start_block=self._next
        )
        envelope.signature = identity.sign(envelope.payload)
        return envelope

    def open(self, request: common_pb2.Envelope, wait_for_ready: bool) -> Any:
        return self._base._client.deliver(self._base.method, request, self._timeout, wait_for_ready)

    def items(self, response: events_pb2.DeliverResponse) -> list[Any]:
        return [_payload_of(self._base.method, response)]

    def advance(self, item: Any) -> None:
        self._next = block_number_of(item) + 1
