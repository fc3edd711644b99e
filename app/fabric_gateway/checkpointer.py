"""Checkpointers: remember where an event listener stopped so a restart resumes there.

Semantics follow the Go client: ``block_number`` is the block the next event is expected in and
``transaction_id`` the last processed transaction within it (events up to and including it are
skipped on resume). ``block_number is None`` means "no checkpoint yet".
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from .events import ChaincodeEvent


@runtime_checkable
class Checkpoint(Protocol):
    """Read side: where to resume."""

    @property
    def block_number(self) -> int | None: ...

    @property
    def transaction_id(self) -> str: ...


class InMemoryCheckpointer:
    """A checkpointer that lives as long as the process (resume after a reconnect, not a restart)."""

    def __init__(self) -> None:
        self._block: int | None = None
        self._tx = ""
        self._lock = threading.Lock()

    @property
    def block_number(self) -> int | None:
        return self._block

    @property
    def transaction_id(self) -> str:
        return self._tx

    def checkpoint_block(self, block_number: int) -> None:
        """Block ``block_number`` is fully processed: resume from the next block."""
        self.checkpoint_transaction(block_number + 1, "")

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        """Transaction ``transaction_id`` in ``block_number`` is processed."""
        _check_block(block_number)
        with self._lock:
            self._block, self._tx = block_number, transaction_id

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        """The event is processed: resume after its transaction."""
        self.checkpoint_transaction(event.block_number, event.transaction_id)


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpointer persisted as JSON ``{"blockNumber": n, "transactionId": "..."}`` (the Go format).

    Each checkpoint is written to a temporary file and renamed over the old one, so a crash leaves
    either the old or the new checkpoint, never a torn file.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists() and self.path.stat().st_size > 0:
            try:
                state = json.loads(self.path.read_text())
                block = state.get("blockNumber")
                tx = state.get("transactionId", "")
            except (ValueError, AttributeError) as exc:
                raise ValueError(f"checkpoint file {self.path}: not valid checkpoint JSON: {exc}") from exc
            if block is not None:
                _check_block(block)
            if not isinstance(tx, str):
                raise ValueError(f"checkpoint file {self.path}: transactionId must be a string")
            self._block, self._tx = block, tx

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        super().checkpoint_transaction(block_number, transaction_id)
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"blockNumber": self._block, "transactionId": self._tx})
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _check_block(block_number: object) -> None:
    if not isinstance(block_number, int) or isinstance(block_number, bool) or block_number < 0:
        raise ValueError(f"block_number: must be a non-negative integer, got {block_number!r}")
