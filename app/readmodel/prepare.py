"""Turn a block's valid writes into row operations — the CPU-heavy, stateless half of projecting.

Parsing envelopes and JSON and running the projections needs no database, so it can run in another
process while the store applies the previous batch (``Projector(workers=1)``); what it returns is
plain, picklable data. The store's half (old rows, counters, SQL) stays in order in one process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from fabric_protos.common import common_pb2

from .blocks import BlockSummary, read_block
from .projections import RECORD_TYPES, Row, Unprojectable, key_values

logger = logging.getLogger(__name__)


class Op:
    """One write of a projected record: upsert ``row`` (or delete when None) at (block, tx, seq)."""

    __slots__ = (
        "at",
        "block",
        "creator",
        "function",
        "key_vals",
        "keys",
        "row",
        "seq",
        "table",
        "tx_id",
        "tx_index",
        "value",
    )

    def __init__(
        self,
        block: int,
        tx_index: int,
        seq: int,
        tx_id: str,
        at: str,
        creator: str,
        function: str,
        table: str,
        keys: tuple[str, ...],
        key_vals: tuple[str, ...],
        row: Row | None,
        value: str | None,
    ) -> None:
        self.block, self.tx_index, self.seq, self.tx_id = block, tx_index, seq, tx_id
        self.at, self.creator, self.function = at, creator, function
        self.table, self.keys, self.key_vals, self.row, self.value = table, keys, key_vals, row, value

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


@dataclass(slots=True)
class Prepared:
    number: int
    transactions: int = 0
    skipped_invalid: int = 0
    skipped_other: int = 0
    ops: list[Op] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    quarantined: list[tuple[Any, ...]] = field(default_factory=list)


def _event_row(block: int, index: int, tx_id: str, name: str, payload: bytes, at: str) -> tuple[Any, ...]:
    text = payload.decode("utf-8", "replace")
    vin = lien_id = None
    if text.startswith("{"):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            vin, lien_id = decoded.get("vin"), decoded.get("lien_id")
    return (
        block,
        index,
        tx_id,
        name,
        vin if isinstance(vin, str) else None,
        lien_id if isinstance(lien_id, str) else None,
        at,
        text,
    )


def prepare(summary: BlockSummary) -> Prepared:
    out = Prepared(summary.number, len(summary.transactions), summary.skipped_invalid, summary.skipped_other)
    block = summary.number
    for tx in summary.transactions:
        for seq, write in enumerate(tx.writes):
            key = write.key
            if not key.startswith("\x00"):
                continue
            end = key.find("\x00", 1)
            record_type = RECORD_TYPES.get(key[1:end])
            if record_type is None or not key.endswith("\x00"):
                continue  # index entries, unique keys, records no query needs
            attrs = key[end + 1 : -1].split("\x00") if end + 1 < len(key) - 1 else []
            value = write.value
            row: Row | None = None
            text: str | None = None
            if value is not None:
                text = value.decode("utf-8", "replace")
                try:
                    row = record_type.project(json.loads(text), attrs)
                except (Unprojectable, ValueError) as exc:
                    logger.warning(
                        "read model: %s %s in block %d not projected: %s",
                        record_type.object_type,
                        attrs,
                        block,
                        exc,
                    )
                    out.quarantined.append(
                        (
                            block,
                            tx.index,
                            "/".join([record_type.object_type, *attrs]),
                            tx.tx_id,
                            str(exc),
                            text,
                        )
                    )
                    continue
                key_vals = tuple(str(row[k]) for k in record_type.key_columns)
            else:
                key_vals = key_values(record_type, attrs)
            out.ops.append(
                Op(
                    block,
                    tx.index,
                    seq,
                    tx.tx_id,
                    tx.timestamp,
                    tx.creator_msp,
                    tx.function,
                    record_type.table,
                    record_type.key_columns,
                    key_vals,
                    row,
                    text,
                )
            )
        if tx.event_name:
            out.events.append(
                _event_row(block, tx.index, tx.tx_id, tx.event_name, tx.event_payload, tx.timestamp)
            )
    return out


def prepare_raw(raw: bytes, chaincode: str) -> Prepared:
    """A serialized ``common.Block`` → its row operations (the worker process's entry point)."""
    return prepare(read_block(common_pb2.Block.FromString(raw), chaincode))


def prepare_many(raws: list[bytes], chaincode: str) -> list[Prepared]:
    return [prepare_raw(raw, chaincode) for raw in raws]
