"""Test helpers for contract authors: a small in-memory ledger and real X.509 test identities.

``MemoryLedger`` runs contracts on the real in-process host and commits results with Fabric's MVCC
rule (a read whose version changed invalidates the transaction) — enough to unit-test a contract
without a network or the embedded SQLite ledger. ``make_identity`` issues a real certificate carrying
the fabric-ca attributes extension, so ``ClientIdentity`` reads it exactly as on a peer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2

from .contract import Contract
from .identity import ATTRS_EXTENSION_OID
from .inprocess import (
    CollectionAccess,
    InProcessHost,
    SimulationResult,
    SnapshotError,
    TxContext,
    Version,
    VersionedValue,
)
from .interfaces import ChaincodeEvent, KeyModification


@dataclass(frozen=True, slots=True)
class TestIdentity:
    """A creator for test transactions: MSP ID, PEM cert, private key, serialized identity."""

    __test__ = False  # not a pytest class

    msp_id: str
    cert_pem: bytes
    key_pem: bytes

    @property
    def creator(self) -> bytes:
        return bytes(
            identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.cert_pem).SerializeToString()
        )


def make_identity(
    msp_id: str,
    common_name: str,
    attrs: Mapping[str, str] | None = None,
    *,
    ou: Iterable[str] = ("client",),
    issuer_cn: str | None = None,
) -> TestIdentity:
    """A self-contained test identity: a CA key signs a leaf cert with the fabric-ca attrs extension."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, msp_id),
            x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn or f"ca.{msp_id.lower()}"),
        ]
    )
    subject_attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]
    subject_attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, o) for o in ou]
    subject_attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject_attrs))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )
    if attrs is not None:
        payload = json.dumps({"attrs": dict(attrs)}).encode("utf-8")
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ATTRS_EXTENSION_OID, payload), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    return TestIdentity(
        msp_id,
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


@dataclass(slots=True)
class _Entry:
    value: bytes
    version: Version
    metadata: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Collection:
    """A private data collection: member orgs and whether reads/writes are members-only."""

    name: str
    members: frozenset[str]
    member_only_read: bool = True
    member_only_write: bool = True


def collections_from_config(config: list[dict[str, object]]) -> dict[str, Collection]:
    """Read Fabric's collections_config.json format (policy ``OR('A.member','B.member')``)."""
    result: dict[str, Collection] = {}
    for item in config:
        policy = str(item.get("policy", ""))
        members = frozenset(part.split(".")[0].strip("'\" ") for part in policy[3:-1].split(",") if part)
        name = str(item["name"])
        result[name] = Collection(
            name,
            members,
            bool(item.get("memberOnlyRead", True)),
            bool(item.get("memberOnlyWrite", True)),
        )
    return result


class MemoryLedger:
    """Committed state in dicts; each ``invoke`` simulates, validates (MVCC) and commits one tx."""

    def __init__(
        self,
        host: InProcessHost,
        *,
        channel_id: str = "vehicles",
        collections: Mapping[str, Collection] | None = None,
    ) -> None:
        self.host = host
        self.channel_id = channel_id
        self.collections = dict(collections or {})
        self.state: dict[tuple[str, str], _Entry] = {}
        self.private: dict[tuple[str, str, str], _Entry] = {}
        self.history: dict[tuple[str, str], list[KeyModification]] = {}
        self.events: list[tuple[str, ChaincodeEvent]] = []
        self.block = 0
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)
        self.last_validation_code = ""

    @classmethod
    def for_contracts(
        cls, *contracts: Contract | type[Contract], name: str = "mortgage", **kw: object
    ) -> MemoryLedger:
        return cls(InProcessHost(list(contracts), name=name), **kw)  # type: ignore[arg-type]

    # --- snapshot side ------------------------------------------------------------------
    def snapshot(self, creator_msp: str) -> _MemorySnapshot:
        return _MemorySnapshot(self, creator_msp)

    # --- transactions -------------------------------------------------------------------
    def simulate(
        self,
        identity: TestIdentity,
        function: str,
        *args: str | bytes,
        transient: Mapping[str, bytes] | None = None,
    ) -> SimulationResult:
        tx_id = hashlib.sha256(os.urandom(24) + identity.creator).hexdigest()
        self.clock += timedelta(seconds=1)
        raw = [function.encode()] + [a if isinstance(a, bytes) else a.encode("utf-8") for a in args]
        ctx = TxContext(tx_id, self.channel_id, self.clock, identity.creator, raw, dict(transient or {}))
        return self.host.execute(self.snapshot(identity.msp_id), ctx)

    def invoke(
        self,
        identity: TestIdentity,
        function: str,
        *args: str | bytes,
        transient: Mapping[str, bytes] | None = None,
    ) -> SimulationResult:
        """Simulate and, when it succeeded and is valid, commit (like submit on a one-peer network)."""
        result = self.simulate(identity, function, *args, transient=transient)
        if result.ok:
            self.last_validation_code = self.commit(result)
        return result

    def validate(self, result: SimulationResult) -> str:
        """Fabric's MVCC check: VALID, MVCC_READ_CONFLICT or PHANTOM_READ_CONFLICT."""
        for ns, rw in result.rwsets.items():
            for key, version in rw.reads.items():
                entry = self.state.get((ns, key))
                if (entry.version if entry else None) != version:
                    return "MVCC_READ_CONFLICT"
            for rq in rw.range_reads:
                now = [
                    (k, e.version)
                    for (n, k), e in sorted(self.state.items())
                    if n == ns
                    and k >= rq.start_key
                    and (k <= rq.end_key if not rq.itr_exhausted else (not rq.end_key or k < rq.end_key))
                ]
                if tuple(now) != rq.reads:
                    return "PHANTOM_READ_CONFLICT"
            for coll, reads in rw.private_reads.items():
                for key, version in reads.items():
                    entry = self.private.get((ns, coll, key))
                    if (entry.version if entry else None) != version:
                        return "MVCC_READ_CONFLICT"
        return "VALID"

    def commit(self, result: SimulationResult) -> str:
        """Validate and apply one simulated transaction; returns its validation code."""
        tx_id = result.tx_id
        code = self.validate(result)
        if code != "VALID":
            return code
        self.block += 1
        version = (self.block, 0)
        ts = self.clock
        for ns, rw in result.rwsets.items():
            for key, value in rw.writes.items():
                old = self.state.get((ns, key))
                if value is None:
                    self.state.pop((ns, key), None)
                else:
                    self.state[(ns, key)] = _Entry(value, version, dict(old.metadata) if old else {})
                self.history.setdefault((ns, key), []).insert(
                    0, KeyModification(tx_id, value or b"", ts, value is None)
                )
            for key, meta in rw.metadata_writes.items():
                entry = self.state.get((ns, key))
                if entry is not None:
                    entry.metadata = dict(meta)
                    entry.version = version
            for coll, writes in rw.private_writes.items():
                for key, value in writes.items():
                    old = self.private.get((ns, coll, key))
                    if value is None:
                        self.private.pop((ns, coll, key), None)
                    else:
                        self.private[(ns, coll, key)] = _Entry(
                            value, version, dict(old.metadata) if old else {}
                        )
            for coll, metas in rw.private_metadata_writes.items():
                for key, meta in metas.items():
                    pentry = self.private.get((ns, coll, key))
                    if pentry is not None:
                        pentry.metadata = dict(meta)
                        pentry.version = version
        if result.event is not None:
            self.events.append((tx_id, result.event))
        return code


