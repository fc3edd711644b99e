"""The in-process host: run a chaincode's contracts against a ledger snapshot, no peer involved.

Used by the embedded ledger (app/ledger/embedded). It plays the peer's transaction simulator: the
contract gets the same stub interface, the same ``ClientIdentity``, the same ``PeerError`` on a refused
request and the same composite-key encoding as on a real peer; the host records what the peer's
simulator would record, and the ledger validates and commits it.

Interface
---------
The ledger implements :class:`StateSnapshot` (committed state as of simulation start, read-only) and
calls::

    host = InProcessHost([MortgageContract], name="mortgage")
    result = host.execute(snapshot, TxContext(tx_id, channel_id, timestamp, creator, args,
                                              transient, signed_proposal))

``result`` is a :class:`SimulationResult`: ``response`` (status < 400 success), ``event``, and one
:class:`NamespaceRWSet` per chaincode namespace touched (``rwsets``; the invoked one is ``result.rwset``)
holding: ``reads`` (key → version read, None when absent), ``range_reads`` (start, end, exhausted, keys
and versions — for phantom checks), ``writes`` (key → value, None = delete), ``metadata_writes``
(key → {metakey: value}, e.g. VALIDATION_PARAMETER), ``private_reads`` / ``private_writes`` /
``private_metadata_writes`` per collection, ``purges``, and ``private_write_hashes()`` (sha256 of key
and value, what goes in the public rwset).

Fabric semantics kept on purpose:
- reads see committed state only, never the transaction's own writes;
- writing an empty value is a delete (Fabric's ``KVWrite.is_delete = len(value) == 0``);
- paginated queries and private-data range/rich queries are refused in a transaction that writes
  (and writes after them), with the peer's words;
- a key-metadata write replaces the key's whole metadata map (what the peer's handler does);
- history is newest first (Fabric 2.x); rich queries are refused unless the snapshot supports them
  (LevelDB peers refuse them: "ExecuteQuery not supported for leveldb");
- an error response (status >= 400) discards every read and write: the result's rwsets are empty.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from .contract import Contract
from .dispatch import ContractRouter
from .errors import PeerError
from .interfaces import (
    ChaincodeEvent,
    ChaincodeResponse,
    KeyModification,
    KeyValue,
    QueryResponseMetadata,
    StateIterator,
)
from .proposal import TxFacts, facts_from_signed_proposal
from .stubbase import BaseStub, ListIterator, Page

logger = logging.getLogger(__name__)

Version = tuple[int, int]  # (block number, transaction number), as Fabric's version.Height
CollectionAccess = Literal["read", "write", "hash"]


class SnapshotError(Exception):
    """A snapshot refuses a read (unknown collection, no read access...): surfaces as PeerError."""


@dataclass(frozen=True, slots=True)
class VersionedValue:
    """A committed value with the version that wrote it and the key's metadata."""

    value: bytes
    version: Version
    metadata: Mapping[str, bytes] = field(default_factory=dict)


@runtime_checkable
class StateSnapshot(Protocol):
    """Committed ledger state a simulation reads. Implemented by the ledger; read-only.

    Ranges are ``[start_key, end_key)`` in ascending key order by UTF-8 bytes (Go string order);
    an empty ``end_key`` means no upper bound. Private data methods raise :class:`SnapshotError`
    for an unknown collection or when the transaction's creator may not read it.
    """

    def get_state(self, namespace: str, key: str) -> VersionedValue | None: ...

    def scan_state(
        self, namespace: str, start_key: str, end_key: str
    ) -> Iterable[tuple[str, VersionedValue]]: ...

    def get_history(self, namespace: str, key: str) -> Iterable[KeyModification]:
        """Every committed modification of the key, newest first."""
        ...

    def check_collection(self, namespace: str, collection: str, access: CollectionAccess) -> None:
        """Raise SnapshotError if the collection is unknown or the creator lacks this access."""
        ...

    def get_private_data(self, namespace: str, collection: str, key: str) -> VersionedValue | None: ...

    def get_private_data_hash(self, namespace: str, collection: str, key: str) -> VersionedValue | None:
        """The committed value's sha256 (readable by non-members), with its version and metadata."""
        ...

    def scan_private_data(
        self, namespace: str, collection: str, start_key: str, end_key: str
    ) -> Iterable[tuple[str, VersionedValue]]: ...

    def execute_query(
        self, namespace: str, collection: str, query: str
    ) -> Iterable[tuple[str, VersionedValue]]:
        """A CouchDB rich query; a LevelDB-like ledger raises SnapshotError."""
        ...


