"""Chain verification, run every time the embedded ledger opens.

Checks, block by block: numbers are contiguous from 0; the stored block parses; its data hash is
sha256 of its envelopes; its previous hash is the previous header's hash; the header hash column is
the header's hash; the orderer's signature (OrdererMSP, issued by its CA) verifies over the header;
the TRANSACTIONS_FILTER covers every envelope; and the tx index agrees with the filter. Any
difference raises :class:`LedgerCorrupted` naming the block and what differs.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from fabric_protos.common import common_pb2

from app.ledger.embedded import protocol
from app.ledger.port import LedgerError

if TYPE_CHECKING:
    from app.ledger.embedded.committer import Committer


class LedgerCorrupted(LedgerError):
    """The stored chain does not verify: it was tampered with or damaged."""


def verify_chain(conn: sqlite3.Connection, committer: Committer) -> int:
    """Verify every block; return the height (number of blocks)."""
    previous_hash = b""
    expected = 0
    codes_by_block: dict[int, dict[int, int]] = {}
    for block_number, tx_num, code in conn.execute("SELECT block_number, tx_num, validation_code FROM txs"):
        codes_by_block.setdefault(block_number, {})[tx_num] = code
    for number, header_hash, prev_col, data_col, raw in conn.execute(
        "SELECT number, header_hash, previous_hash, data_hash, block FROM blocks ORDER BY number"
    ):
        where = f"block {number}"
        if number != expected:
            raise LedgerCorrupted(f"{where}: expected block {expected} (blocks missing)")
        try:
            block = common_pb2.Block.FromString(raw)
        except Exception as exc:  # protobuf DecodeError
            raise LedgerCorrupted(f"{where}: stored block does not parse: {exc}") from exc
        header = block.header
        if header.number != number:
            raise LedgerCorrupted(f"{where}: header says number {header.number}")
        if protocol.block_data_hash(block.data) != header.data_hash or header.data_hash != data_col:
            raise LedgerCorrupted(f"{where}: data hash does not match the block's transactions")
        if header.previous_hash != previous_hash or prev_col != previous_hash:
            raise LedgerCorrupted(f"{where}: previous hash does not match block {number - 1}")
        computed = protocol.block_header_hash(header)
        if computed != header_hash:
            raise LedgerCorrupted(f"{where}: header hash column differs from the header")
        signature = protocol.block_signature(block)
        if signature is None:
            raise LedgerCorrupted(f"{where}: no orderer signature")
        creator, message, sig = signature
        ident = committer.identity(creator)
        if ident is None or ident[0] != "OrdererMSP" or not protocol.verify(ident[2], sig, message):
            raise LedgerCorrupted(f"{where}: orderer signature does not verify")
        tx_filter = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
        if len(tx_filter) != len(block.data.data):
            raise LedgerCorrupted(
                f"{where}: transaction filter covers {len(tx_filter)} of {len(block.data.data)}"
            )
        for tx_num, code in codes_by_block.get(number, {}).items():
            if tx_num >= len(tx_filter) or tx_filter[tx_num] != code:
                raise LedgerCorrupted(f"{where}: tx index disagrees with the block for tx {tx_num}")
        previous_hash = computed
        expected += 1
    return expected
