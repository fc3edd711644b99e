"""Wait for a submitted transaction to commit and learn its validation code and block.

For offline signing take :meth:`digest` (hash of the status request), sign it elsewhere and
rebuild with ``Gateway.new_signed_commit(commit.bytes(), signature)``.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from .errors import CommitError, CommitStatusError, validation_code_name
from .options import DEFAULT, Timeout, resolve
from .signing_identity import SigningIdentity

if TYPE_CHECKING:
    from .client import AsyncGatewayClient, GatewayClient

# Where a commit's status came from (``Commit.answered_by``).
BLOCK_EVENTS = "block events"
COMMIT_STATUS_CALL = "commit status call"


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
        waiter: Any = None,
    ) -> None:
        self._signing_identity = signing_identity
        self._signed = signed_request
        self.transaction_id = transaction_id
        # A commit listener's waiter (see commit_listener); None: ask the CommitStatus call.
        self._waiter = waiter
        self._known: Status | None = None
        self.answered_by = ""

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
        self.answered_by = COMMIT_STATUS_CALL
        return Status(self.transaction_id, int(response.result), int(response.block_number))

    def _listened(self, outcome: Any, seconds: float | None, started: float) -> Status | float | None:
        """Interpret a waiter's outcome: the Status, or the seconds left for the CommitStatus call.

        That fallback call waits for the peer to be reachable (within the deadline): the stream
        usually broke because the peer restarted, and the status must not be lost to that."""
        self._waiter = None
        if isinstance(outcome, Status):
            self._known, self.answered_by = outcome, BLOCK_EVENTS
            return outcome
        if outcome is None:
            raise CommitStatusError(
                f"transaction not committed within {seconds}s",
                code=grpc.StatusCode.DEADLINE_EXCEEDED,
                transaction_id=self.transaction_id,
            )
        return None if seconds is None else max(0.0, seconds - (time.monotonic() - started))


class Commit(CommitBase):
    """Blocking commit."""

    def __init__(
        self,
        client: GatewayClient,
        signing_identity: SigningIdentity,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
        waiter: Any = None,
    ) -> None:
        super().__init__(signing_identity, signed_request, transaction_id, waiter)
        self._client = client

    def get_status(self, *, timeout: Timeout = DEFAULT) -> Status:
        """Block until the transaction is committed (or the deadline passes: CommitStatusError)."""
        if self._known is not None:
            return self._known
        fell_back = False
        if self._waiter is not None:
            seconds, started = resolve(timeout, self._client.deadlines.commit_status), time.monotonic()
            outcome = self._listened(self._waiter.wait(seconds), seconds, started)
            if isinstance(outcome, Status):
                return outcome
            timeout, fell_back = outcome, True
        return self._status(
            self._client.commit_status(
                self._request(), self.transaction_id, timeout, wait_for_ready=fell_back
            )
        )


class AsyncCommit(CommitBase):
    """asyncio commit."""

    def __init__(
        self,
        client: AsyncGatewayClient,
        signing_identity: SigningIdentity,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
        waiter: Any = None,
    ) -> None:
        super().__init__(signing_identity, signed_request, transaction_id, waiter)
        self._client = client

    async def get_status(self, *, timeout: Timeout = DEFAULT) -> Status:
        """Wait until the transaction is committed (or the deadline passes: CommitStatusError)."""
        if self._known is not None:
            return self._known
        fell_back = False
        if self._waiter is not None:
            seconds, started = resolve(timeout, self._client.deadlines.commit_status), time.monotonic()
            outcome = self._listened(await self._waiter.wait(seconds), seconds, started)
            if isinstance(outcome, Status):
                return outcome
            timeout, fell_back = outcome, True
        response = await self._client.commit_status(
            self._request(), self.transaction_id, timeout, wait_for_ready=fell_back
        )
        return self._status(response)
