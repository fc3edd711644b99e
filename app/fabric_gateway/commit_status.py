"""A committed transaction's outcome, decoded once for the blocking and asyncio clients (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.peer import transaction_pb2

from .errors import CommitError, validation_code_name

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
        return bool(self.code == transaction_pb2.VALID)

    def raise_for_status(self) -> Status:
        """Raise :class:`CommitError` unless the transaction is VALID; returns self otherwise."""
        if not self.successful:
            raise CommitError(self.transaction_id, self.code, self.block_number)
        return self
