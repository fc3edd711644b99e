"""TestContract: one transaction per stub call, to prove the runtime on a peer and in-process.

Deployed by the network as chaincode ``runtimetest`` (collections: chaincode/testcc/collections_config.json,
collection ``taBankA`` = TrafficAuthorityMSP + BankAMSP, members-only read and write;
``bankAInsurerRegulator``, whose endorsing peer must reach both other member orgs' peers: a private write
that needs the Regulator's peer). Values are
UTF-8 text so the ``peer`` CLI can drive it; list results are JSON.

Every transaction also answers to its snake_case name (``Put`` and ``put``, ``PutPrivate`` and
``put_private``...), the style of the fabric-samples clients other tools here use; the one difference:
``get`` answers an empty payload for a missing key where ``Get`` answers 404.
"""

from __future__ import annotations

import functools
import hashlib
import time
from typing import Any, ClassVar

from chaincode.runtime.contract import (
    TX_ATTR,
    Context,
    Contract,
    ContractError,
    KeyEndorsementPolicy,
    evaluate,
    submit,
    to_pascal_case,
)
from chaincode.runtime.interfaces import KeyValue, StateIterator


def _rows(it: StateIterator[KeyValue]) -> list[dict[str, str]]:
    with it:
        return [{"key": kv.key, "value": kv.value.decode("utf-8", "replace")} for kv in it]


