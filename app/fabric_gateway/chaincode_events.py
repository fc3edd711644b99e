"""Chaincode events from the Gateway's ChaincodeEvents stream, resumable from a checkpoint.

Start positions follow the Go client: the next block to commit (default), a given block, or a
checkpoint (block + the last transaction already processed in it, whose events are skipped).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from .checkpointer import Checkpoint
from .client import AnyClient
from .errors import ChaincodeEventsError
from .event_stream import EventSource
from .events import ChaincodeEvent
from .options import DEFAULT, ReconnectPolicy, Timeout
from .signing_identity import SigningIdentity

# The iterator the request hands out: EventIterator (blocking) or AsyncEventIterator (asyncio).
E = TypeVar("E")


def seek_position(start_block: int | None) -> ab_pb2.SeekPosition:
    """``Specified(start_block)`` or, for None, ``NextCommit``."""
    if start_block is None:
        return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    if start_block < 0:
        raise ValueError(f"start_block: must be >= 0, got {start_block}")
    return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))


def resolve_start(
    start_block: int | None, after_transaction_id: str, checkpoint: Checkpoint | None
) -> tuple[int | None, str]:
    """A checkpoint with a position wins over an explicit start block (as in the Go client)."""
    if checkpoint is not None and checkpoint.block_number is not None:
        return checkpoint.block_number, checkpoint.transaction_id
    return start_block, after_transaction_id


def build_chaincode_events_request(
    *,
    creator: bytes,
    channel_name: str,
    chaincode_name: str,
    start_block: int | None,
    after_transaction_id: str,
) -> gateway_pb2.SignedChaincodeEventsRequest:
    """An unsigned ``SignedChaincodeEventsRequest`` (signature over ``request``)."""
    if not chaincode_name:
        raise ValueError("chaincode_name: must not be empty")
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel_name,
        chaincode_id=chaincode_name,
        identity=creator,
        start_position=seek_position(start_block),
        after_transaction_id=after_transaction_id,
    )
    return gateway_pb2.SignedChaincodeEventsRequest(request=request.SerializeToString())


def events_of(response: gateway_pb2.ChaincodeEventsResponse) -> list[ChaincodeEvent]:
    return [
        ChaincodeEvent(
            block_number=response.block_number,
            transaction_id=event.tx_id,
            chaincode_name=event.chaincode_id,
            event_name=event.event_name,
            payload=event.payload,
        )
        for event in response.events
    ]


class ChaincodeEventsRequest(Generic[E]):
    """A (signed or to-be-signed) events request plus what is needed to resume after it.

    Written once: ``iterate`` (the blocking or asyncio iterator class) is the only flavoured part.
    """

    def __init__(
        self,
        client: AnyClient,
        signing_identity: SigningIdentity,
        signed_request: gateway_pb2.SignedChaincodeEventsRequest,
        reconnect: ReconnectPolicy,
        iterate: Callable[[EventSource[ChaincodeEvent], ReconnectPolicy], E],
    ) -> None:
        self._client = client
        self._signing_identity = signing_identity
        self._signed = signed_request
        self._reconnect = reconnect
        self._iterate = iterate
        request = gateway_pb2.ChaincodeEventsRequest.FromString(signed_request.request)
        self.channel_name: str = request.channel_id
        self.chaincode_name: str = request.chaincode_id

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.SignedChaincodeEventsRequest``."""
        return bytes(self._signed.SerializeToString())

    def digest(self) -> builtins.bytes:
        return self._signing_identity.digest(self._signed.request)

    def get_events(self, *, timeout: Timeout = DEFAULT) -> E:
        """Iterate events (``for``, or ``async for`` on an asyncio gateway); close the iterator (or
        use ``with`` / ``async with``) to stop listening."""
        return self._iterate(_ChaincodeEventSource(self, timeout), self._reconnect)

    def _signed_request(self) -> gateway_pb2.SignedChaincodeEventsRequest:
        if not self._signed.signature:
            self._signed.signature = self._signing_identity.sign(self._signed.request)
        return self._signed


class _ChaincodeEventSource:
    error_class = ChaincodeEventsError

    def __init__(self, base: ChaincodeEventsRequest[Any], timeout: Timeout) -> None:
        self._base = base
        self._timeout = timeout
        self._block: int | None = None
        self._tx = ""

    def can_resume(self) -> bool:
        return self._base._signing_identity.can_sign

    def request(self) -> gateway_pb2.SignedChaincodeEventsRequest:
        return self._base._signed_request()

    def resume_request(self) -> gateway_pb2.SignedChaincodeEventsRequest:
        if self._block is None:  # nothing received yet: the original request still says where to start
            return self.request()
        identity = self._base._signing_identity
        signed = build_chaincode_events_request(
            creator=identity.creator,
            channel_name=self._base.channel_name,
            chaincode_name=self._base.chaincode_name,
            start_block=self._block,
            after_transaction_id=self._tx,
        )
        signed.signature = identity.sign(signed.request)
        return signed

    def open(self, request: gateway_pb2.SignedChaincodeEventsRequest, wait_for_ready: bool) -> Any:
        return self._base._client.chaincode_events(request, self._timeout, wait_for_ready)

    def items(self, response: gateway_pb2.ChaincodeEventsResponse) -> list[ChaincodeEvent]:
        return events_of(response)

    def advance(self, item: ChaincodeEvent) -> None:
        self._block, self._tx = item.block_number, item.transaction_id
