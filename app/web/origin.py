"""Which org submitted a transaction: the creator MSP read from the committed envelope.

The ledger port does not report the creator, so the timeline and audit pages read it from the
block (embedded ledger: ``block(n)``) or from qscc ``GetTransactionByID`` (Fabric adapter). When
neither is available the org is shown as unknown rather than guessed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import transaction_pb2

log = logging.getLogger(__name__)


def envelope_creator(envelope_bytes: bytes) -> tuple[str, str] | None:
    """(tx id, creator MSP id) of one transaction envelope."""
    try:
        envelope = common_pb2.Envelope.FromString(envelope_bytes)
        payload = common_pb2.Payload.FromString(envelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        signature = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
        creator = identities_pb2.SerializedIdentity.FromString(signature.creator)
    except Exception:
        return None
    return header.tx_id, creator.mspid


def block_creators(block: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for data in block.data.data:
        pair = envelope_creator(data)
        if pair is not None and pair[0]:
            found[pair[0]] = pair[1]
    return found


class OriginResolver:
    """Caches creator MSPs per tx id for one page render."""

    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self._by_tx: dict[str, str | None] = {}
        self._blocks_read: set[int] = set()

    async def creator(self, tx_id: str, block_number: int | None) -> str | None:
        if tx_id in self._by_tx:
            return self._by_tx[tx_id]
        msp: str | None = None
        read_block = getattr(self.ledger, "block", None)
        qscc = getattr(self.ledger, "_qscc", None)
        try:
            if callable(read_block) and block_number is not None:
                if block_number not in self._blocks_read:
                    block = await asyncio.to_thread(read_block, block_number)
                    self._blocks_read.add(block_number)
                    if block is not None:
                        self._by_tx.update(block_creators(block))
                msp = self._by_tx.get(tx_id)
            elif callable(qscc):
                raw = await qscc("GetTransactionByID", tx_id)
                processed = transaction_pb2.ProcessedTransaction.FromString(raw)
                pair = envelope_creator(processed.transactionEnvelope.SerializeToString())
                msp = pair[1] if pair else None
        except Exception as exc:
            log.debug("creator of %s not read: %s", tx_id, exc)
        self._by_tx[tx_id] = msp
        return msp
