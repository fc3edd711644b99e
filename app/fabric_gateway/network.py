"""A channel: its contracts, its chaincode events and its block events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .block_events import (
    FILTERED,
    FULL,
    WITH_PRIVATE_DATA,
    AsyncBlockEventsRequest,
    BlockEventsRequest,
    build_seek_envelope,
)
from .chaincode_events import (
    AsyncChaincodeEventsRequest,
    ChaincodeEventsRequest,
    build_chaincode_events_request,
    resolve_start,
)
from .contract import AsyncContract, Contract
from .event_stream import AsyncEventIterator, EventIterator
from .events import ChaincodeEvent
from .options import DEFAULT, ReconnectPolicy, Timeout
from .signing_identity import SigningIdentity

if TYPE_CHECKING:
    from .checkpointer import Checkpoint
    from .client import AsyncGatewayClient, GatewayClient


class NetworkBase:
    """Request building shared by the blocking and asyncio networks."""

    def __init__(self, signing_identity: SigningIdentity, name: str, reconnect: ReconnectPolicy) -> None:
        if not name:
            raise ValueError("channel name: must not be empty")
        self._signing_identity = signing_identity
        self.name = name
        self._reconnect = reconnect

    def _events_request(
        self, chaincode_name: str, start_block: int | None, checkpoint: Checkpoint | None, after: str
    ) -> Any:
        block, tx = resolve_start(start_block, after, checkpoint)
        return build_chaincode_events_request(
            creator=self._signing_identity.creator,
            channel_name=self.name,
            chaincode_name=chaincode_name,
            start_block=block,
            after_transaction_id=tx,
        )

    def _seek_envelope(self, start_block: int | None, checkpoint: Checkpoint | None) -> Any:
        block, _ = resolve_start(start_block, "", checkpoint)
        return build_seek_envelope(
            creator=self._signing_identity.creator, channel_name=self.name, start_block=block
        )


class Network(NetworkBase):
    """Blocking network."""

    def __init__(
        self, client: GatewayClient, signing_identity: SigningIdentity, name: str, reconnect: ReconnectPolicy
    ) -> None:
        super().__init__(signing_identity, name, reconnect)
        self._client = client

    def get_contract(self, chaincode_name: str, contract_name: str = "") -> Contract:
        return Contract(self._client, self._signing_identity, self.name, chaincode_name, contract_name)

    def new_chaincode_events_request(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        after_transaction_id: str = "",
    ) -> ChaincodeEventsRequest:
        """An unsigned request (for offline signing, or to call ``get_events`` later)."""
        signed = self._events_request(chaincode_name, start_block, checkpoint, after_transaction_id)
        return ChaincodeEventsRequest(self._client, self._signing_identity, signed, self._reconnect)

    def chaincode_events(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        after_transaction_id: str = "",
        timeout: Timeout = DEFAULT,
    ) -> EventIterator[ChaincodeEvent]:
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
    ) -> BlockEventsRequest:
        """An unsigned Deliver request; ``kind`` is FULL, FILTERED or WITH_PRIVATE_DATA."""
        envelope = self._seek_envelope(start_block, checkpoint)
        return BlockEventsRequest(self._client, self._signing_identity, envelope, kind, self._reconnect)

    def block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> EventIterator[Any]:
        """Full blocks (``common.Block``)."""
        request = self.new_block_events_request(kind=FULL, start_block=start_block, checkpoint=checkpoint)
        return request.get_events(timeout=timeout)

    def filtered_block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> EventIterator[Any]:
        """Filtered blocks (``peer.FilteredBlock``: tx ids, validation codes, event names)."""
        request = self.new_block_events_request(kind=FILTERED, start_block=start_block, checkpoint=checkpoint)
        return request.get_events(timeout=timeout)

    def block_and_private_data_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> EventIterator[Any]:
        """Blocks with the private data this client's org may read (``peer.BlockAndPrivateData``)."""
        request = self.new_block_events_request(
            kind=WITH_PRIVATE_DATA, start_block=start_block, checkpoint=checkpoint
        )
        return request.get_events(timeout=timeout)


class AsyncNetwork(NetworkBase):
    """asyncio network."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        name: str,
        reconnect: ReconnectPolicy,
    ) -> None:
        super().__init__(signing_identity, name, reconnect)
        self._client = client

    def get_contract(self, chaincode_name: str, contract_name: str = "") -> AsyncContract:
        return AsyncContract(self._client, self._signing_identity, self.name, chaincode_name, contract_name)

    def new_chaincode_events_request(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        after_transaction_id: str = "",
    ) -> AsyncChaincodeEventsRequest:
        signed = self._events_request(chaincode_name, start_block, checkpoint, after_transaction_id)
        return AsyncChaincodeEventsRequest(self._client, self._signing_identity, signed, self._reconnect)

    def chaincode_events(
        self,
        chaincode_name: str,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        after_transaction_id: str = "",
        timeout: Timeout = DEFAULT,
    ) -> AsyncEventIterator[ChaincodeEvent]:
        request = self.new_chaincode_events_request(
            chaincode_name,
            start_block=start_block,
            checkpoint=checkpoint,
            after_transaction_id=after_transaction_id,
        )
        return request.get_events(timeout=timeout)

    def new_block_events_request(
        self, *, kind: str = FULL, start_block: int | None = None, checkpoint: Checkpoint | None = None
    ) -> AsyncBlockEventsRequest:
        envelope = self._seek_envelope(start_block, checkpoint)
        return AsyncBlockEventsRequest(self._client, self._signing_identity, envelope, kind, self._reconnect)

    def block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> AsyncEventIterator[Any]:
        request = self.new_block_events_request(kind=FULL, start_block=start_block, checkpoint=checkpoint)
        return request.get_events(timeout=timeout)

    def filtered_block_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> AsyncEventIterator[Any]:
        request = self.new_block_events_request(kind=FILTERED, start_block=start_block, checkpoint=checkpoint)
        return request.get_events(timeout=timeout)

    def block_and_private_data_events(
        self,
        *,
        start_block: int | None = None,
        checkpoint: Checkpoint | None = None,
        timeout: Timeout = DEFAULT,
    ) -> AsyncEventIterator[Any]:
        request = self.new_block_events_request(
            kind=WITH_PRIVATE_DATA, start_block=start_block, checkpoint=checkpoint
        )
        return request.get_events(timeout=timeout)
