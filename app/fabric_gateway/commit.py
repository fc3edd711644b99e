"""Wait for a submitted transaction to commit and learn its validation code and block.

For offline signing take :meth:`CommitBase.digest` (hash of the status request), sign it elsewhere
and rebuild with ``Gateway.new_signed_commit(commit.bytes(), signature)``. The blocking and asyncio
commits differ only in :meth:`get_status`, the one method that waits.
"""

from __future__ import annotations

import builtins
import time
from typing import Any, Generic, TypeVar

import grpc
from fabric_protos.gateway import gateway_pb2

from .commit_listener import AsyncWaiter, Fallback, SyncWaiter
from .commit_status import BLOCK_EVENTS, COMMIT_STATUS_CALL, Status
from .errors import CommitStatusError
from .options import DEFAULT, Timeout, resolve
from .session import AsyncSession, BlockingSession, Session

__all__ = ["BLOCK_EVENTS", "COMMIT_STATUS_CALL", "AsyncCommit", "Commit", "CommitBase", "Status"]

S = TypeVar("S", bound=Session[Any, Any])
W = TypeVar("W", bound=SyncWaiter | AsyncWaiter)


class CommitBase(Generic[S, W]):
    """Message state, signing and status decoding shared by the blocking and asyncio commits."""

    def __init__(
        self,
        session: S,
        signed_request: gateway_pb2.SignedCommitStatusRequest,
        transaction_id: str,
        waiter: W | None = None,
    ) -> None:
        self._session = session
        self._signed = signed_request
        self.transaction_id = transaction_id
        # A commit listener's waiter (see commit_listener); None: ask the CommitStatus call.
        self._waiter = waiter
        self._known: Status | None = None
        self.answered_by = ""

    def bytes(self) -> builtins.bytes:
        """Serialized ``gateway.SignedCommitStatusRequest``."""
        return bytes(self._signed.SerializeToString())

    def digest(self) -> builtins.bytes:
        return self._session.signing_identity.digest(self._signed.request)

    def _request(self) -> gateway_pb2.SignedCommitStatusRequest:
        if not self._signed.signature:
            self._signed.signature = self._session.signing_identity.sign(self._signed.request)
        return self._signed

    def _deadline(self, timeout: Timeout) -> float | None:
        return resolve(timeout, self._session.client.deadlines.commit_status)

    def _status(self, response: gateway_pb2.CommitStatusResponse) -> Status:
        self.answered_by = COMMIT_STATUS_CALL
        return Status(self.transaction_id, int(response.result), int(response.block_number))

    def _listened(
        self, outcome: Status | Fallback | None, seconds: float | None, started: float
    ) -> Status | float | None:
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


class Commit(CommitBase[BlockingSession, SyncWaiter]):
    """Blocking commit."""

    def get_status(self, *, timeout: Timeout = DEFAULT) -> Status:
        """Block until the transaction is committed (or the deadline passes: CommitStatusError)."""
        if self._known is not None:
            return self._known
        fell_back = False
        if self._waiter is not None:
            seconds, started = self._deadline(timeout), time.monotonic()
            outcome = self._listened(self._waiter.wait(seconds), seconds, started)
            if isinstance(outcome, Status):
                return outcome
            timeout, fell_back = outcome, True
        client = self._session.client
        return self._status(client.commit_status(self._request(), self.transaction_id, timeout, fell_back))


class AsyncCommit(CommitBase[AsyncSession, AsyncWaiter]):
    """asyncio commit."""

    async def get_status(self, *, timeout: Timeout = DEFAULT) -> Status:
        """Wait until the transaction is committed (or the deadline passes: CommitStatusError)."""
        if self._known is not None:
            return self._known
        fell_back = False
        if self._waiter is not None:
            seconds, started = self._deadline(timeout), time.monotonic()
            outcome = self._listened(await self._waiter.wait(seconds), seconds, started)
            if isinstance(outcome, Status):
                return outcome
            timeout, fell_back = outcome, True
        client = self._session.client
        return self._status(
            await client.commit_status(self._request(), self.transaction_id, timeout, fell_back)
        )
