"""Connect an identity to a peer's Gateway service; rebuild offline-signed requests.

``connect`` takes a ``grpc.Channel`` (blocking API), ``connect_async`` a ``grpc.aio.Channel``.
The caller owns the channel (one channel can serve many identities): closing a gateway does
not close it.
"""

from __future__ import annotations

from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2

from . import hashing
from .block_events import FULL, AsyncBlockEventsRequest, BlockEventsRequest
from .chaincode_events import AsyncChaincodeEventsRequest, ChaincodeEventsRequest
from .client import AsyncGatewayClient, GatewayClient
from .commit import AsyncCommit, Commit
from .commit_listener import CommitListeners
from .identity import Identity
from .network import AsyncNetwork, Network
from .options import Deadlines, ReconnectPolicy
from .proposal import AsyncProposal, Proposal
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


class GatewayBase:
    """Offline-signing message handling shared by the blocking and asyncio gateways."""

    def __init__(
        self, signing_identity: SigningIdentity, deadlines: Deadlines, reconnect: ReconnectPolicy
    ) -> None:
        self._signing_identity = signing_identity
        self.deadlines = deadlines
        self.reconnect = reconnect

    @property
    def identity(self) -> Identity:
        return self._signing_identity.identity

    def commit_listener_state(self, channel_name: str) -> str:
        """How submits on a channel learn their commit status: ``idle``, ``live``, ``reconnecting``,
        ``disabled: <why>`` (CommitStatus calls), ``closed``, or ``off`` (connected without it)."""
        listeners = self._client.commit_listeners  # type: ignore[attr-defined]
        return listeners.state(channel_name) if listeners is not None else "off"

    def _signed_proposal(self, data: bytes, signature: bytes) -> tuple[gateway_pb2.ProposedTransaction, str]:
        proposed = _parse(gateway_pb2.ProposedTransaction, data, "proposal bytes")
        proposed.proposal.signature = _check_signature(signature)
        proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel = common_pb2.ChannelHeader.FromString(header.channel_header).channel_id
        return proposed, channel

    def _signed_transaction(
        self, data: bytes, signature: bytes
    ) -> tuple[gateway_pb2.PreparedTransaction, str]:
        prepared = _parse(gateway_pb2.PreparedTransaction, data, "transaction bytes")
        prepared.envelope.signature = _check_signature(signature)
        return prepared, channel_header(prepared.envelope).channel_id

    def _signed_commit(
        self, data: bytes, signature: bytes
    ) -> tuple[gateway_pb2.SignedCommitStatusRequest, str]:
        signed = _parse(gateway_pb2.SignedCommitStatusRequest, data, "commit bytes")
        signed.signature = _check_signature(signature)
        request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        return signed, request.transaction_id

    def _signed_events(self, data: bytes, signature: bytes) -> gateway_pb2.SignedChaincodeEventsRequest:
        signed = _parse(gateway_pb2.SignedChaincodeEventsRequest, data, "chaincode events request bytes")
        signed.signature = _check_signature(signature)
        return signed

    def _signed_envelope(self, data: bytes, signature: bytes) -> common_pb2.Envelope:
        envelope = _parse(common_pb2.Envelope, data, "block events request bytes")
        envelope.signature = _check_signature(signature)
        return envelope


