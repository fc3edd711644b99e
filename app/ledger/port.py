"""The ledger port: what the gateway needs from a ledger, whichever backend serves it.

Two adapters implement it: ``fabric`` (the Python Gateway client, one Fabric identity per user)
and ``embedded`` (the same contract on the in-process host over a SQLite ledger). The API layer
depends on this module only, so the conformance suite can run one scenario on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user on whose behalf a transaction is made.

    ``msp_id`` and ``attributes`` are what the chaincode sees (from the user's certificate);
    ``user_id`` names the enrolled identity the adapter signs with.
    """

    user_id: str
    msp_id: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TxResult:
    """A committed transaction: its id, block, validation code and the chaincode's payload."""

    tx_id: str
    block_number: int
    validation_code: str  # "VALID", "MVCC_READ_CONFLICT", "ENDORSEMENT_POLICY_FAILURE", ...
    payload: bytes
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """A chaincode event as committed, with where it sits on the chain."""

    block_number: int
    tx_id: str
    chaincode_id: str
    event_name: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class TxOrigin:
    """Who created a committed transaction (the creator's MSP id, from its signed envelope) and in
    which block it sits: timelines and audits name the org that made each change."""

    tx_id: str
    block_number: int
    creator_msp_id: str


# Called with a transaction's id once it is endorsed and before it is sent for ordering: a caller that
# must survive a crash (idempotency keys) records the id durably here. If it raises, nothing is sent.
BeforeSubmit = Callable[[str], Awaitable[None]]


class LedgerError(Exception):
    """Base class: every adapter maps its failures to these, so the API maps them to HTTP once."""

    def __init__(self, message: str, *, status: int = 500, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status  # the chaincode's status where it gave one
        self.details = details or []


class ChaincodeRefused(LedgerError):
    """The contract refused the call (validation, access rule, state conflict); nothing was written."""


class TransactionInvalidated(LedgerError):
    """Endorsed and ordered, but invalidated at commit (e.g. MVCC_READ_CONFLICT)."""

    def __init__(self, message: str, *, tx_id: str, validation_code: str, block_number: int | None = None):
        super().__init__(message, status=409)
        self.tx_id = tx_id
        self.validation_code = validation_code
        self.block_number = block_number


class LedgerUnavailable(LedgerError):
    """The network (peer, orderer) could not be reached in time."""


@runtime_checkable
class LedgerPort(Protocol):
    """What the gateway needs from a ledger. Implemented by ``app.ledger.embedded.ledger.EmbeddedLedger``
    and ``app.ledger.fabric.FabricLedger``; built from settings by ``app.ledger.factory.create_ledger``.
    """

    async def evaluate(self, caller: Caller, function: str, args: list[str]) -> bytes:
        """Run a query (nothing is ordered); the chaincode's payload. ChaincodeRefused on status >= 400."""
        ...

    async def submit(
        self,
        caller: Caller,
        function: str,
        args: list[str],
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
        before_submit: BeforeSubmit | None = None,
    ) -> TxResult:
        """Endorse, order and wait for the commit; returns only VALID transactions.

        ``before_submit`` is awaited with the transaction id after endorsement, before ordering, so a
        caller can later ask :meth:`transaction_status` whether that exact transaction committed.

        ChaincodeRefused: the contract refused (nothing ordered). TransactionInvalidated: ordered but
        invalid (``validation_code`` e.g. MVCC_READ_CONFLICT — safe to retry —, or
        ENDORSEMENT_POLICY_FAILURE). ``endorsing_orgs`` None lets the ledger plan the endorsers
        (chaincode and key-level policies), as the Fabric Gateway does.
        """
        ...

    async def transaction_status(self, tx_id: str) -> TxResult | None:
        """A committed transaction (valid or not) by id; None if the ledger has no such transaction."""
        ...

    async def transaction_origin(self, tx_id: str) -> TxOrigin | None:
        """The creator MSP and block of a committed transaction; None if the ledger has no such one."""
        ...

    def chaincode_events(
        self, start_block: int | None = None, after_tx_id: str | None = None
    ) -> AsyncIterator[LedgerEvent]:
        """Events of valid transactions, in chain order, then new ones as they commit (never ends).

        From ``start_block`` (None: the next block to commit); with ``after_tx_id``, from that
        transaction's block, skipping it and everything before it (resume after the last event seen).
        """
        ...

    async def health(self) -> dict[str, str]:
        """``backend``, ``status`` ("ok" when usable), ``channel``, ``height`` and backend extras."""
        ...

    async def close(self) -> None: ...
