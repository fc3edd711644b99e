"""Connect an identity to a peer's Gateway service; rebuild offline-signed requests.

``connect`` takes a ``grpc.Channel`` (blocking API), ``connect_async`` a ``grpc.aio.Channel``.
The caller owns the channel (one channel can serve many identities): closing a gateway does
not close it. :class:`GatewayBase` holds everything a gateway does, once; :class:`Gateway` and
:class:`AsyncGateway` add only ``close`` (which waits for the commit listeners to stop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2

from . import hashing
from .block_events import FULL, BlockEventsRequest
from .chaincode_events import ChaincodeEventsRequest
from .client import AsyncGatewayClient, GatewayClient
from .commit import AsyncCommit, Commit
from .commit_listener import AsyncCommitListener, CommitListener, CommitListeners
from .contract import AsyncContract, Contract
from .event_stream import AsyncEventIterator, EventIterator
from .events import ChaincodeEvent
from .flavors import B, C, E, Flavor, M, P, T, bind
from .identity import Identity
from .network import Network
from .options import Deadlines, ReconnectPolicy
from .proposal import AsyncProposal, Proposal
from .session import ClientT, ListenerT, Session
from .signing import Sign
from .signing_identity import SigningIdentity
from .transaction import AsyncTransaction, Transaction
from .transaction_parser import channel_header


def _signing_identity(
    identity: Identity, signer: Sign | None, hash: hashing.HashFunction | None
) -> SigningIdentity:
    if not isinstance(identity, Identity):
        raise TypeError(f"identity: expected Identity, got {type(identity).__name__}")
    if hash is None:
        hash = getattr(signer, "preferred_hash", None) or hashing.sha256
    return SigningIdentity(identity, signer, hash)


def _parse(message_type: Any, data: bytes, what: str) -> Any:
    try:
        return message_type.FromString(bytes(data))
    except Exception as exc:
        raise ValueError(f"{what}: not a serialized {message_type.DESCRIPTOR.full_name}: {exc}") from exc


def _check_signature(signature: bytes) -> bytes:
    if not signature:
        raise ValueError("signature: must not be empty")
    return bytes(signature)


class GatewayBase(Generic[C, P, T, M, E, B]):
    """One identity's gateway connection: networks and offline-signed requests, for both flavours."""

    def __init__(self, flavor: Flavor[C, P, T, M, E, B], owns_listeners: bool) -> None:
        self._flavor = flavor
        self._session = flavor.session
        self._owns_listeners = owns_listeners
        self.deadlines: Deadlines = flavor.session.client.deadlines
        self.reconnect: ReconnectPolicy = flavor.session.reconnect

    @property
    def identity(self) -> Identity:
        return self._session.signing_identity.identity

    def commit_listener_state(self, channel_name: str) -> str:
        """How submits on a channel learn their commit status: ``idle``, ``live``, ``reconnecting``,
        ``disabled: <why>`` (CommitStatus calls), ``closed``, or ``off`` (connected without it)."""
        listeners = self._session.listeners
        return listeners.state(channel_name) if listeners is not None else "off"

    def get_network(self, channel_name: str) -> Network[C, E, B]:
        return Network(self._flavor, channel_name)

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> P:
        proposed = _parse(gateway_pb2.ProposedTransaction, proposal_bytes, "proposal bytes")
        proposed.proposal.signature = _check_signature(signature)
        proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel = common_pb2.ChannelHeader.FromString(header.channel_header).channel_id
        return self._flavor.proposal(proposed, channel)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> T:
        prepared = _parse(gateway_pb2.PreparedTransaction, transaction_bytes, "transaction bytes")
        prepared.envelope.signature = _check_signature(signature)
        return self._flavor.transaction(prepared, channel_header(prepared.envelope).channel_id)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> M:
        signed = _parse(gateway_pb2.SignedCommitStatusRequest, commit_bytes, "commit bytes")
        signed.signature = _check_signature(signature)
        request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        return self._flavor.commit(signed, request.transaction_id)

    def new_signed_chaincode_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> ChaincodeEventsRequest[E]:
        signed = _parse(
            gateway_pb2.SignedChaincodeEventsRequest, request_bytes, "chaincode events request bytes"
        )
        signed.signature = _check_signature(signature)
        return self._flavor.chaincode_events_request(signed)

    def new_signed_block_events_request(
        self, request_bytes: bytes, signature: bytes, kind: str = FULL
    ) -> BlockEventsRequest[B]:
        envelope = _parse(common_pb2.Envelope, request_bytes, "block events request bytes")
        envelope.signature = _check_signature(signature)
        return self._flavor.block_events_request(envelope, kind)