class TestContract(Contract):
    """Every stub call behind a transaction; see the module docstring."""

    __test__ = False  # not a pytest class
    name = "TestContract"
    info: ClassVar[dict[str, Any]] = {"title": "runtime test contract", "version": "1"}

    # --- public state -------------------------------------------------------------------
    @submit
    def put(self, ctx: Context, key: str, value: str) -> None:
        ctx.stub.put_state(key, value.encode("utf-8"))

    @evaluate
    def get(self, ctx: Context, key: str) -> str:
        value = ctx.stub.get_state(key)
        if value is None:
            raise ContractError(f"key {key} not found", status=404)
        return value.decode("utf-8")

    @evaluate(name="get")
    def get_or_empty(self, ctx: Context, key: str) -> bytes:
        return ctx.stub.get_state(key) or b""

    @evaluate
    def get_many(self, ctx: Context, key: str, count: int) -> int:
        """Reads one key ``count`` times: measures the per-call cost of the stub (benchmarks)."""
        found = 0
        for _ in range(count):
            found += ctx.stub.get_state(key) is not None
        return found

    @evaluate
    def get_multiple(self, ctx: Context, keys: list[str]) -> list[str | None]:
        """Several keys in one request where the peer offers GET_STATE_MULTIPLE (Fabric 3.1)."""
        return [None if v is None else v.decode("utf-8") for v in ctx.stub.get_multiple_states(keys)]

    @submit
    def put_then_read(self, ctx: Context, key: str, value: str) -> str:
        """Writes then reads the key: a peer never shows a transaction its own writes (batched or not)."""
        ctx.stub.put_state(key, value.encode("utf-8"))
        old = ctx.stub.get_state(key)
        return "" if old is None else old.decode("utf-8")

    @evaluate(blocking=True)
    def slow_get(self, ctx: Context, key: str, seconds: float) -> str:
        """Blocks its thread for ``seconds`` (CPU-heavy or blocking code), then reads: runs off the loop."""
        time.sleep(seconds)
        value = ctx.stub.get_state(key)
        return "" if value is None else value.decode("utf-8")

    @submit
    def delete(self, ctx: Context, key: str) -> None:
        ctx.stub.del_state(key)

    @submit
    def put_many(self, ctx: Context, prefix: str, count: int) -> int:
        for i in range(count):
            ctx.stub.put_state(f"{prefix}{i:04d}", f"v{i}".encode())
        return count

    @submit
    def increment(self, ctx: Context, key: str) -> int:
        raw = ctx.stub.get_state(key)
        value = int(raw) + 1 if raw else 1
        ctx.stub.put_state(key, str(value).encode())
        return value

    @evaluate
    def get_range(self, ctx: Context, start_key: str, end_key: str) -> list[dict[str, str]]:
        return _rows(ctx.stub.get_state_by_range(start_key, end_key))

    @evaluate
    def first_in_range(self, ctx: Context, start_key: str, end_key: str) -> str:
        """Reads one result and closes the iterator early (the peer's cursor must be released)."""
        with ctx.stub.get_state_by_range(start_key, end_key) as it:
            for kv in it:
                return kv.key
        raise ContractError(f"no key in [{start_key}, {end_key})", status=404)

    @submit(name="CountRange")
    def count_range(self, ctx: Context, start_key: str, end_key: str) -> int:
        """A range read inside a submit (recorded for phantom-read validation)."""
        return len(_rows(ctx.stub.get_state_by_range(start_key, end_key)))

    @evaluate
    def get_range_page(
        self, ctx: Context, start_key: str, end_key: str, page_size: int, bookmark: str = ""
    ) -> dict[str, Any]:
        it, meta = ctx.stub.get_state_by_range_with_pagination(start_key, end_key, page_size, bookmark)
        return {"results": _rows(it), "fetched": meta.fetched_records_count, "bookmark": meta.bookmark}

    @evaluate
    def rich_query(self, ctx: Context, query: str) -> list[dict[str, str]]:
        return _rows(ctx.stub.get_query_result(query))

    @evaluate
    def history(self, ctx: Context, key: str) -> list[dict[str, Any]]:
        with ctx.stub.get_history_for_key(key) as it:
            return [
                {
                    "tx_id": m.tx_id,
                    "value": m.value.decode("utf-8", "replace"),
                    "is_delete": m.is_delete,
                    "timestamp": m.timestamp.isoformat(),
                }
                for m in it
            ]

    # --- composite keys -----------------------------------------------------------------
    @submit
    def put_composite(self, ctx: Context, object_type: str, attributes: list[str], value: str) -> str:
        key = ctx.stub.create_composite_key(object_type, attributes)
        ctx.stub.put_state(key, value.encode("utf-8"))
        return key

    @evaluate
    def get_by_partial_key(
        self, ctx: Context, object_type: str, attributes: list[str]
    ) -> list[dict[str, Any]]:
        with ctx.stub.get_state_by_partial_composite_key(object_type, attributes) as it:
            out = []
            for kv in it:
                otype, attrs = ctx.stub.split_composite_key(kv.key)
                out.append({"type": otype, "attributes": attrs, "value": kv.value.decode("utf-8", "replace")})
            return out

    @evaluate
    def get_by_partial_key_page(
        self, ctx: Context, object_type: str, attributes: list[str], page_size: int, bookmark: str = ""
    ) -> dict[str, Any]:
        it, meta = ctx.stub.get_state_by_partial_composite_key_with_pagination(
            object_type, attributes, page_size, bookmark
        )
        with it:
            attrs = [ctx.stub.split_composite_key(kv.key)[1] for kv in it]
        return {"attributes": attrs, "fetched": meta.fetched_records_count, "bookmark": meta.bookmark}

    # --- private data -------------------------------------------------------------------
    @submit
    def put_private(self, ctx: Context, collection: str, key: str) -> str:
        """The value comes from the transient field ``value`` so it never lands in the transaction."""
        value = ctx.stub.get_transient().get("value")
        if value is None:
            raise ContractError("transient field 'value' is required", status=400)
        ctx.stub.put_private_data(collection, key, value)

        return hashlib.sha256(value).hexdigest()

    @evaluate
    def get_private(self, ctx: Context, collection: str, key: str) -> str:
        value = ctx.stub.get_private_data(collection, key)
        if value is None:
            raise ContractError(f"private key {key} not found in {collection}", status=404)
        return value.decode("utf-8", "replace")

    @evaluate
    def get_private_hash(self, ctx: Context, collection: str, key: str) -> str:
        digest = ctx.stub.get_private_data_hash(collection, key)
        if digest is None:
            raise ContractError(f"private key {key} not found in {collection}", status=404)
        return digest.hex()

    @submit
    def delete_private(self, ctx: Context, collection: str, key: str) -> None:
        ctx.stub.del_private_data(collection, key)

    @submit
    def purge_private(self, ctx: Context, collection: str, key: str) -> None:
        ctx.stub.purge_private_data(collection, key)

    @evaluate
    def get_private_range(
        self, ctx: Context, collection: str, start_key: str, end_key: str
    ) -> list[dict[str, str]]:
        return _rows(ctx.stub.get_private_data_by_range(collection, start_key, end_key))

    @evaluate
    def get_private_by_partial_key(
        self, ctx: Context, collection: str, object_type: str, attributes: list[str]
    ) -> list[dict[str, str]]:
        return _rows(ctx.stub.get_private_data_by_partial_composite_key(collection, object_type, attributes))

    # --- key-level endorsement ----------------------------------------------------------
    @submit
    def set_key_endorsers(self, ctx: Context, key: str, msp_ids: list[str]) -> list[str]:
        policy = KeyEndorsementPolicy()
        policy.add_orgs("PEER", *msp_ids)
        ctx.stub.set_state_validation_parameter(key, policy.policy())
        return policy.list_orgs()

    @submit
    def clear_key_endorsers(self, ctx: Context, key: str) -> None:
        ctx.stub.set_state_validation_parameter(key, b"")

    @evaluate
    def get_key_endorsers(self, ctx: Context, key: str) -> list[str]:
        return KeyEndorsementPolicy(ctx.stub.get_state_validation_parameter(key)).list_orgs()

    @submit
    def set_private_key_endorsers(
        self, ctx: Context, collection: str, key: str, msp_ids: list[str]
    ) -> list[str]:
        policy = KeyEndorsementPolicy()
        policy.add_orgs("PEER", *msp_ids)
        ctx.stub.set_private_data_validation_parameter(collection, key, policy.policy())
        return policy.list_orgs()

    @evaluate
    def get_private_key_endorsers(self, ctx: Context, collection: str, key: str) -> list[str]:
        return KeyEndorsementPolicy(
            ctx.stub.get_private_data_validation_parameter(collection, key)
        ).list_orgs()

    # --- other chaincodes, events, identity ---------------------------------------------
    @submit
    def invoke_other(
        self, ctx: Context, chaincode: str, args: list[str], channel: str = ""
    ) -> dict[str, Any]:
        resp = ctx.stub.invoke_chaincode(chaincode, [a.encode("utf-8") for a in args], channel)
        return {
            "status": resp.status,
            "message": resp.message,
            "payload": resp.payload.decode("utf-8", "replace"),
        }

    @submit
    def emit(self, ctx: Context, name: str, payload: str) -> None:
        ctx.stub.set_event(name, payload.encode("utf-8"))

    @submit
    def put_and_emit(self, ctx: Context, key: str, value: str, event_name: str) -> None:
        ctx.stub.put_state(key, value.encode("utf-8"))
        ctx.stub.set_event(event_name, value.encode("utf-8"))

    @evaluate
    def whoami(self, ctx: Context) -> dict[str, Any]:
        ident = ctx.client_identity
        return {
            "msp_id": ident.get_msp_id(),
            "id": ident.get_id(),
            "attrs": ident.get_attributes(),
            "role": ident.get_attribute_value("role"),
            "tx_id": ctx.tx_id,
            "channel_id": ctx.channel_id,
            "timestamp": ctx.tx_timestamp.isoformat(),
            "transient_keys": sorted(ctx.stub.get_transient()),
            "binding": ctx.stub.get_binding().hex(),
            "has_signed_proposal": ctx.stub.get_signed_proposal() is not None,
            "args": ctx.stub.get_string_args(),
        }

    @submit
    def fail_after_write(self, ctx: Context, key: str, status: int, message: str) -> None:
        """Writes, then refuses: the write must never reach the ledger."""
        ctx.stub.put_state(key, b"should-not-commit")
        raise ContractError(message, status=status)

    @submit
    def crash(self, ctx: Context, message: str) -> None:
        raise RuntimeError(message)


def _add_snake_case_aliases(cls: type[TestContract]) -> None:
    """Register every transaction a second time under its method name (``put_many`` next to ``PutMany``)."""
    specs = {a: getattr(getattr(cls, a), TX_ATTR) for a in dir(cls) if hasattr(getattr(cls, a), TX_ATTR)}
    taken = {spec.name or to_pascal_case(a) for a, spec in specs.items()}
    for attr in list(vars(cls)):
        fn = vars(cls)[attr]
        spec = getattr(fn, TX_ATTR, None)
        if spec is None or attr in taken or attr == "get_or_empty":
            continue
        alias = functools.wraps(fn)(lambda self, *a, _fn=fn: _fn(self, *a))
        alias.__dict__.pop(TX_ATTR, None)
        deco = submit if spec.kind == "submit" else evaluate
        setattr(cls, f"_alias_{attr}", deco(name=attr)(alias))


_add_snake_case_aliases(TestContract)
