"""Transaction origin: which org created each transaction a page lists, and in which block.

The ledger port answers it (the creator MSP from the committed envelope, on either backend); this
resolver asks once per transaction for one page render. A ledger that cannot answer leaves the org
unknown rather than guessed.
"""

from __future__ import annotations

import logging

from app.ledger.port import LedgerError, LedgerPort, TxOrigin

log = logging.getLogger(__name__)


class OriginResolver:
    """Caches each transaction's origin for one page render."""

    def __init__(self, ledger: LedgerPort) -> None:
        self.ledger = ledger
        self._by_tx: dict[str, TxOrigin | None] = {}

    async def origin(self, tx_id: str) -> TxOrigin | None:
        if tx_id not in self._by_tx:
            try:
                self._by_tx[tx_id] = await self.ledger.transaction_origin(tx_id)
            except LedgerError as exc:
                log.debug("origin of %s not read: %s", tx_id, exc.message)
                self._by_tx[tx_id] = None
        return self._by_tx[tx_id]

    async def creator(self, tx_id: str) -> str | None:
        """The creator's MSP id, or None when the ledger does not know the transaction."""
        found = await self.origin(tx_id)
        return found.creator_msp_id if found is not None else None