class Gateway(
    GatewayBase[Contract, Proposal, Transaction, Commit, EventIterator[ChaincodeEvent], EventIterator[Any]]
):
    """Blocking gateway connection for one identity."""

    def close(self) -> None:
        """Stop this gateway's own commit listeners (not shared ones); the grpc channel stays open."""
        listeners = self._session.listeners
        if listeners is not None and self._owns_listeners:
            listeners.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGateway(
    GatewayBase[
        AsyncContract,
        AsyncProposal,
        AsyncTransaction,
        AsyncCommit,
        AsyncEventIterator[ChaincodeEvent],
        AsyncEventIterator[Any],
    ]
):
    """asyncio gateway connection for one identity."""

    async def close(self) -> None:
        """Stop this gateway's own commit listeners (not shared ones); the grpc channel stays open."""
        listeners = self._session.listeners
        if listeners is not None and self._owns_listeners:
            await listeners.aclose()

    async def __aenter__(self) -> AsyncGateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def connect(
    identity: Identity,
    signer: Sign | None,
    channel: grpc.Channel,
    *,
    hash: hashing.HashFunction | None = None,
    deadlines: Deadlines | None = None,
    reconnect: ReconnectPolicy | None = None,
    commit_listener: bool | CommitListeners[CommitListener] = True,
) -> Gateway:
    """A blocking gateway. ``signer=None`` allows only offline signing; ``hash`` defaults to the
    signer's ``preferred_hash`` (SHA-256 for P-256, none for Ed25519) or SHA-256.

    ``commit_listener`` (default on): submits learn their commit status from one shared
    filtered-block stream per channel instead of a CommitStatus call each (see commit_listener);
    off, every submit asks the CommitStatus call, as the official clients do. Pass the result of
    :func:`new_commit_listeners` to share one stream among many identities' gateways on the same
    grpc channel (an API server with many users); its owner closes it."""
    client = GatewayClient(channel, deadlines or Deadlines())
    session = _session(
        client, _signing_identity(identity, signer, hash), reconnect, commit_listener, CommitListener
    )
    flavor = bind(session, Contract, Proposal, Transaction, Commit, EventIterator, EventIterator)
    return Gateway(flavor, owns_listeners=commit_listener is True)


def connect_async(
    identity: Identity,
    signer: Sign | None,
    channel: grpc.aio.Channel,
    *,
    hash: hashing.HashFunction | None = None,
    deadlines: Deadlines | None = None,
    reconnect: ReconnectPolicy | None = None,
    commit_listener: bool | CommitListeners[AsyncCommitListener] = True,
) -> AsyncGateway:
    """An asyncio gateway over a ``grpc.aio`` channel (same options as :func:`connect`)."""
    client = AsyncGatewayClient(channel, deadlines or Deadlines())
    signing_identity = _signing_identity(identity, signer, hash)
    session = _session(client, signing_identity, reconnect, commit_listener, AsyncCommitListener)
    flavor = bind(
        session,
        AsyncContract,
        AsyncProposal,
        AsyncTransaction,
        AsyncCommit,
        AsyncEventIterator,
        AsyncEventIterator,
    )
    return AsyncGateway(flavor, owns_listeners=commit_listener is True)


def _session(
    client: ClientT,
    signing_identity: SigningIdentity,
    reconnect: ReconnectPolicy | None,
    choice: bool | CommitListeners[ListenerT],
    new_listener: Callable[[ClientT, SigningIdentity, str, ReconnectPolicy], ListenerT],
) -> Session[ClientT, ListenerT]:
    reconnect = reconnect or ReconnectPolicy()
    listeners: CommitListeners[ListenerT] | None = None
    if isinstance(choice, CommitListeners):
        if choice.channel is not client.channel:
            raise ValueError("commit_listener: shared listeners must be built on the same grpc channel")
        listeners = choice
    elif choice:
        listeners = _new_listeners(client, signing_identity, reconnect, new_listener)
    return Session(client, signing_identity, reconnect, listeners)


def _new_listeners(
    client: ClientT,
    signing_identity: SigningIdentity,
    reconnect: ReconnectPolicy,
    new_listener: Callable[[ClientT, SigningIdentity, str, ReconnectPolicy], ListenerT],
) -> CommitListeners[ListenerT]:
    def listener(channel_name: str) -> ListenerT:
        return new_listener(client, signing_identity, channel_name, reconnect)

    return CommitListeners(client.channel, listener)


def new_commit_listeners(
    identity: Identity,
    signer: Sign,
    channel: grpc.Channel | grpc.aio.Channel,
    *,
    hash: hashing.HashFunction | None = None,
    reconnect: ReconnectPolicy | None = None,
) -> CommitListeners[Any]:
    """Commit listeners to share among gateways on ``channel`` (pass as ``commit_listener=``).

    ``identity`` signs the block-event requests (any channel member may read filtered blocks: they
    hold transaction ids and validation codes only). Close with ``close()`` (blocking channel) or
    ``await aclose()`` (``grpc.aio`` channel)."""
    signing_identity = _signing_identity(identity, signer, hash)
    reconnect = reconnect or ReconnectPolicy()
    if isinstance(channel, grpc.aio.Channel):
        return _new_listeners(
            AsyncGatewayClient(channel, Deadlines()), signing_identity, reconnect, AsyncCommitListener
        )
    return _new_listeners(GatewayClient(channel, Deadlines()), signing_identity, reconnect, CommitListener)
