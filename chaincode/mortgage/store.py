"""Typed access to the contract's world state: records under composite keys, index entries, pages.

Peers run LevelDB, so every query walks composite-key index entries (value ``\\x00``: an empty value
would be a delete in Fabric) and loads the records they point at. Records are stable JSON.

Write transactions never range-scan: a range query in a write transaction is re-executed by every
peer at validation (phantom check), where a key read is one version comparison. One-to-one look-ups
(a plate to its vehicle) are therefore *unique keys* — one key per looked-up value holding the id —
and several records a transaction needs are read in one request (:meth:`Store.get_many`, one
GET_STATE_MULTIPLE on a Fabric 3.1 peer). Range scans remain for the many-to-one indexes that only
queries (evaluate transactions) walk.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel

from chaincode.runtime.errors import BadRequestError
from chaincode.runtime.interfaces import ChaincodeStub

M = TypeVar("M", bound=BaseModel)

OWNER_COLLECTION = "ownerPrivate"
INDEX_VALUE = b"\x00"
MAX_PAGE_SIZE = 200

# record types
VEHICLE = "VEHICLE"
LIEN = "LIEN"
POLICY = "POLICY"
CLAIM = "CLAIM"
MAINT = "MAINT"
ODO = "ODO"
ODOREAD = "ODOREAD"
VALUATION = "VALUATION"
VALLATEST = "VALLATEST"
DOC = "DOC"
QR = "QR"
QRVIN = "QRVIN"
CONFIG = "CONFIG"
OWNER = "OWNER"

# unique keys (attribute: the looked-up value; value: the id, UTF-8)
UNQ_PLATE = "UNQ_PLATE"

# index types (attributes: lookup value, then the id)
IDX_PLATE = "IDX_PLATE"  # written before unique keys existed; read only as a fallback
IDX_VSTATUS = "IDX_VSTATUS"
IDX_OWNER = "IDX_OWNER"
IDX_VHOLDER = "IDX_VHOLDER"
IDX_MAKE = "IDX_MAKE"
IDX_LVIN = "IDX_LVIN"
IDX_LHOLDER = "IDX_LHOLDER"
IDX_LSTATUS = "IDX_LSTATUS"
IDX_POLVIN = "IDX_POLVIN"
IDX_DOCVIN = "IDX_DOCVIN"
IDX_DOCLIEN = "IDX_DOCLIEN"


def dumps(value: Any) -> bytes:
    """Stable JSON: sorted keys, compact separators, UTF-8, pydantic models in JSON mode."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Store:
    """The world state of one transaction, seen through the contract's key layout."""

    def __init__(self, stub: ChaincodeStub) -> None:
        self.stub = stub
        # values read ahead by prefetch(); exact for the whole transaction, since a peer serves committed
        # state only and never shows a transaction its own writes
        self._read: dict[str, bytes | None] = {}

    def key(self, object_type: str, *attrs: str) -> str:
        return self.stub.create_composite_key(object_type, list(attrs))

    def _get_state(self, key: str) -> bytes | None:
        if key in self._read:
            return self._read[key]
        return self.stub.get_state(key)

    # --- records -----------------------------------------------------------------------
    def get(self, model: type[M], object_type: str, *attrs: str) -> M | None:
        raw = self._get_state(self.key(object_type, *attrs))
        return model.model_validate_json(raw) if raw else None

    def get_raw(self, object_type: str, *attrs: str) -> bytes | None:
        return self._get_state(self.key(object_type, *attrs)) or None

    def get_many(self, *specs: tuple[str, ...]) -> list[bytes | None]:
        """Raw values of several records, each given as ``(object_type, *attrs)``, in one request."""
        keys = [self.key(*spec) for spec in specs]
        missing = [k for k in keys if k not in self._read]
        if missing:
            self._read.update(zip(missing, self.stub.get_multiple_states(missing), strict=True))
        return [self._read[k] for k in keys]

    def prefetch(self, *specs: tuple[str, ...]) -> None:
        """Read records the transaction is about to load, in one request (only keys it will read: each
        one read is in the read set and checked at validation)."""
        self.get_many(*specs)

    @staticmethod
    def parse(model: type[M], raw: bytes | None) -> M | None:
        return model.model_validate_json(raw) if raw else None

    def exists(self, object_type: str, *attrs: str) -> bool:
        return bool(self._get_state(self.key(object_type, *attrs)))

    def put(self, record: BaseModel | dict[str, Any], object_type: str, *attrs: str) -> None:
        self.stub.put_state(self.key(object_type, *attrs), dumps(record))

    def scan(self, model: type[M], object_type: str, *attrs: str) -> list[M]:
        """All records under a partial key, in key order (small sets only: a vehicle's records)."""
        with self.stub.get_state_by_partial_composite_key(object_type, list(attrs)) as it:
            return [model.model_validate_json(kv.value) for kv in it]

    # --- unique keys -------------------------------------------------------------------
    def unique_put(self, index: str, value: str, record_id: str) -> None:
        """Point ``value`` at ``record_id`` (one key: a write transaction checks it with one read)."""
        self.stub.put_state(self.key(index, value), record_id.encode("utf-8"))

    @staticmethod
    def unique_id(raw: bytes | None) -> str | None:
        return raw.decode("utf-8") if raw else None

    # --- index entries -----------------------------------------------------------------
    def index_put(self, index: str, *attrs: str) -> None:
        self.stub.put_state(self.key(index, *attrs), INDEX_VALUE)

    def index_del(self, index: str, *attrs: str) -> None:
        self.stub.del_state(self.key(index, *attrs))

    def index_move(self, index: str, old: str | None, new: str | None, *tail: str) -> None:
        """Re-point an index entry when the indexed value changes (old → new)."""
        if old == new:
            return
        if old is not None:
            self.index_del(index, old, *tail)
        if new is not None:
            self.index_put(index, new, *tail)

    def index_ids(self, index: str, *attrs: str) -> list[str]:
        """The last attribute of each entry under ``index[attrs...]`` (small sets only)."""
        with self.stub.get_state_by_partial_composite_key(index, list(attrs)) as it:
            return [self.stub.split_composite_key(kv.key)[1][-1] for kv in it]

    def page(
        self, object_type: str, attrs: list[str], page_size: int, bookmark: str
    ) -> tuple[list[str], str]:
        """One page of keys under a partial key: the last attribute of each entry, and the next bookmark."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise BadRequestError(
                f"invalid argument 'page_size': must be 1..{MAX_PAGE_SIZE}, got {page_size}"
            )
        it, meta = self.stub.get_state_by_partial_composite_key_with_pagination(
            object_type, attrs, page_size, bookmark
        )
        with it:
            ids = [self.stub.split_composite_key(kv.key)[1][-1] for kv in it]
        return ids, meta.bookmark if ids and len(ids) == page_size else ""

    # --- private data ------------------------------------------------------------------
    def put_private(self, record: BaseModel, object_type: str, *attrs: str) -> None:
        self.stub.put_private_data(OWNER_COLLECTION, self.key(object_type, *attrs), dumps(record))

    def get_private(self, model: type[M], object_type: str, *attrs: str) -> M | None:
        raw = self.stub.get_private_data(OWNER_COLLECTION, self.key(object_type, *attrs))
        return model.model_validate_json(raw) if raw else None
