"""Wait for a submitted transaction to commit and learn its validation code and block.

For offline signing take :meth:`digest` (hash of the status request), sign it elsewhere and
rebuild with ``Gateway.new_signed_commit(commit.bytes(), signature)``.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from .errors import CommitError, validation_code_name
from .options import DEFAULT, Timeout
from .signing_identity import SigningIdentity

if TYPE_CHECKING:
    from .client import AsyncGatewayClient, GatewayClient


@dataclass(frozen=True, slots=True)
class Status:
    """A committed transaction's outcome."""

    transaction_id: str
    code: int
    block_number: int

    @property
    def code_name(self) -> str:
        return validation_code_name(self.code)

    @property
    def successful(self) -> bool:
        return self.code == transaction_pb2.VALID

    def raise_for_status(self) -> Status:
        """Raise :class:`CommitError` unless the transaction is VALID; returns self otherwise."""
        if not self.successful:
            raise CommitError(self.transaction_id, self.code, self.block_number)
        return self


class CommitBase:
    """Message state and signing shared by the blocking and asyncio commits."""

    def __init__(
        self,
        signing_identity: SigningIdentity,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
    ) -> None:
        self._signing_identity = signing_identity
        self._signed = signed_request
        self.transaction_id = transaction_id

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.SignedCommitStatusRequest``."""
        return self._signed.SerializeToString()

    def digest(self) -> builtins.bytes:
        return self._signing_identity.digest(self._signed.request)

    def _request(self) -> gateway_pb2.SignedCommitStatusRequest:
        if not self._signed.signature:
            self._signed.signature = self._signing_identity.sign(self._signed.request)
        return self._signed

    def _status(self, response: gateway_pb2.CommitStatusResponse) -> Status:
        return Status(self.transaction_id, int(response.result), int(response.block_number))


class Commit(CommitBase):
    """Blocking commit."""

    def __init__(
        self,
        client: GatewayClient,
        signing_identity: SigningIdentity,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
    ) -> None:
        super().__init__(signing_identity, signed_request, transaction_id)
        self._client = client

    def get_status(self, *, timeout: Timeout = DEFAULT) -> Status:
        """Block until the transaction is committed (or the deadline passes: CommitStatusError)."""
        return self._status(self._client.commit_status(self._request(), self.transaction_id, timeout))


class AsyncCommit(CommitBase):
    """asyncio commit."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
    ) -> None:
        super().__init__(signing_identity, signed_request, transaction_id)
        self._client = client

    async def get_status(self, *, timeout: Timeout = DEFAULT) -> Status:
        """Wait until the transaction is committed (or the deadline passes: CommitStatusError)."""
        return self._status(await self._client.commit_status(self._request(), self.transaction_id, timeout))
