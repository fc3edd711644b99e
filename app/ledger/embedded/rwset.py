"""A transaction's read-write set, and its Fabric encoding (``TxReadWriteSet`` / ``TxPvtReadWriteSet``).

:class:`RWSet` is what simulation yields for one chaincode namespace; :func:`to_protos` encodes it
the way a Fabric peer does (keys sorted, private writes only as hashes in the public set, the clear
private set apart with its hash recorded in the public one). :func:`parse` reads it back for the
committer, so validation works on exactly what the block holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from app.ledger.embedded.store import Version

VALIDATION_PARAMETER = "VALIDATION_PARAMETER"


@dataclass(slots=True)
class RangeRead:
    """One range query as executed: the bounds, whether it ran to the end, and what it returned."""

    start_key: str
    end_key: str
    exhausted: bool
    reads: list[tuple[str, Version | None]] = field(default_factory=list)


@dataclass(slots=True)
class CollectionRWSet:
    hashed_reads: dict[bytes, Version | None] = field(default_factory=dict)
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None = delete
    metadata_writes: dict[str, dict[str, bytes]] = field(default_factory=dict)


@dataclass(slots=True)
class RWSet:
    namespace: str
    reads: dict[str, Version | None] = field(default_factory=dict)
    range_queries: list[RangeRead] = field(default_factory=list)
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None = delete
    metadata_writes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    collections: dict[str, CollectionRWSet] = field(default_factory=dict)

    def collection(self, name: str) -> CollectionRWSet:
        return self.collections.setdefault(name, CollectionRWSet())

    def written_keys(self) -> list[str]:
        return sorted(set(self.writes) | set(self.metadata_writes))


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _version(version: Version | None) -> kv_rwset_pb2.Version | None:
    return kv_rwset_pb2.Version(block_num=version[0], tx_num=version[1]) if version is not None else None


def _metadata(entries: dict[str, bytes]) -> list[kv_rwset_pb2.KVMetadataEntry]:
    return [kv_rwset_pb2.KVMetadataEntry(name=n, value=v) for n, v in sorted(entries.items())]


def to_protos(rwsets: list[RWSet]) -> tuple[bytes, bytes | None]:
    """(TxReadWriteSet bytes, TxPvtReadWriteSet bytes or None when nothing private was written)."""
    ns_sets: list[rwset_pb2.NsReadWriteSet] = []
    ns_pvt: list[rwset_pb2.NsPvtReadWriteSet] = []
    for rw in sorted(rwsets, key=lambda r: r.namespace):
        public_ns, private_ns = _namespace_protos(rw)
        ns_sets.append(public_ns)
        if private_ns is not None:
            ns_pvt.append(private_ns)
    public = rwset_pb2.TxReadWriteSet(
        data_model=rwset_pb2.TxReadWriteSet.KV, ns_rwset=ns_sets
    ).SerializeToString()
    private = None
    if ns_pvt:
        private = rwset_pb2.TxPvtReadWriteSet(
            data_model=rwset_pb2.TxReadWriteSet.KV, ns_pvt_rwset=ns_pvt
        ).SerializeToString()
    return public, private


def _namespace_protos(rw: RWSet) -> tuple[rwset_pb2.NsReadWriteSet, rwset_pb2.NsPvtReadWriteSet | None]:
    kv = kv_rwset_pb2.KVRWSet(
        reads=[kv_rwset_pb2.KVRead(key=k, version=_version(v)) for k, v in sorted(rw.reads.items())],
        range_queries_info=[
            kv_rwset_pb2.RangeQueryInfo(
                start_key=rq.start_key,
                end_key=rq.end_key,
                itr_exhausted=rq.exhausted,
                raw_reads=kv_rwset_pb2.QueryReads(
                    kv_reads=[kv_rwset_pb2.KVRead(key=k, version=_version(v)) for k, v in rq.reads]
                ),
            )
            for rq in rw.range_queries
        ],
        writes=[
            kv_rwset_pb2.KVWrite(key=k, is_delete=v is None, value=v or b"")
            for k, v in sorted(rw.writes.items())
        ],
        metadata_writes=[
            kv_rwset_pb2.KVMetadataWrite(key=k, entries=_metadata(e))
            for k, e in sorted(rw.metadata_writes.items())
        ],
    )
    hashed_sets: list[rwset_pb2.CollectionHashedReadWriteSet] = []
    pvt_sets: list[rwset_pb2.CollectionPvtReadWriteSet] = []
    for name in sorted(rw.collections):
        coll = rw.collections[name]
        pvt_bytes = b""
        if coll.writes:
            pvt_kv = kv_rwset_pb2.KVRWSet(
                writes=[
                    kv_rwset_pb2.KVWrite(key=k, is_delete=v is None, value=v or b"")
                    for k, v in sorted(coll.writes.items())
                ]
            )
            pvt_bytes = pvt_kv.SerializeToString()
            pvt_sets.append(rwset_pb2.CollectionPvtReadWriteSet(collection_name=name, rwset=pvt_bytes))
        hashed = kv_rwset_pb2.HashedRWSet(
            hashed_reads=[
                kv_rwset_pb2.KVReadHash(key_hash=h, version=_version(v))
                for h, v in sorted(coll.hashed_reads.items())
            ],
            hashed_writes=[
                kv_rwset_pb2.KVWriteHash(
                    key_hash=key_hash(k),
                    is_delete=v is None,
                    value_hash=hashlib.sha256(v).digest() if v is not None else b"",
                )
                for k, v in sorted(coll.writes.items(), key=lambda item: key_hash(item[0]))
            ],
            metadata_writes=[
                kv_rwset_pb2.KVMetadataWriteHash(key_hash=key_hash(k), entries=_metadata(e))
                for k, e in sorted(coll.metadata_writes.items())
            ],
        )
        hashed_sets.append(
            rwset_pb2.CollectionHashedReadWriteSet(
                collection_name=name,
                hashed_rwset=hashed.SerializeToString(),
                pvt_rwset_hash=hashlib.sha256(pvt_bytes).digest() if pvt_bytes else b"",
            )
        )
    public = rwset_pb2.NsReadWriteSet(
        namespace=rw.namespace, rwset=kv.SerializeToString(), collection_hashed_rwset=hashed_sets
    )
    private = None
    if pvt_sets:
        private = rwset_pb2.NsPvtReadWriteSet(namespace=rw.namespace, collection_pvt_rwset=pvt_sets)
    return public, private


# --- parsing for the committer -------------------------------------------------------------
@dataclass(slots=True)
class ParsedCollection:
    name: str
    hashed: kv_rwset_pb2.HashedRWSet
    pvt_rwset_hash: bytes


@dataclass(slots=True)
class ParsedNamespace:
    namespace: str
    kv: kv_rwset_pb2.KVRWSet
    collections: list[ParsedCollection]


def parse(results: bytes) -> list[ParsedNamespace]:
    tx_rwset = rwset_pb2.TxReadWriteSet()
    tx_rwset.ParseFromString(results)
    parsed: list[ParsedNamespace] = []
    for ns in tx_rwset.ns_rwset:
        kv = kv_rwset_pb2.KVRWSet()
        kv.ParseFromString(ns.rwset)
        colls = []
        for coll in ns.collection_hashed_rwset:
            hashed = kv_rwset_pb2.HashedRWSet()
            hashed.ParseFromString(coll.hashed_rwset)
            colls.append(ParsedCollection(coll.collection_name, hashed, coll.pvt_rwset_hash))
        parsed.append(ParsedNamespace(ns.namespace, kv, colls))
    return parsed


def parse_private(data: bytes) -> dict[tuple[str, str], tuple[bytes, kv_rwset_pb2.KVRWSet]]:
    """(namespace, collection) → (raw rwset bytes, parsed KVRWSet) of a TxPvtReadWriteSet."""
    pvt = rwset_pb2.TxPvtReadWriteSet()
    pvt.ParseFromString(data)
    out: dict[tuple[str, str], tuple[bytes, kv_rwset_pb2.KVRWSet]] = {}
    for ns in pvt.ns_pvt_rwset:
        for coll in ns.collection_pvt_rwset:
            kv = kv_rwset_pb2.KVRWSet()
            kv.ParseFromString(coll.rwset)
            out[(ns.namespace, coll.collection_name)] = (coll.rwset, kv)
    return out


def metadata_to_bytes(entries: dict[str, bytes]) -> bytes | None:
    if not entries:
        return None
    return kv_rwset_pb2.KVMetadataWrite(entries=_metadata(entries)).SerializeToString()


def metadata_from_bytes(data: bytes | None) -> dict[str, bytes]:
    if not data:
        return {}
    md = kv_rwset_pb2.KVMetadataWrite()
    md.ParseFromString(data)
    return {entry.name: entry.value for entry in md.entries}
