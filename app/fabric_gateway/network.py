"""A channel: its contracts, its chaincode events and its block events.

Written once for both flavours (a network does no I/O): the contracts and event iterators it hands
out are the blocking or asyncio kind of the gateway it came from.
"""

from __future__ import annotations

from typing import Any, Generic

from .block_events import FILTERED, FULL, WITH_PRIVATE_DATA, BlockEventsRequest, build_seek_envelope
from .chaincode_events import ChaincodeEventsRequest, build_chaincode_events_request, resolve_start
from .checkpointer import Checkpoint
from .contract import AsyncContract
from .event_stream import AsyncEventIterator
from .events import ChaincodeEvent
from .flavors import B, C, E, Flavor
from .options import DEFAULT, Timeout


class Network(Generic[C, E, B]):
    """A channel seen by one gateway."""

    def __init__(self, flavor: Flavor[C, Any, Any, Any, E, B], name: str) -> None:
        if not name:
            raise ValueError("channel name: must not be empty")
        self._flavor = flavor
        self._session = flavor.session
        self.name = name

    def get_contract(self, chaincode_name: str, contract_name: str = "") -> C:
        return self._flavor.contract(self.name, chaincode_name, contract_name)

    def new_chaincode_events_request(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        after_transaction_id: str = "",
    ) -> ChaincodeEventsRequest[E]:
        """An unsigned request (for offline signing, or to call ``get_events`` later)."""
        block, tx = resolve_start(start_block, after_transaction_id, checkpoint)
        session = self._session
        signed = build_chaincode_events_request(
            creator=session.signing_identity.creator,
            channel_name=self.name,
            chaincode_name=chaincode_name,
            start_block=block,
            after_transaction_id=tx,
        )
        return self._flavor.chaincode_events_request(signed)

    def chaincode_events(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        after_transaction_id: str = "",
        timeout: Timeout = DEFAULT,
    ) -> E:
        """Listen to a chaincode's events (from the next block unless a start or checkpoint is given)."""
        request = self.new_chaincode_events_request(
            chaincode_name,
            start_block=start_block,
            checkpoint=checkpoint,
            after_transaction_id=after_transaction_id,
        )
        return request.get_events(timeout=timeout)

    def new_block_events_request(
        self, *, kind: str = FULL, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> BlockEventsRequest[B]:
        """An unsigned Deliver request; ``kind`` is FULL, FILTERED or WITH_PRIVATE_DATA."""
        block, _ = resolve_start(start_block, "", checkpoint)
        session = self._session
        envelope = build_seek_envelope(
            creator=session.signing_identity.creator, channel_name=self.name, start_block=block
        )
        return self._flavor.block_events_request(envelope, kind)

    def block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> B:
        """Full blocks (``common.Block``)."""
        request = self.new_block_events_request(kind=FULL, start_block=start_block, checkpoint=checkpoint)
        return request.get_events(timeout=timeout)

    def filtered_block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> B:
        """Filtered blocks (``peer.FilteredBlock``: tx ids, validation codes, event names)."""
        request = self.new_block_events_request(kind=FILTERED, start_block=start_block, checkpoint=checkpoint)
        return request.get_events(timeout=timeout)

    def block_and_private_data_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> B:
        """Blocks with the private data this client's org may read (``peer.BlockAndPrivateData``)."""
        request = self.new_block_events_request(
            kind=WITH_PRIVATE_DATA, start_block=start_block, checkpoint=checkpoint
        )
        return request.get_events(timeout=timeout)


# The network an asyncio gateway hands out (its contracts and iterators are awaited).
AsyncNetwork = Network[AsyncContract, AsyncEventIterator[ChaincodeEvent], AsyncEventIterator[Any]]
