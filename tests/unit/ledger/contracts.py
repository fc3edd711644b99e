"""A tiny contract for the ledger tests: counters, ranges, key-level policies, private data, events."""

from __future__ import annotations

import json

from chaincode.runtime.contract import (
    Context,
    Contract,
    ContractError,
    KeyEndorsementPolicy,
    evaluate,
    submit,
)


class LedgerTestContract(Contract):
    name = "ledgertest"

    @submit
    def put(self, ctx: Context, key: str, value: str) -> None:
        ctx.stub.put_state(key, value.encode())

    @evaluate
    def get(self, ctx: Context, key: str) -> str:
        value = ctx.stub.get_state(key)
        if value is None:
            raise ContractError(f"key {key} not found", status=404)
        return value.decode()

    @submit
    def increment(self, ctx: Context, key: str) -> int:
        current = int((ctx.stub.get_state(key) or b"0").decode())
        ctx.stub.put_state(key, str(current + 1).encode())
        return current + 1

    @submit
    def delete(self, ctx: Context, key: str) -> None:
        ctx.stub.del_state(key)

    @submit
    def count_range(self, ctx: Context, start: str, end: str, target: str) -> int:
        """Counts keys in [start, end) and stores the count: a range read that a phantom can break."""
        with ctx.stub.get_state_by_range(start, end) as it:
            count = sum(1 for _ in it)
        ctx.stub.put_state(target, str(count).encode())
        return count

    @submit
    def lock_to_orgs(self, ctx: Context, key: str, orgs: list[str]) -> None:
        policy = KeyEndorsementPolicy()
        policy.add_orgs("PEER", *orgs)
        ctx.stub.set_state_validation_parameter(key, policy.policy())

    @submit
    def lock_private_to_orgs(self, ctx: Context, collection: str, key: str, orgs: list[str]) -> None:
        policy = KeyEndorsementPolicy()
        policy.add_orgs("PEER", *orgs)
        ctx.stub.set_private_data_validation_parameter(collection, key, policy.policy())

    @submit
    def put_private(self, ctx: Context, collection: str, key: str) -> None:
        value = ctx.stub.get_transient().get("value")
        if value is None:
            raise ContractError("transient field 'value' is required", status=400)
        ctx.stub.put_private_data(collection, key, value)

    @evaluate
    def get_private(self, ctx: Context, collection: str, key: str) -> str:
        value = ctx.stub.get_private_data(collection, key)
        return "" if value is None else value.decode()

    @evaluate
    def get_private_hash(self, ctx: Context, collection: str, key: str) -> str:
        value = ctx.stub.get_private_data_hash(collection, key)
        return "" if value is None else value.hex()

    @submit
    def emit(self, ctx: Context, key: str, name: str) -> None:
        ctx.stub.put_state(key, name.encode())
        ctx.stub.set_event(name, json.dumps({"key": key}).encode())

    @submit
    def emit_and_call(self, ctx: Context, chaincode: str, key: str, value: str) -> str:
        """Writes here, calls Put on another chaincode (same channel), and sets one event."""
        ctx.stub.put_state(key, value.encode())
        response = ctx.stub.invoke_chaincode(chaincode, [b"Put", key.encode(), value.encode()])
        if response.status >= 400:
            raise ContractError(f"{chaincode} refused: {response.message}", status=response.status)
        ctx.stub.set_event("Called", key.encode())
        return chaincode

    @evaluate
    def history(self, ctx: Context, key: str) -> list[dict[str, object]]:
        with ctx.stub.get_history_for_key(key) as it:
            return [
                {
                    "tx_id": m.tx_id,
                    "value": m.value.decode(),
                    "is_delete": m.is_delete,
                    "timestamp": m.timestamp.isoformat(),
                }
                for m in it
            ]

    @evaluate
    def whoami(self, ctx: Context) -> dict[str, str | None]:
        ident = ctx.client_identity
        return {"msp": ident.get_msp_id(), "role": ident.get_attribute_value("role"), "id": ident.get_id()}
