"""The content-store port: what the application needs from IPFS, whichever node serves it.

Two adapters: :mod:`ipfs.kubo` (a real kubo daemon over its RPC API) and :mod:`ipfs.embedded`
(a local blockstore that yields the CIDs kubo would). Both take the same input and give the same
CIDs, so a document anchored on chain by one can be fetched and checked by the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

AddSource = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


@dataclass(frozen=True, slots=True)
class AddResult:
    """The root CID (string form), the file's byte length and kubo's cumulative DAG ``Size``."""

    cid: str
    size: int
    dag_size: int


@dataclass(frozen=True, slots=True)
class Stat:
    """What ``files/stat`` reports for a file: content bytes, DAG bytes, links of the root, type."""

    cid: str
    size: int
    cumulative_size: int
    blocks: int
    type: str  # "file" (raw leaves report "file" too)


class ContentStoreError(Exception):
    """Base class of every content-store failure."""


class InvalidRequest(ContentStoreError, ValueError):
    """Bad input (a malformed CID, an unsupported CID version); the message names the field."""


class StoreUnavailable(ContentStoreError):
    """The backing node cannot be reached (the message names its URL or directory)."""


class ContentNotFound(ContentStoreError):
    """No block for that CID in this store."""


class CorruptBlock(ContentStoreError):
    """A stored block does not hash to its CID (disk corruption or tampering)."""


@runtime_checkable
class ContentStore(Protocol):
    def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> AddResult: ...

    def cat(self, cid: str) -> bytes: ...

    def pin(self, cid: str) -> None: ...

    def has(self, cid: str) -> bool: ...

    def stat(self, cid: str) -> Stat: ...


@runtime_checkable
class AsyncContentStore(Protocol):
    async def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> AddResult: ...

    async def cat(self, cid: str) -> bytes: ...

    async def pin(self, cid: str) -> None: ...

    async def has(self, cid: str) -> bool: ...

    async def stat(self, cid: str) -> Stat: ...
