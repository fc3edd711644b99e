"""Event value types shared by the chaincode-events and block-events listeners."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChaincodeEvent:
    """A chaincode event from a committed (valid) transaction, with where it sits on the chain."""

    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes
