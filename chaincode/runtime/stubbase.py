"""What both stubs share: transaction facts, argument checks, composite keys, events.

``BaseStub`` implements the whole :class:`ChaincodeStub` in terms of a few primitives (one per
peer-protocol request) so the peer stub and the in-process stub differ only in where a request goes,
and validate their arguments with the same words as fabric-chaincode-go.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

from .compositekey import (
    create_composite_key,
    partial_composite_key_range,
    range_start,
    split_composite_key,
    validate_simple_key,
)
from .errors import StubUsageError
from .interfaces import (
    ChaincodeEvent,
    ChaincodeResponse,
    ChaincodeStub,
    KeyModification,
    KeyValue,
    QueryResponseMetadata,
    StateIterator,
)
from .proposal import PeerTxFacts, TxFacts

T = TypeVar("T")
VALIDATION_PARAMETER = "VALIDATION_PARAMETER"  # peer.MetaDataKeys name used as the metadata key
Page = tuple[int, str]  # (page size, bookmark)


class ListIterator(StateIterator[T]):
    """An iterator over results already in memory (in-process host, fetched pages)."""

    def __init__(self, items: list[T], on_close: Callable[[], None] | None = None) -> None:
        self._items = items
        self._pos = 0
        self._closed = False
        self._on_close = on_close

    def __iter__(self) -> Iterator[T]:
        while not self._closed and self._pos < len(self._items):
            item = self._items[self._pos]
            self._pos += 1
            yield item
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._on_close is not None:
                self._on_close()


def _require(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise StubUsageError(f"{what} must be a str, got {type(value).__name__}")
    if value == "":
        raise StubUsageError(f"{what} must not be an empty string")


def _require_bytes(value: bytes, what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise StubUsageError(f"{what} must be bytes, got {type(value).__name__}")


def _page(page_size: int, bookmark: str) -> Page:
    if not isinstance(page_size, int) or page_size <= 0 or page_size > 2**31 - 1:
        raise StubUsageError(f"page size must be a positive 32-bit integer, got {page_size!r}")
    return page_size, bookmark or ""


class BaseStub(ChaincodeStub):
    """The stub, minus transport: subclasses implement the ``_``-prefixed primitives."""

    def __init__(self, facts: TxFacts | PeerTxFacts) -> None:
        self._facts = facts
        self.event: ChaincodeEvent | None = None

    def _get_multiple(self, collection: str, keys: list[str]) -> list[bytes | None]:
        """Several reads; a transport with a multi-key request (GET_STATE_MULTIPLE) overrides this."""
        return [self._get_state(collection, k) for k in keys]

    def flush_writes(self) -> None:
        """Send the writes still buffered (a transport with write batches overrides this)."""

    def discard_writes(self) -> None:
        """Forget the writes still buffered (the transaction failed)."""

    # --- primitives ---------------------------------------------------------------------
    @abc.abstractmethod
    def _get_state(self, collection: str, key: str) -> bytes | None: ...

    @abc.abstractmethod
    def _get_private_data_hash(self, collection: str, key: str) -> bytes | None: ...

    @abc.abstractmethod
    def _put_state(self, collection: str, key: str, value: bytes) -> None: ...

    @abc.abstractmethod
    def _del_state(self, collection: str, key: str) -> None: ...

    @abc.abstractmethod
    def _purge_private_data(self, collection: str, key: str) -> None: ...

    @abc.abstractmethod
    def _get_state_by_range(
        self, collection: str, start_key: str, end_key: str, page: Page | None
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata | None]: ...

    @abc.abstractmethod
    def _get_query_result(
        self, collection: str, query: str, page: Page | None
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata | None]: ...

    @abc.abstractmethod
    def _get_history_for_key(self, key: str) -> StateIterator[KeyModification]: ...

    @abc.abstractmethod
    def _get_state_metadata(self, collection: str, key: str) -> dict[str, bytes]: ...

    @abc.abstractmethod
    def _put_state_metadata(self, collection: str, key: str, metakey: str, value: bytes) -> None: ...

    @abc.abstractmethod
    def _invoke_chaincode(self, name: str, args: list[bytes]) -> ChaincodeResponse: ...

    # --- transaction facts --------------------------------------------------------------
    @property
    def facts(self) -> TxFacts | PeerTxFacts:
        return self._facts

    def get_args(self) -> list[bytes]:
        return list(self._facts.args)

    def get_string_args(self) -> list[str]:
        return [a.decode("utf-8", errors="replace") for a in self._facts.args]

    def get_function_and_parameters(self) -> tuple[str, list[str]]:
        args = self.get_string_args()
        if not args:
            return "", []
        return args[0], args[1:]

    def get_tx_id(self) -> str:
        return self._facts.tx_id

    def get_channel_id(self) -> str:
        return self._facts.channel_id

    def get_tx_timestamp(self) -> datetime:
        return self._facts.timestamp

    def get_creator(self) -> bytes:
        return self._facts.creator

    def get_signed_proposal(self) -> bytes | None:
        return self._facts.signed_proposal

    def get_binding(self) -> bytes:
        return self._facts.binding

    def get_transient(self) -> dict[str, bytes]:
        return dict(self._facts.transient)

    def get_decorations(self) -> dict[str, bytes]:
        return dict(self._facts.decorations)

    # --- public state -------------------------------------------------------------------
    def get_state(self, key: str) -> bytes | None:
        _require(key, "key")
        return self._get_state("", key)

    def get_multiple_states(self, keys: list[str]) -> list[bytes | None]:
        """Values of several keys in one request where the peer offers GET_STATE_MULTIPLE (Fabric 3.1),
        one GET_STATE each otherwise; ``None`` for a missing key, in the order of ``keys``."""
        for k in keys:
            _require(k, "key")
        return self._get_multiple("", list(keys)) if keys else []

    def get_multiple_private_data(self, collection: str, keys: list[str]) -> list[bytes | None]:
        """Private values of several keys (see :meth:`get_multiple_states`)."""
        _require(collection, "collection")
        for k in keys:
            _require(k, "key")
        return self._get_multiple(collection, list(keys)) if keys else []

    def put_state(self, key: str, value: bytes) -> None:
        _require(key, "key")
        self._put_state("", key, _require_bytes(value, "value"))

    def del_state(self, key: str) -> None:
        _require(key, "key")
        self._del_state("", key)

    def get_state_by_range(self, start_key: str, end_key: str) -> StateIterator[KeyValue]:
        start_key = range_start(start_key)
        validate_simple_key(start_key, end_key)
        return self._get_state_by_range("", start_key, end_key, None)[0]

    def get_state_by_range_with_pagination(
        self, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata]:
        start_key = range_start(start_key)
        validate_simple_key(start_key, end_key)
        it, meta = self._get_state_by_range("", start_key, end_key, _page(page_size, bookmark))
        return it, meta or QueryResponseMetadata(0, "")

    def get_state_by_partial_composite_key(
        self, object_type: str, attributes: list[str]
    ) -> StateIterator[KeyValue]:
        start, end = partial_composite_key_range(object_type, attributes)
        return self._get_state_by_range("", start, end, None)[0]

    def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: list[str], page_size: int, bookmark: str = ""
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata]:
        start, end = partial_composite_key_range(object_type, attributes)
        it, meta = self._get_state_by_range("", start, end, _page(page_size, bookmark))
        return it, meta or QueryResponseMetadata(0, "")

    def get_query_result(self, query: str) -> StateIterator[KeyValue]:
        return self._get_query_result("", query, None)[0]

    def get_query_result_with_pagination(
        self, query: str, page_size: int, bookmark: str = ""
    ) -> tuple[StateIterator[KeyValue], QueryResponseMetadata]:
        it, meta = self._get_query_result("", query, _page(page_size, bookmark))
        return it, meta or QueryResponseMetadata(0, "")

    def get_history_for_key(self, key: str) -> StateIterator[KeyModification]:
        _require(key, "key")
        return self._get_history_for_key(key)

    # --- composite keys -----------------------------------------------------------------
    def create_composite_key(self, object_type: str, attributes: list[str]) -> str:
        return create_composite_key(object_type, attributes)

    def split_composite_key(self, composite_key: str) -> tuple[str, list[str]]:
        return split_composite_key(composite_key)

    # --- key-level endorsement ----------------------------------------------------------
    def set_state_validation_parameter(self, key: str, endorsement_policy: bytes) -> None:
        _require(key, "key")
        self._put_state_metadata("", key, VALIDATION_PARAMETER, _require_bytes(endorsement_policy, "policy"))

    def get_state_validation_parameter(self, key: str) -> bytes | None:
        _require(key, "key")
        return self._get_state_metadata("", key).get(VALIDATION_PARAMETER)

    def get_state_metadata(self, key: str) -> dict[str, bytes]:
        """Every metadata entry of a public key (VALIDATION_PARAMETER is the one Fabric defines)."""
        _require(key, "key")
        return self._get_state_metadata("", key)

    # --- private data -------------------------------------------------------------------
    def get_private_data(self, collection: str, key: str) -> bytes | None:
        _require(collection, "collection")
        _require(key, "key")
        return self._get_state(collection, key)

    def get_private_data_hash(self, collection: str, key: str) -> bytes | None:
        _require(collection, "collection")
        _require(key, "key")
        return self._get_private_data_hash(collection, key)

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        _require(collection, "collection")
        _require(key, "key")
        self._put_state(collection, key, _require_bytes(value, "value"))

    def del_private_data(self, collection: str, key: str) -> None:
        _require(collection, "collection")
        _require(key, "key")
        self._del_state(collection, key)

    def purge_private_data(self, collection: str, key: str) -> None:
        _require(collection, "collection")
        _require(key, "key")
        self._purge_private_data(collection, key)

    def get_private_data_by_range(
        self, collection: str, start_key: str, end_key: str
    ) -> StateIterator[KeyValue]:
        _require(collection, "collection")
        start_key = range_start(start_key)
        validate_simple_key(start_key, end_key)
        return self._get_state_by_range(collection, start_key, end_key, None)[0]

    def get_private_data_by_partial_composite_key(
        self, collection: str, object_type: str, attributes: list[str]
    ) -> StateIterator[KeyValue]:
        _require(collection, "collection")
        start, end = partial_composite_key_range(object_type, attributes)
        return self._get_state_by_range(collection, start, end, None)[0]

    def get_private_data_query_result(self, collection: str, query: str) -> StateIterator[KeyValue]:
        _require(collection, "collection")
        return self._get_query_result(collection, query, None)[0]

    def set_private_data_validation_parameter(
        self, collection: str, key: str, endorsement_policy: bytes
    ) -> None:
        _require(collection, "collection")
        _require(key, "key")
        self._put_state_metadata(
            collection, key, VALIDATION_PARAMETER, _require_bytes(endorsement_policy, "policy")
        )

    def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes | None:
        _require(collection, "collection")
        _require(key, "key")
        return self._get_state_metadata(collection, key).get(VALIDATION_PARAMETER)

    # --- other chaincodes and events ----------------------------------------------------
    def invoke_chaincode(
        self, chaincode_name: str, args: list[bytes], channel: str = ""
    ) -> ChaincodeResponse:
        _require(chaincode_name, "chaincode name")
        name = f"{chaincode_name}/{channel}" if channel else chaincode_name
        return self._invoke_chaincode(name, [_require_bytes(a, "argument") for a in args])

    def set_event(self, name: str, payload: bytes) -> None:
        if not isinstance(name, str) or name == "":
            raise StubUsageError("event name can not be empty string")
        self.event = ChaincodeEvent(name, _require_bytes(payload, "event payload"))
