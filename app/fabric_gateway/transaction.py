"""An endorsed transaction: its result is known; sign its envelope and submit it for ordering.

For offline signing take :meth:`digest` (hash of the envelope payload), sign it elsewhere and
rebuild with ``Gateway.new_signed_transaction(transaction.bytes(), signature)``.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from fabric_protos.gateway import gateway_pb2

from .commit import AsyncCommit, Commit
from .options import DEFAULT, Timeout
from .signing_identity import SigningIdentity
from .transaction_parser import chaincode_response

if TYPE_CHECKING:
    from .client import AsyncGatewayClient, GatewayClient


class TransactionBase:
    """Message state and signing shared by the blocking and asyncio transactions."""

    def __init__(
        self,
        signing_identity: SigningIdentity,
        prepared: gateway_pb2.PreparedTransaction,
        channel_name: str,
    ) -> None:
        self._signing_identity = signing_identity
        self._prepared = prepared
        self.channel_name = channel_name
        self._response = chaincode_response(prepared.envelope)

    @property
    def transaction_id(self) -> str:
        return self._prepared.transaction_id

    @property
    def result(self) -> builtins.bytes:
        """The chaincode's response payload, as endorsed."""
        return self._response.payload

    @property
    def chaincode_status(self) -> int:
        return self._response.status

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.PreparedTransaction`` (carries the signature once set)."""
        return self._prepared.SerializeToString()

    def digest(self) -> builtins.bytes:
        """What must be signed: the hash of the envelope payload."""
        return self._signing_identity.digest(self._prepared.envelope.payload)

    @property
    def signature(self) -> builtins.bytes:
        return self._prepared.envelope.signature

    def _submit_request(self) -> gateway_pb2.SubmitRequest:
        if not self._prepared.envelope.signature:
            self._prepared.envelope.signature = self._signing_identity.sign(self._prepared.envelope.payload)
        return gateway_pb2.SubmitRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            prepared_transaction=self._prepared.envelope,
        )

    def _commit_request(self) -> gateway_pb2.SignedCommitStatusRequest:
        request = gateway_pb2.CommitStatusRequest(
            transaction_id=self.transaction_id,
            channel_id=self.channel_name,
            identity=self._signing_identity.creator,
        )
        return gateway_pb2.SignedCommitStatusRequest(request=request.SerializeToString())


class Transaction(TransactionBase):
    """Blocking transaction."""

    def __init__(
        self,
        client: GatewayClient,
        signing_identity: SigningIdentity,
        prepared: gateway_pb2.PreparedTransaction,
        channel_name: str,
    ) -> None:
        super().__init__(signing_identity, prepared, channel_name)
        self._client = client

    def submit(self, *, timeout: Timeout = DEFAULT) -> Commit:
        """Send to the orderer; returns at once with a :class:`Commit` to wait on."""
        request = self._submit_request()
        listeners = self._client.commit_listeners
        waiter = listeners.sync(self.channel_name).register(self.transaction_id) if listeners else None
        try:
            self._client.submit(request, timeout)
        except BaseException:
            if waiter is not None:
                waiter.cancel()
            raise
        return Commit(
            self._client, self._signing_identity, self._commit_request(), self.transaction_id, waiter
        )


class AsyncTransaction(TransactionBase):
    """asyncio transaction."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        prepared: gateway_pb2.PreparedTransaction,
        channel_name: str,
    ) -> None:
        super().__init__(signing_identity, prepared, channel_name)
        self._client = client

    async def submit(self, *, timeout: Timeout = DEFAULT) -> AsyncCommit:
        """Send to the orderer; returns at once with an :class:`AsyncCommit` to wait on."""
        request = self._submit_request()
        listeners = self._client.commit_listeners
        waiter = (
            await listeners.asynchronous(self.channel_name).register(self.transaction_id)
            if listeners
            else None
        )
        try:
            await self._client.submit(request, timeout)
        except BaseException:
            if waiter is not None:
                waiter.cancel()
            raise
        return AsyncCommit(
            self._client, self._signing_identity, self._commit_request(), self.transaction_id, waiter
        )