class Gateway(GatewayBase):
    """Blocking gateway connection for one identity."""

    def __init__(
        self,
        client: GatewayClient,
        signing_identity: SigningIdentity,
        deadlines: Deadlines,
        reconnect: ReconnectPolicy,
    ) -> None:
        super().__init__(signing_identity, deadlines, reconnect)
        self._client = client

    def get_network(self, channel_name: str) -> Network:
        return Network(self._client, self._signing_identity, channel_name, self.reconnect)

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        proposed, channel = self._signed_proposal(proposal_bytes, signature)
        return Proposal(self._client, self._signing_identity, proposed, channel)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        prepared, channel = self._signed_transaction(transaction_bytes, signature)
        return Transaction(self._client, self._signing_identity, prepared, channel)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> Commit:
        signed, tx_id = self._signed_commit(commit_bytes, signature)
        return Commit(self._client, self._signing_identity, signed, tx_id)

    def new_signed_chaincode_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> ChaincodeEventsRequest:
        signed = self._signed_events(request_bytes, signature)
        return ChaincodeEventsRequest(self._client, self._signing_identity, signed, self.reconnect)

    def new_signed_block_events_request(
        self, request_bytes: bytes, signature: bytes, kind: str = FULL
    ) -> BlockEventsRequest:
        envelope = self._signed_envelope(request_bytes, signature)
        return BlockEventsRequest(self._client, self._signing_identity, envelope, kind, self.reconnect)

    def close(self) -> None:
        """Stop this gateway's own commit listeners (not shared ones); the grpc channel stays open."""
        listeners = self._client.commit_listeners
        if listeners is not None and listeners.owner is self._client:
            listeners.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGateway(GatewayBase):
    """asyncio gateway connection for one identity."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        deadlines: Deadlines,
        reconnect: ReconnectPolicy,
    ) -> None:
        super().__init__(signing_identity, deadlines, reconnect)
        self._client = client

    def get_network(self, channel_name: str) -> AsyncNetwork:
        return AsyncNetwork(self._client, self._signing_identity, channel_name, self.reconnect)

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> AsyncProposal:
        proposed, channel = self._signed_proposal(proposal_bytes, signature)
        return AsyncProposal(self._client, self._signing_identity, proposed, channel)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> AsyncTransaction:
        prepared, channel = self._signed_transaction(transaction_bytes, signature)
        return AsyncTransaction(self._client, self._signing_identity, prepared, channel)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> AsyncCommit:
        signed, tx_id = self._signed_commit(commit_bytes, signature)
        return AsyncCommit(self._client, self._signing_identity, signed, tx_id)

    def new_signed_chaincode_events_request(
        self, request_bytes: bytes, signature: bytes
    ) -> AsyncChaincodeEventsRequest:
        signed = self._signed_events(request_bytes, signature)
        return AsyncChaincodeEventsRequest(self._client, self._signing_identity, signed, self.reconnect)

    def new_signed_block_events_request(
        self, request_bytes: bytes, signature: bytes, kind: str = FULL
    ) -> AsyncBlockEventsRequest:
        envelope = self._signed_envelope(request_bytes, signature)
        return AsyncBlockEventsRequest(self._client, self._signing_identity, envelope, kind, self.reconnect)

    async def close(self) -> None:
        """Stop this gateway's own commit listeners (not shared ones); the grpc channel stays open."""
        listeners = self._client.commit_listeners
        if listeners is not None and listeners.owner is self._client:
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
    commit_listener: bool | CommitListeners = True,
) -> Gateway:
    """A blocking gateway. ``signer=None`` allows only offline signing; ``hash`` defaults to the
    signer's ``preferred_hash`` (SHA-256 for P-256, none for Ed25519) or SHA-256.

    ``commit_listener`` (default on): submits learn their commit status from one shared
    filtered-block stream per channel instead of a CommitStatus call each (see commit_listener);
    off, every submit asks the CommitStatus call, as the official clients do. Pass the result of
    :func:`new_commit_listeners` to share one stream among many identities' gateways on the same
    grpc channel (an API server with many users); its owner closes it."""
    deadlines = deadlines or Deadlines()
    reconnect = reconnect or ReconnectPolicy()
    client = GatewayClient(channel, deadlines)
    signing_identity = _signing_identity(identity, signer, hash)
    client.commit_listeners = _listeners(commit_listener, client, signing_identity, reconnect)
    return Gateway(client, signing_identity, deadlines, reconnect)


def connect_async(
    identity: Identity,
    signer: Sign | None,
    channel: grpc.aio.Channel,
    *,
    hash: hashing.HashFunction | None = None,
    deadlines: Deadlines | None = None,
    reconnect: ReconnectPolicy | None = None,
    commit_listener: bool | CommitListeners = True,
) -> AsyncGateway:
    """An asyncio gateway over a ``grpc.aio`` channel (same options as :func:`connect`)."""
    deadlines = deadlines or Deadlines()
    reconnect = reconnect or ReconnectPolicy()
    client = AsyncGatewayClient(channel, deadlines)
    signing_identity = _signing_identity(identity, signer, hash)
    client.commit_listeners = _listeners(commit_listener, client, signing_identity, reconnect)
    return AsyncGateway(client, signing_identity, deadlines, reconnect)


def _listeners(
    choice: bool | CommitListeners,
    client: GatewayClient | AsyncGatewayClient,
    signing_identity: SigningIdentity,
    reconnect: ReconnectPolicy,
) -> CommitListeners | None:
    if isinstance(choice, CommitListeners):
        if choice.channel is not client.channel:
            raise ValueError("commit_listener: shared listeners must be built on the same grpc channel")
        return choice
    return CommitListeners(client, signing_identity, reconnect) if choice else None


def new_commit_listeners(
    identity: Identity,
    signer: Sign,
    channel: grpc.Channel | grpc.aio.Channel,
    *,
    hash: hashing.HashFunction | None = None,
    reconnect: ReconnectPolicy | None = None,
) -> CommitListeners:
    """Commit listeners to share among gateways on ``channel`` (pass as ``commit_listener=``).

    ``identity`` signs the block-event requests (any channel member may read filtered blocks: they
    hold transaction ids and validation codes only). Close with ``close()`` / ``await aclose()``."""
    client: GatewayClient | AsyncGatewayClient
    if isinstance(channel, grpc.aio.Channel):
        client = AsyncGatewayClient(channel, Deadlines())
    else:
        client = GatewayClient(channel, Deadlines())
    signing_identity = _signing_identity(identity, signer, hash)
    listeners = CommitListeners(client, signing_identity, reconnect or ReconnectPolicy())
    client.commit_listeners = listeners
    return listeners
