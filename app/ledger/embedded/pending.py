"""The block being built: the writes of its valid transactions so far, and range reads over them.

A peer validates each transaction against committed state overlaid with the earlier valid writes of the
same block (its update batch); this module holds that overlay so MVCC and phantom checks see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.ledger.embedded.store import StateView, VersionedValue


class Missing:
    """Marks a key deleted within the block being built."""


DELETED = Missing()


@dataclass(slots=True)
class PendingWrites:
    """Writes of the valid transactions so far in this block (the update batch)."""

    state: dict[tuple[str, str], tuple[bytes | Missing, tuple[int, int], bytes | None]] = field(
        default_factory=dict
    )
    hashed: dict[tuple[str, str, bytes], tuple[bytes | Missing, tuple[int, int], bytes | None]] = field(
        default_factory=dict
    )
    private: dict[tuple[str, str, str], tuple[bytes | Missing, tuple[int, int]]] = field(default_factory=dict)
    history: list[tuple[str, str, int, int, str, int, bytes, bool]] = field(default_factory=list)
    events: list[tuple[int, int, str, str, str, bytes]] = field(default_factory=list)
    pvt_rwsets: list[tuple[int, int, bytes]] = field(default_factory=list)


def merged_range(
    view: StateView, batch: PendingWrites, ns: str, start: str, end: str, inclusive: bool
) -> Iterator[tuple[str, tuple[int, int] | None]]:
    """Committed keys in the range overlaid with this block's updates, in key order."""
    scan_end = "" if (inclusive or not end) else end
    pending = sorted(
        (key, entry)
        for (n, key), entry in batch.state.items()
        if n == ns and key.encode() >= start.encode() and below(key, end, inclusive)
    )
    committed = view.scan_state(ns, start, scan_end)
    pi = 0
    for key, value in committed:
        if not below(key, end, inclusive):
            break
        while pi < len(pending) and pending[pi][0].encode() < key.encode():
            p_key, (p_val, p_ver, _) = pending[pi]
            pi += 1
            if not isinstance(p_val, Missing):
                yield p_key, p_ver
        if pi < len(pending) and pending[pi][0] == key:
            p_key, (p_val, p_ver, _) = pending[pi]
            pi += 1
            if not isinstance(p_val, Missing):
                yield p_key, p_ver
            continue
        yield key, value.version
    while pi < len(pending):
        p_key, (p_val, p_ver, _) = pending[pi]
        pi += 1
        if not isinstance(p_val, Missing):
            yield p_key, p_ver


def below(key: str, end: str, inclusive: bool) -> bool:
    if not end:
        return True
    return key.encode() <= end.encode() if inclusive else key.encode() < end.encode()


def version_of(value: VersionedValue | None) -> tuple[int, int] | None:
    return value.version if value is not None else None


def read_version(read: Any) -> tuple[int, int] | None:
    return (read.version.block_num, read.version.tx_num) if read.HasField("version") else None