@dataclass(frozen=True, slots=True)
class TxContext:
    """The transaction as the endorsing peer would see it in the proposal."""

    tx_id: str
    channel_id: str
    timestamp: datetime
    creator: bytes
    args: Sequence[bytes]
    transient: Mapping[str, bytes] = field(default_factory=dict)
    signed_proposal: bytes | None = None
    binding: bytes = b""

    def facts(self) -> TxFacts:
        binding = self.binding
        if not binding and self.signed_proposal:
            binding = facts_from_signed_proposal(
                self.tx_id, self.channel_id, list(self.args), self.signed_proposal
            ).binding
        return TxFacts(
            tx_id=self.tx_id,
            channel_id=self.channel_id,
            args=[bytes(a) for a in self.args],
            creator=self.creator,
            timestamp=self.timestamp,
            transient=dict(self.transient),
            binding=binding,
            signed_proposal=self.signed_proposal,
        )


@dataclass(frozen=True, slots=True)
class RangeQueryRead:
    """A range scan as Fabric records it: the keys fetched, and whether the scan reached its end.

    ``end_key`` is the query's end key (exclusive) when ``itr_exhausted``, else the last key fetched
    (inclusive): a validator re-runs [start_key, end_key) or [start_key, end_key] and compares keys
    and versions.
    """

    start_key: str
    end_key: str
    itr_exhausted: bool
    reads: tuple[tuple[str, Version], ...]


@dataclass(slots=True)
class NamespaceRWSet:
    """What one chaincode namespace read and wrote in a simulation."""

    reads: dict[str, Version | None] = field(default_factory=dict)
    range_reads: list[RangeQueryRead] = field(default_factory=list)
    writes: dict[str, bytes | None] = field(default_factory=dict)
    metadata_writes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    private_reads: dict[str, dict[str, Version | None]] = field(default_factory=dict)
    private_writes: dict[str, dict[str, bytes | None]] = field(default_factory=dict)
    private_metadata_writes: dict[str, dict[str, dict[str, bytes]]] = field(default_factory=dict)
    purges: dict[str, list[str]] = field(default_factory=dict)

    @property
    def deletes(self) -> list[str]:
        return [k for k, v in self.writes.items() if v is None]

    @property
    def puts(self) -> dict[str, bytes]:
        return {k: v for k, v in self.writes.items() if v is not None}

    def private_write_hashes(self) -> dict[str, dict[bytes, bytes | None]]:
        """collection → sha256(key) → sha256(value) (None = delete): the public trace of private writes."""
        return {
            coll: {
                hashlib.sha256(k.encode("utf-8")).digest(): (
                    None if v is None else hashlib.sha256(v).digest()
                )
                for k, v in writes.items()
            }
            for coll, writes in self.private_writes.items()
        }

    def is_read_only(self) -> bool:
        return not (
            self.writes
            or self.metadata_writes
            or self.private_writes
            or self.private_metadata_writes
            or self.purges
        )


@dataclass(slots=True)
class SimulationResult:
    """The response, the event and the read/write sets of every namespace the simulation touched."""

    namespace: str
    response: ChaincodeResponse
    event: ChaincodeEvent | None = None
    rwsets: dict[str, NamespaceRWSet] = field(default_factory=dict)
    tx_id: str = ""

    @property
    def ok(self) -> bool:
        return self.response.status < 400

    @property
    def rwset(self) -> NamespaceRWSet:
        """The invoked chaincode's own read/write set (empty when it failed)."""
        return self.rwsets.get(self.namespace) or NamespaceRWSet()

    # Shortcuts for the invoked namespace.
    @property
    def reads(self) -> dict[str, Version | None]:
        return self.rwset.reads

    @property
    def range_reads(self) -> list[RangeQueryRead]:
        return self.rwset.range_reads

    @property
    def writes(self) -> dict[str, bytes | None]:
        return self.rwset.writes

    @property
    def deletes(self) -> list[str]:
        return self.rwset.deletes

    @property
    def metadata_writes(self) -> dict[str, dict[str, bytes]]:
        return self.rwset.metadata_writes

    @property
    def private_writes(self) -> dict[str, dict[str, bytes | None]]:
        return self.rwset.private_writes

    def is_read_only(self) -> bool:
        return all(rw.is_read_only() for rw in self.rwsets.values())


PEER_BATCH = 100  # the peer's QueryResponseGenerator.MaxResultLimit


class _RangeCursor(StateIterator[KeyValue]):
    """A range scan run the way the peer runs it, so the same keys end up in the read set.

    The peer fetches results in batches of 100 (plus one looked-ahead key), or one page when
    paginated, and records each key as it fetches it: the range read ends at the last fetched key,
    or at the query's end key once the scan ran out (``itr_exhausted``).
    """

    def __init__(
        self,
        namespace: str,
        rows: Iterator[tuple[str, VersionedValue]],
        start_key: str,
        end_key: str,
        limit: int | None,
        batch_size: int = PEER_BATCH,
    ) -> None:
        self._batch_size = batch_size
        self._ns = namespace
        self._rows = rows
        self._start = start_key
        self._query_end = end_key
        self._limit = limit
        self._reads: list[tuple[str, Version]] = []
        self._last_key = start_key
        self._exhausted = False
        self._pending: list[KeyValue] = []
        self.total = 0
        self._closed = False
        self._batch = self._build()  # the first response comes with the request, as on the peer

    def _next_row(self) -> KeyValue | None:
        try:
            key, vv = next(self._rows)
        except StopIteration:
            self._exhausted = True
            return None
        except SnapshotError as exc:
            raise PeerError("QUERY_STATE_NEXT", str(exc)) from exc
        self._reads.append((key, vv.version))
        self._last_key = key
        return KeyValue(self._ns, key, vv.value)

    def _cut(self) -> list[KeyValue]:
        batch, self._pending = self._pending, []
        return batch

    def first_batch(self) -> tuple[list[KeyValue], bool]:
        """The results that came with the request, and whether more follow."""
        return self._batch

    def next_batch(self) -> tuple[list[KeyValue], bool]:
        """What the peer answers to QUERY_STATE_NEXT."""
        return self._build()

    def _build(self) -> tuple[list[KeyValue], bool]:
        while True:
            if self._limit is not None and self.total >= self._limit:
                return self._cut(), False
            kv = self._next_row()
            if kv is None:
                return self._cut(), False
            if self._limit is None and len(self._pending) == self._batch_size:
                batch = self._cut()
                self._pending.append(kv)
                self.total += 1
                return batch, True
            self._pending.append(kv)
            self.total += 1

    def bookmark(self) -> str:
        """The key after the page (peeked, not recorded, like GetBookmarkAndClose); "" at the end."""
        if self._exhausted:
            return ""
        try:
            key, _ = next(self._rows)
        except StopIteration:
            return ""
        return key

    def __iter__(self) -> Iterator[KeyValue]:
        batch, more = self._batch
        while not self._closed:
            yield from batch
            if not more or self._closed:
                break
            batch, more = self._build()
        self.close()

    def close(self) -> None:
        self._closed = True

    def range_read(self) -> RangeQueryRead:
        end = self._query_end if self._exhausted else self._last_key
        return RangeQueryRead(self._start, end, self._exhausted, tuple(self._reads))


class _Simulation:
    """Shared by the stubs of one transaction (the invoked chaincode and any it calls)."""

    def __init__(self, snapshot: StateSnapshot) -> None:
        self.snapshot = snapshot
        self.rwsets: dict[str, NamespaceRWSet] = {}
        self.range_cursors: list[tuple[str, _RangeCursor]] = []
        self.write_performed = False
        self.paginated_query_performed = False
        self.pvt_query_performed = False

    def rwset(self, namespace: str) -> NamespaceRWSet:
        return self.rwsets.setdefault(namespace, NamespaceRWSet())

    def finish(self) -> dict[str, NamespaceRWSet]:
        """Add every public range scan's read info (as Fabric does when the simulation ends)."""
        for ns, cursor in self.range_cursors:
            self.rwset(ns).range_reads.append(cursor.range_read())
        self.range_cursors.clear()
        return self.rwsets


class InProcessStub(BaseStub):
    """The stub a contract sees in the in-process host; mirrors the peer's transaction simulator."""

    range_batch_size = PEER_BATCH

    def __init__(self, facts: TxFacts, namespace: str, sim: _Simulation, host: InProcessHost) -> None:
        super().__init__(facts)
        self._ns = namespace
        self._sim = sim
        self._host = host

    # --- helpers ------------------------------------------------------------------------
    def _snap(self, request: str, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(*args)
        except SnapshotError as exc:
            raise PeerError(request, str(exc)) from exc

    def _before_write(self, request: str) -> None:
        if self._sim.paginated_query_performed:
            raise PeerError(
                request,
                f"txid [{self._facts.tx_id}]: unsuppored transaction. Transaction has already performed "
                "a paginated query. Writes are not allowed",
            )
        if self._sim.pvt_query_performed:
            raise PeerError(
                request,
                f"txid [{self._facts.tx_id}]: unsuppored transaction. Transaction has already performed "
                "queries on pvt data. Writes are not allowed",
            )
        self._sim.write_performed = True

    def _rw(self) -> NamespaceRWSet:
        return self._sim.rwset(self._ns)

    # --- primitives ---------------------------------------------------------------------
    def _get_state(self, collection: str, key: str) -> bytes | None:
        snap = self._sim.snapshot
        if collection:
            self._snap("GET_STATE", snap.check_collection, self._ns, collection, "read")
            vv = self._snap("GET_STATE", snap.get_private_data, self._ns, collection, key)
            self._rw().private_reads.setdefault(collection, {})[key] = vv.version if vv else None
        else:
            vv = self._snap("GET_STATE", snap.get_state, self._ns, key)
            self._rw().reads[key] = vv.version if vv else None
        return vv.value if vv and vv.value else None

    def _get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        snap = self._sim.snapshot
        self._snap("GET_PRIVATE_DATA_HASH", snap.check_collection, self._ns, collection, "hash")
        vv = self._snap("GET_PRIVATE_DATA_HASH", snap.get_private_data_hash, self._ns, collection, key)
        self._rw().private_reads.setdefault(collection, {})[key] = vv.version if vv else None
        return vv.value if vv and vv.value else None

    def _put_state(self, collection: str, key: str, value: bytes) -> None:
        self._write("PUT_STATE", collection, key, value or None)

    def _del_state(self, collection: str, key: str) -> None:
        self._write("DEL_STATE", collection, key, None)

    def _write(self, request: str, collection: str, key: str, value: bytes | None) -> None:
        self._before_write(request)
        if collection:
            self._snap(request, self._sim.snapshot.check_collection, self._ns, collection, "write")
            self._rw().private_writes.setdefault(collection, {})[key] = value
        else:
            self._rw().writes[key] = value

    def _purge_private_data(self, collection: str, key: str) -> None:
        self._before_write("PURGE_PRIVATE_DATA")
        self._snap("PURGE_PRIVATE_DATA", self._sim.snapshot.check_collection, self._ns, collection, "write")
        purges = self._rw().purges.setdefault(collection, [])
        if key not in purges:
            purges.append(key)
        self._rw().private_writes.setdefault(collection, {})[key] = None

    def _get_state_by_range(
        self, collection: str, start_key: str, end_key: str, page: Page | None
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata | None]:
        request = "GET_STATE_BY_RANGE"
        snap = self._sim.snapshot
        if collection:
            self._before_pvt_query(request)
            self._snap(request, snap.check_collection, self._ns, collection, "read")
            page = None  # the peer ignores pagination on private data
        elif page is not None:
            self._before_paginated(request)
            if page[1]:
                start_key = page[1]  # the peer starts a page at the bookmark
        scan = snap.scan_private_data if collection else snap.scan_state
        rows = self._snap(
            request, scan, *((self._ns, collection) if collection else (self._ns,)), start_key, end_key
        )
        cursor = _RangeCursor(
            self._ns, iter(rows), start_key, end_key, page[0] if page else None, self.range_batch_size
        )
        if not collection:
            self._sim.range_cursors.append((self._ns, cursor))
        if page is None:
            return cursor, None
        return cursor, QueryResponseMetadata(cursor.total, cursor.bookmark())

    def _get_query_result(
        self, collection: str, query: str, page: Page | None
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata | None]:
        request = "GET_QUERY_RESULT"
        if page is not None:
            self._before_paginated(request)
        if collection:
            self._before_pvt_query(request)
            self._snap(request, self._sim.snapshot.check_collection, self._ns, collection, "read")
        rows = list(self._snap(request, self._sim.snapshot.execute_query, self._ns, collection, query))
        if page is not None:
            rows = rows[: page[0]]
        results = [KeyValue(self._ns, k, vv.value) for k, vv in rows]
        meta = QueryResponseMetadata(len(results), "") if page is not None else None
        return ListIterator(results), meta

    def _before_paginated(self, request: str) -> None:
        if self._sim.write_performed:
            raise PeerError(
                request,
                f"txid [{self._facts.tx_id}]: unsuppored transaction. Paginated queries are supported only "
                "in a read-only transaction",
            )
        self._sim.paginated_query_performed = True

    def _before_pvt_query(self, request: str) -> None:
        if self._sim.write_performed:
            raise PeerError(
                request,
                f"txid [{self._facts.tx_id}]: unsuppored transaction. Queries on pvt data is supported only "
                "in a read-only transaction",
            )
        self._sim.pvt_query_performed = True

    def _get_history_for_key(self, key: str) -> StateIterator[KeyModification]:
        rows = list(self._snap("GET_HISTORY_FOR_KEY", self._sim.snapshot.get_history, self._ns, key))
        return ListIterator(rows)

    def _get_state_metadata(self, collection: str, key: str) -> dict[str, bytes]:
        request = "GET_STATE_METADATA"
        snap = self._sim.snapshot
        if collection:
            self._snap(request, snap.check_collection, self._ns, collection, "read")
            vv = self._snap(request, snap.get_private_data_hash, self._ns, collection, key)
            self._rw().private_reads.setdefault(collection, {})[key] = vv.version if vv else None
        else:
            vv = self._snap(request, snap.get_state, self._ns, key)
            self._rw().reads[key] = vv.version if vv else None
        return dict(vv.metadata) if vv else {}

    def _put_state_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None:
        request = "PUT_STATE_METADATA"
        self._before_write(request)
        if collection:
            self._snap(request, self._sim.snapshot.check_collection, self._ns, collection, "write")
            self._rw().private_metadata_writes.setdefault(collection, {})[key] = {metakey: value}
        else:
            self._rw().metadata_writes[key] = {metakey: value}

    def _invoke_chaincode(self, name: str, args: list[bytes]) -> ChaincodeResponse:
        cc_name, _, channel = name.partition("/")
        if channel and channel != self._facts.channel_id:
            raise PeerError(
                "INVOKE_CHAINCODE", f"channel '{channel}' is not available to the in-process host"
            )
        target = self._host.resolve_chaincode(cc_name)
        if target is None:
            raise PeerError("INVOKE_CHAINCODE", f"chaincode {cc_name} not found")
        facts = TxFacts(
            tx_id=self._facts.tx_id,
            channel_id=self._facts.channel_id,
            args=args,
            creator=self._facts.creator,
            timestamp=self._facts.timestamp,
            transient=dict(self._facts.transient),
            binding=self._facts.binding,
            signed_proposal=self._facts.signed_proposal,
        )
        stub = InProcessStub(facts, target.name, self._sim, target)
        return target.router.invoke(stub)


class InProcessHost:
    """Runs one chaincode's contracts against snapshots; other chaincodes may be registered for calls."""

    def __init__(
        self,
        contracts: Iterable[Contract | type[Contract]] | ContractRouter,
        *,
        name: str = "mortgage",
        chaincodes: Mapping[str, InProcessHost] | None = None,
    ) -> None:
        self.router = contracts if isinstance(contracts, ContractRouter) else ContractRouter(contracts)
        self.name = name
        self._chaincodes: dict[str, InProcessHost] = dict(chaincodes or {})

    def add_chaincode(self, host: InProcessHost) -> None:
        """Make another chaincode callable through ``invoke_chaincode`` (same channel)."""
        self._chaincodes[host.name] = host
        host._chaincodes.setdefault(self.name, self)

    def resolve_chaincode(self, name: str) -> InProcessHost | None:
        if name == self.name:
            return self
        return self._chaincodes.get(name)

    def execute(self, snapshot: StateSnapshot, tx: TxContext) -> SimulationResult:
        """Simulate one transaction; an error response comes back with empty read/write sets."""
        sim = _Simulation(snapshot)
        stub = InProcessStub(tx.facts(), self.name, sim, self)
        response = self.router.invoke(stub)
        if response.status >= 400:
            return SimulationResult(self.name, response, tx_id=tx.tx_id)
        return SimulationResult(self.name, response, stub.event, sim.finish(), tx.tx_id)