class _MemorySnapshot:
    """The MemoryLedger's committed state as a StateSnapshot, with collection access by creator MSP."""

    def __init__(self, ledger: MemoryLedger, creator_msp: str) -> None:
        self._l = ledger
        self._msp = creator_msp

    def _vv(self, entry: _Entry | None) -> VersionedValue | None:
        return VersionedValue(entry.value, entry.version, dict(entry.metadata)) if entry else None

    def get_state(self, namespace: str, key: str) -> VersionedValue | None:
        return self._vv(self._l.state.get((namespace, key)))

    def scan_state(self, namespace: str, start_key: str, end_key: str) -> list[tuple[str, VersionedValue]]:
        rows = sorted(
            (k, e)
            for (n, k), e in self._l.state.items()
            if n == namespace and k >= start_key and (not end_key or k < end_key)
        )
        return [(k, VersionedValue(e.value, e.version, dict(e.metadata))) for k, e in rows]

    def get_history(self, namespace: str, key: str) -> list[KeyModification]:
        return list(self._l.history.get((namespace, key), []))

    def check_collection(self, namespace: str, collection: str, access: CollectionAccess) -> None:
        coll = self._l.collections.get(collection)
        if coll is None:
            raise SnapshotError(f"collection {collection} not found for namespace {namespace}")
        member = self._msp in coll.members
        if access == "read" and coll.member_only_read and not member:
            raise SnapshotError(
                f"tx creator does not have read access permission on privatedata in chaincodeName:"
                f"{namespace} collectionName: {collection}"
            )
        if access == "write" and coll.member_only_write and not member:
            raise SnapshotError(
                f"tx creator does not have write access permission on privatedata in chaincodeName:"
                f"{namespace} collectionName: {collection}"
            )

    def get_private_data(self, namespace: str, collection: str, key: str) -> VersionedValue | None:
        return self._vv(self._l.private.get((namespace, collection, key)))

    def get_private_data_hash(self, namespace: str, collection: str, key: str) -> VersionedValue | None:
        entry = self._l.private.get((namespace, collection, key))
        if entry is None:
            return None
        return VersionedValue(hashlib.sha256(entry.value).digest(), entry.version, dict(entry.metadata))

    def scan_private_data(
        self, namespace: str, collection: str, start_key: str, end_key: str
    ) -> list[tuple[str, VersionedValue]]:
        rows = sorted(
            (k, e)
            for (n, c, k), e in self._l.private.items()
            if n == namespace and c == collection and k >= start_key and (not end_key or k < end_key)
        )
        return [(k, VersionedValue(e.value, e.version, dict(e.metadata))) for k, e in rows]

    def execute_query(self, namespace: str, collection: str, query: str) -> list[tuple[str, VersionedValue]]:
        raise SnapshotError("ExecuteQuery not supported for leveldb")
