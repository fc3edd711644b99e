"""The ledger side of a simulation: committed state served to the in-process host, with peer rules.

Implements ``chaincode.runtime.inprocess.StateSnapshot`` over one SQLite read transaction, and the
checks the peer's chaincode handler makes on private data: an unknown collection, and the
collection's ``memberOnlyRead`` / ``memberOnlyWrite`` against the *creator's* org, are refused with
the peer's own words. Private values are only available when the simulating peer's org is a
member (a non-member peer holds hashes only), as on Fabric.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from app.ledger.embedded.collections import Collection
from app.ledger.embedded.rwset import key_hash, metadata_from_bytes
from app.ledger.embedded.store import StateView, VersionedValue
from chaincode.runtime.inprocess import CollectionAccess, SnapshotError
from chaincode.runtime.inprocess import VersionedValue as HostValue
from chaincode.runtime.interfaces import KeyModification


def _host(value: VersionedValue | None) -> HostValue | None:
    if value is None:
        return None
    return HostValue(value.value, value.version, metadata_from_bytes(value.metadata))


class LedgerSnapshot:
    """Committed state for one simulation (``StateSnapshot`` of the in-process host)."""

    def __init__(
        self,
        view: StateView,
        collections: dict[str, dict[str, Collection]],
        creator_msp: str,
        peer_msp: str,
    ) -> None:
        self._view = view
        self._collections = collections
        self._creator = creator_msp
        self._peer = peer_msp

    # --- public state ------------------------------------------------------------------
    def get_state(self, namespace: str, key: str) -> HostValue | None:
        return _host(self._view.get_state(namespace, key))

    def scan_state(self, namespace: str, start_key: str, end_key: str) -> Iterator[tuple[str, HostValue]]:
        for key, value in self._view.scan_state(namespace, start_key, end_key):
            converted = _host(value)
            assert converted is not None
            yield key, converted

    def get_history(self, namespace: str, key: str) -> Iterable[KeyModification]:
        return [
            KeyModification(
                tx_id=row.tx_id,
                value=row.value,
                timestamp=datetime.fromtimestamp(row.timestamp_us / 1_000_000, tz=UTC),
                is_delete=row.is_delete,
            )
            for row in self._view.history(namespace, key)
        ]

    def execute_query(self, namespace: str, collection: str, query: str) -> Iterable[tuple[str, HostValue]]:
        raise SnapshotError("ExecuteQuery not supported for leveldb")

    # --- private data ------------------------------------------------------------------
    def _collection(self, namespace: str, collection: str) -> Collection:
        configs = self._collections.get(namespace) or {}
        if not configs:
            raise SnapshotError(
                f"collection config not defined for chaincode [{namespace}], pass the collection "
                "configuration upon chaincode definition/instantiation"
            )
        config = configs.get(collection)
        if config is None:
            raise SnapshotError(
                f"collection [{collection}] not defined in the collection config for chaincode [{namespace}]"
            )
        return config

    def check_collection(self, namespace: str, collection: str, access: CollectionAccess) -> None:
        config = self._collection(namespace, collection)
        member = self._creator in config.members
        if access == "read" and config.member_only_read and not member:
            raise SnapshotError(
                "tx creator does not have read access permission on privatedata in "
                f"chaincodeName:{namespace} collectionName: {collection}"
            )
        if access == "write" and config.member_only_write and not member:
            raise SnapshotError(
                "tx creator does not have write access permission on privatedata in "
                f"chaincodeName:{namespace} collectionName: {collection}"
            )

    def _peer_has_data(self, namespace: str, collection: str) -> bool:
        return self._peer in self._collection(namespace, collection).members

    def get_private_data(self, namespace: str, collection: str, key: str) -> HostValue | None:
        hashed = self._view.get_private_hash(namespace, collection, key_hash(key))
        if hashed is None:
            return None
        if not self._peer_has_data(namespace, collection):
            return HostValue(b"", hashed.version, metadata_from_bytes(hashed.metadata))
        clear = self._view.get_private(namespace, collection, key)
        value = clear.value if clear is not None else b""
        return HostValue(value, hashed.version, metadata_from_bytes(hashed.metadata))

    def get_private_data_hash(self, namespace: str, collection: str, key: str) -> HostValue | None:
        self._collection(namespace, collection)
        return _host(self._view.get_private_hash(namespace, collection, key_hash(key)))

    def scan_private_data(
        self, namespace: str, collection: str, start_key: str, end_key: str
    ) -> Iterator[tuple[str, HostValue]]:
        if not self._peer_has_data(namespace, collection):
            return
        for key, value in self._view.scan_private(namespace, collection, start_key, end_key):
            yield key, HostValue(value.value, value.version, {})
