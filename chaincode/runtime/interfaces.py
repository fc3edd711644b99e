"""The chaincode stub contract: what a contract may ask of the ledger during one transaction.

One interface, two implementations: the peer-backed stub (chaincode-as-a-service, talking the
peer's chaincode protocol) and the embedded stub (the in-process host used by the embedded
ledger). Contracts depend on this module only, so they run unchanged on both.

Mirrors fabric-chaincode-go's ``shim.ChaincodeStubInterface`` in snake_case. Missing keys read as
``None`` (the peer answers an empty payload for them). Iterators must be closed (use ``with``).
Reads see committed state, not the transaction's own writes; writing ``b""`` deletes the key (as on
Fabric). A request the peer refuses raises ``chaincode.runtime.errors.PeerError``; bad arguments
(empty key, U+0000 in a composite-key attribute...) raise ``StubUsageError``. Implementations:
``peerstub.PeerStub`` (chaincode server) and ``inprocess.InProcessStub`` (embedded ledger).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One state entry returned by a range, composite-key or rich query."""

    namespace: str
    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class KeyModification:
    """One entry of a key's history (GET_HISTORY_FOR_KEY)."""

    tx_id: str
    value: bytes
    timestamp: datetime
    is_delete: bool


@dataclass(frozen=True, slots=True)
class QueryResponseMetadata:
    """Pagination result: how many records came back and the bookmark for the next page."""

    fetched_records_count: int
    bookmark: str


@dataclass(frozen=True, slots=True)
class ChaincodeResponse:
    """A chaincode's answer (status < 400 success, >= 400 error), as in ``peer.Response``."""

    status: int
    message: str = ""
    payload: bytes = b""


@dataclass(slots=True)
class ChaincodeEvent:
    """The single event a transaction may set; the last ``set_event`` call wins."""

    name: str
    payload: bytes = field(default=b"")


class StateIterator(abc.ABC, Generic[T]):
    """A closable iterator over query results; exhausting or closing releases the peer's cursor."""

    @abc.abstractmethod
    def __iter__(self) -> Iterator[T]: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> StateIterator[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChaincodeStub(abc.ABC):
    """Everything a contract may read or write in one transaction."""

    # --- transaction facts -------------------------------------------------------------
    @abc.abstractmethod
    def get_args(self) -> list[bytes]: ...

    @abc.abstractmethod
    def get_string_args(self) -> list[str]: ...

    @abc.abstractmethod
    def get_function_and_parameters(self) -> tuple[str, list[str]]: ...

    @abc.abstractmethod
    def get_tx_id(self) -> str: ...

    @abc.abstractmethod
    def get_channel_id(self) -> str: ...

    @abc.abstractmethod
    def get_tx_timestamp(self) -> datetime:
        """The transaction's timestamp (UTC) from its channel header: the only clock a contract may use."""

    @abc.abstractmethod
    def get_creator(self) -> bytes:
        """The serialized ``msp.SerializedIdentity`` of the submitter."""

    @abc.abstractmethod
    def get_signed_proposal(self) -> bytes | None:
        """The serialized ``peer.SignedProposal`` (None on a host that has none)."""

    @abc.abstractmethod
    def get_binding(self) -> bytes: ...

    @abc.abstractmethod
    def get_transient(self) -> dict[str, bytes]: ...

    # --- public state ------------------------------------------------------------------
    @abc.abstractmethod
    def get_state(self, key: str) -> bytes | None: ...

    def get_multiple_states(self, keys: list[str]) -> list[bytes | None]:
        """Values of several keys (``None`` where missing), in order; one request on a Fabric 3.1 peer."""
        return [self.get_state(k) for k in keys]

    @abc.abstractmethod
    def put_state(self, key: str, value: bytes) -> None: ...

    @abc.abstractmethod
    def del_state(self, key: str) -> None: ...

    @abc.abstractmethod
    def get_state_by_range(self, start_key: str, end_key: str) -> StateIterator[KeyValue]: ...

    @abc.abstractmethod
    def get_state_by_range_with_pagination(
        self, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata]: ...

    @abc.abstractmethod
    def get_state_by_partial_composite_key(
        self, object_type: str, attributes: list[str]
    ) -> StateIterator[KeyValue]: ...

    @abc.abstractmethod
    def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str = ""
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata]: ...

    @abc.abstractmethod
    def get_query_result(self, query: str) -> StateIterator[KeyValue]:
        """A CouchDB rich query (Mango JSON); refused by a LevelDB peer."""

    @abc.abstractmethod
    def get_query_result_with_pagination(
        self, query: str, page_size: int, bookmark: str = ""
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata]: ...

    @abc.abstractmethod
    def get_history_for_key(self, key: str) -> StateIterator[KeyModification]: ...

    # --- composite keys (Fabric's encoding: U+0000 type U+0000 attr U+0000 ...) --------
    @abc.abstractmethod
    def create_composite_key(self, object_type: str, attributes: list[str]) -> str: ...

    @abc.abstractmethod
    def split_composite_key(self, composite_key: str) -> tuple[str, list[str]]: ...

    # --- key-level endorsement (state-based endorsement) -------------------------------
    @abc.abstractmethod
    def set_state_validation_parameter(self, key: str, endorsement_policy: bytes) -> None: ...

    @abc.abstractmethod
    def get_state_validation_parameter(self, key: str) -> bytes | None: ...

    def get_state_metadata(self, key: str) -> dict[str, bytes]:
        """Every metadata entry of a key (``VALIDATION_PARAMETER`` is the one Fabric defines)."""
        raise NotImplementedError(f"{type(self).__name__} does not support get_state_metadata")

    # --- private data ------------------------------------------------------------------
    @abc.abstractmethod
    def get_private_data(self, collection: str, key: str) -> bytes | None: ...

    def get_multiple_private_data(self, collection: str, keys: list[str]) -> list[bytes | None]:
        """Private values of several keys (see :meth:`get_multiple_states`)."""
        return [self.get_private_data(collection, k) for k in keys]

    @abc.abstractmethod
    def get_private_data_hash(self, collection: str, key: str) -> bytes | None: ...

    @abc.abstractmethod
    def put_private_data(self, collection: str, key: str, value: bytes) -> None: ...

    @abc.abstractmethod
    def del_private_data(self, collection: str, key: str) -> None: ...

    def purge_private_data(self, collection: str, key: str) -> None:
        """Delete the key and purge its history from private data stores (Fabric 2.5+)."""
        raise NotImplementedError(f"{type(self).__name__} does not support purge_private_data")

    @abc.abstractmethod
    def get_private_data_by_range(
        self, collection: str, start_key: str, end_key: str
    ) -> StateIterator[KeyValue]: ...

    @abc.abstractmethod
    def get_private_data_by_partial_composite_key(
        self, collection: str, object_type: str, attributes: list[str]
    ) -> StateIterator[KeyValue]: ...

    @abc.abstractmethod
    def get_private_data_query_result(self, collection: str, query: str) -> StateIterator[KeyValue]: ...

    @abc.abstractmethod
    def set_private_data_validation_parameter(
        self, collection: str, key: str, endorsement_policy: bytes
    ) -> None: ...

    @abc.abstractmethod
    def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes | None: ...

    # --- other chaincodes and events ---------------------------------------------------
    @abc.abstractmethod
    def invoke_chaincode(
        self, chaincode_name: str, args: list[bytes], channel: str = ""
    ) -> ChaincodeResponse: ...

    @abc.abstractmethod
    def set_event(self, name: str, payload: bytes) -> None: ...
