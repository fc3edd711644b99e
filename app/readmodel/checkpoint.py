"""The read model's checkpoint, in the Gateway client's ``Checkpoint`` shape.

``app.fabric_gateway.checkpointer`` keeps a listener's position in memory or in a JSON file. The read
model keeps it as a row of its own database instead, written in the same transaction as the blocks it
covers (a file written after the data commit could lag it by a batch after a crash, and the batch would
be counted twice). This object hands that position to the Gateway's Deliver request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreCheckpoint:
    """Resume at ``block_number`` (the first block not yet projected), from its first transaction."""

    block_number: int | None
    transaction_id: str = ""

    @classmethod
    def at(cls, next_block: int) -> StoreCheckpoint:
        return cls(block_number=next_block)
