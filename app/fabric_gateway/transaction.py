"""An endorsed transaction: its result is known; sign its envelope and submit it for ordering.

For offline signing take :meth:`TransactionBase.digest` (hash of the envelope payload), sign it
elsewhere and rebuild with ``Gateway.new_signed_transaction(transaction.bytes(), signature)``. The
blocking and asyncio transactions differ only in :meth:`submit`, the one method that waits.
"""

from __future__ import annotations

import builtins
from typing import Any, Generic, TypeVar

from fabric_protos.gateway import gateway_pb2

from .commit import AsyncCommit, Commit
from .options import DEFAULT, Timeout
from .session import AsyncSession, BlockingSession, Session
from .transaction_parser import chaincode_response

S = TypeVar("S", bound=Session[Any, Any])


class TransactionBase(Generic[S]):
    """Message state, parsing and signing shared by the blocking and asyncio transactions."""

    def __init__(self, session: S, prepared: gateway_pb2.PreparedTransaction, channel_name: str) -> None:
        self._session = session
        self._prepared = prepared
        self.channel_name = channel_name
        self._response = chaincode_response(prepared.envelope)

    @property
    def transaction_id(self) -> str:
        return str(self._prepared.transaction_id)

    @property
    def result(self) -> builtins.bytes:
        """The chaincode's response payload, as endorsed."""
        return bytes(self._response.payload)

    @property
    def chaincode_status(self) -> int:
        return int(self._response.status)

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.PreparedTransaction`` (carries the signature once set)."""
        return bytes(self._prepared.SerializeToString())

    def digest(self) -> builtins.bytes:
        """What must be signed: the hash of the envelope payload."""
        return self._session.signing_identity.digest(self._prepared.envelope.payload)

    @property
    def signature(self) -> builtins.bytes:
        return bytes(self._prepared.envelope.signature)

    def _submit_request(self) -> gateway_pb2.SubmitRequest:
        envelope = self._prepared.envelope
        if not envelope.signature:
            envelope.signature = self._session.signing_identity.sign(envelope.payload)
        return gateway_pb2.SubmitRequest(
            transaction_id=self.transaction_id, channel_id=self.channel_name, prepared_transaction=envelope
        )

    def _commit_request(self) -> gateway_pb2.SignedCommitStatusRequest:
        request = gateway_pb2.CommitStatusRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            identity=self._session.signing_identity.creator,
        )
        return gateway_pb2.SignedCommitStatusRequest(request=request.SerializeToString())


class Transaction(TransactionBase[BlockingSession]):
    """Blocking transaction."""

    def submit(self, *, timeout: Timeout = DEFAULT) -> Commit:
        """Send to the orderer; returns at once with a :class:`Commit` to wait on."""
        request, listeners = self._submit_request(), self._session.listeners
        # Registered before the Submit is sent, so the listener cannot miss the block.
        waiter = listeners.listener(self.channel_name).register(self.transaction_id) if listeners else None
        try:
            self._session.client.submit(request, timeout)
        except BaseException:
            if waiter is not None:
                waiter.cancel()
            raise
        return Commit(self._session, self._commit_request(), self.transaction_id, waiter)


class AsyncTransaction(TransactionBase[AsyncSession]):
    """asyncio transaction."""

    async def submit(self, *, timeout: Timeout = DEFAULT) -> AsyncCommit:
        """Send to the orderer; returns at once with an :class:`AsyncCommit` to wait on."""
        request, listeners = self._submit_request(), self._session.listeners
        # Registered before the Submit is sent, so the listener cannot miss the block.
        waiter = (
            await listeners.listener(self.channel_name).register(self.transaction_id) if listeners else None
        )
        try:
            await self._session.client.submit(request, timeout)
        except BaseException:
            if waiter is not None:
                waiter.cancel()
            raise
        return AsyncCommit(self._session, self._commit_request(), self.transaction_id, waiter)
