"""Chain verification, run every time the embedded ledger opens.

Checks, block by block: numbers are contiguous from 0; the stored block parses; its data hash is
sha256 of its envelopes; its previous hash is the previous header's hash; the header hash column is
the header's hash; the orderer's signature (OrdererMSP, issued by its CA) verifies over the header;
the TRANSACTIONS_FILTER covers every envelope; and the tx index agrees with the filter. Any
difference raises :class:`LedgerCorrupted` naming the block and what differs.
"""

from __future__ import annotations

import hashlib
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


def verify_state(conn: sqlite3.Connection) -> int:
    """Replay every valid transaction of the chain and compare with the stored state; returns keys checked.

    Catches edits to the world state, the hashed private state or the private values that leave
    the blocks alone (which :func:`verify_chain` cannot see).
    """
    from fabric_protos.peer import transaction_pb2

    from app.ledger.embedded.endorsed_tx import parse_envelope
    from app.ledger.embedded.rwset import metadata_to_bytes, parse

    state: dict[tuple[str, bytes], tuple[bytes, int, int, bytes | None]] = {}
    hashed: dict[tuple[str, str, bytes], tuple[bytes, int, int, bytes | None]] = {}
    for number, raw in conn.execute("SELECT number, block FROM blocks WHERE number > 0 ORDER BY number"):
        block = common_pb2.Block.FromString(raw)
        tx_filter = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
        for tx_num, envelope in enumerate(block.data.data):
            if tx_filter[tx_num] != transaction_pb2.VALID:
                continue
            tx = parse_envelope(envelope)
            for ns in parse(tx.action.results):
                md = {m.key: {e.name: e.value for e in m.entries} for m in ns.kv.metadata_writes}
                for write in ns.kv.writes:
                    key = (ns.namespace, write.key.encode())
                    if write.is_delete:
                        state.pop(key, None)
                        continue
                    previous = state.get(key)
                    metadata = (
                        metadata_to_bytes(md[write.key])
                        if write.key in md
                        else (previous[3] if previous else None)
                    )
                    state[key] = (write.value, number, tx_num, metadata)
                written = {w.key for w in ns.kv.writes}
                for k, entries in md.items():
                    key = (ns.namespace, k.encode())
                    if k not in written and key in state:
                        value, b, t, _ = state[key]
                        state[key] = (value, b, t, metadata_to_bytes(entries))
                for coll in ns.collections:
                    hmd = {
                        m.key_hash: {e.name: e.value for e in m.entries} for m in coll.hashed.metadata_writes
                    }
                    for write in coll.hashed.hashed_writes:
                        hkey = (ns.namespace, coll.name, write.key_hash)
                        if write.is_delete:
                            hashed.pop(hkey, None)
                            continue
                        previous_h = hashed.get(hkey)
                        metadata = (
                            metadata_to_bytes(hmd[write.key_hash])
                            if write.key_hash in hmd
                            else (previous_h[3] if previous_h else None)
                        )
                        hashed[hkey] = (write.value_hash, number, tx_num, metadata)
                    hwritten = {w.key_hash for w in coll.hashed.hashed_writes}
                    for khash, entries in hmd.items():
                        hkey = (ns.namespace, coll.name, khash)
                        if khash not in hwritten and hkey in hashed:
                            vh, b, t, _ = hashed[hkey]
                            hashed[hkey] = (vh, b, t, metadata_to_bytes(entries))
    stored = {
        (ns, bytes(key)): (bytes(value), b, t, bytes(md) if md is not None else None)
        for ns, key, value, b, t, md in conn.execute(
            "SELECT ns, key, value, block_num, tx_num, metadata FROM state"
        )
    }
    if stored != state:
        differing = sorted(set(stored.items()) ^ set(state.items()))[:1]
        where = differing[0][0] if differing else ("?", b"?")
        raise LedgerCorrupted(f"world state differs from the blocks at key {where[1]!r} of {where[0]}")
    stored_hashed = {
        (ns, coll, bytes(kh)): (bytes(vh), b, t, bytes(md) if md is not None else None)
        for ns, coll, kh, vh, b, t, md in conn.execute(
            "SELECT ns, coll, key_hash, value_hash, block_num, tx_num, metadata FROM hashed_state"
        )
    }
    if stored_hashed != hashed:
        raise LedgerCorrupted("private data hashes differ from the blocks")
    for ns, coll, key, value in conn.execute("SELECT ns, coll, key, value FROM pvt_state"):
        entry = hashed.get((ns, coll, hashlib.sha256(bytes(key)).digest()))
        if entry is None or entry[0] != hashlib.sha256(bytes(value)).digest():
            raise LedgerCorrupted(
                f"private value of {bytes(key)!r} in {coll} does not match its hash on chain"
            )
    return len(state) + len(hashed)
