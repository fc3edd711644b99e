"""The contract API: naming, routing, argument parsing, result encoding, errors, hooks, metadata."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, Field

from chaincode.runtime.contract import (
    Context,
    Contract,
    ContractError,
    NotFoundError,
    evaluate,
    submit,
    to_pascal_case,
)
from chaincode.runtime.dispatch import ContractRouter, encode_result
from chaincode.runtime.inprocess import InProcessHost
from chaincode.runtime.testing import MemoryLedger, make_identity


class Spec(BaseModel):
    vin: str = Field(min_length=17, max_length=17)
    price: Decimal
    tags: list[str] = []


class Vehicles(Contract):
    name = "vehicles"
    info = {"version": "1.2"}  # noqa: RUF012 (metadata only)

    def before_transaction(self, ctx: Context) -> None:
        if ctx.stub.get_transient().get("deny"):
            raise ContractError("denied by before_transaction", status=403)

    def after_transaction(self, ctx: Context, result: Any) -> None:
        ctx.stub.set_event("After", json.dumps({"fn": ctx.stub.get_function_and_parameters()[0]}).encode())

    def unknown_transaction(self, ctx: Context) -> str:
        return "fallback:" + ctx.stub.get_function_and_parameters()[0]

    @submit
    def register_vehicle(self, ctx: Context, plate: str, year: int, spec: Spec) -> Spec:
        ctx.stub.put_state(spec.vin, spec.model_dump_json().encode())
        return spec

    @evaluate(name="ReadRaw")
    def read_raw(self, ctx: Context, vin: str) -> bytes:
        value = ctx.stub.get_state(vin)
        if value is None:
            raise NotFoundError(f"vehicle {vin} not found")
        return value

    @evaluate
    def echo(self, ctx: Context, flag: bool, amount: Decimal, note: str = "none") -> dict[str, Any]:
        return {"z": note, "a": amount, "flag": flag}

    @evaluate
    def nothing(self, ctx: Context) -> None:
        return None

    @evaluate
    def positional_error(self, ctx: Context) -> None:
        raise ContractError(409, "positional form")


class Second(Contract):
    @evaluate
    def hello(self, ctx: Context, who: str) -> str:
        return f"hello {who}"


VIN = "LSVAU2180N2183294"


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger(InProcessHost([Vehicles, Second], name="cc"))


def test_names_and_routing(ledger: MemoryLedger) -> None:
    assert to_pascal_case("register_vehicle") == "RegisterVehicle"
    assert to_pascal_case("ReadRaw") == "ReadRaw"
    router = ledger.host.router
    assert router.default_contract == "vehicles"
    assert set(router.transactions()) == {"RegisterVehicle", "ReadRaw", "Echo", "Nothing", "PositionalError"}
    me = make_identity("BankAMSP", "u", {})
    assert ledger.invoke(me, "Second:Hello", "you").response.payload == b"hello you"
    assert ledger.invoke(me, "vehicles:Nothing").response.status == 200
    missing = ledger.invoke(me, "Nope:Hello", "x").response
    assert (missing.status, missing.message) == (400, "contract 'Nope' not found")


def test_arguments_are_parsed_and_validated(ledger: MemoryLedger) -> None:
    me = make_identity("BankAMSP", "u", {})
    spec = json.dumps({"vin": VIN, "price": "12000.50", "tags": ["a"]})
    res = ledger.invoke(me, "RegisterVehicle", "京A12345", "2022", spec)
    assert res.response.status == 200
    assert json.loads(res.response.payload) == {"price": "12000.50", "tags": ["a"], "vin": VIN}
    bad = ledger.invoke(me, "RegisterVehicle", "p", "2022", json.dumps({"vin": "short", "price": "x"}))
    assert bad.response.status == 400
    assert bad.response.message.startswith(
        "invalid argument 'spec': field 'vin': String should have at least 17"
    )
    assert "field 'price'" in bad.response.message
    assert bad.rwsets == {}
    year = ledger.invoke(me, "RegisterVehicle", "p", "twenty", spec).response
    assert year.status == 400 and year.message.startswith("invalid argument 'year'")
    count = ledger.invoke(me, "Echo").response
    assert (count.status, count.message) == (
        400,
        "function 'Echo' expects 2 to 3 argument(s) (flag, amount, note), got 0",
    )
    ok = ledger.invoke(me, "Echo", "true", "1.10").response
    assert ok.payload == b'{"a":"1.10","flag":true,"z":"none"}'  # sorted keys, compact, Decimal exact
    big = ledger.invoke(me, "Echo", "false", "12345678901234567.89", '"n"').response
    assert json.loads(big.payload)["a"] == "12345678901234567.89"  # JSON numbers never pass through float
    price = ledger.invoke(
        me, "RegisterVehicle", "p", "2022", json.dumps({"vin": VIN, "price": 0}).replace("0}", "0.10}")
    )
    assert json.loads(price.response.payload)["price"] == "0.10"
    garbage = ledger.invoke(me, "Echo", "{not json", "1").response
    assert garbage.status == 400 and garbage.message.startswith("invalid argument 'flag': not valid JSON")


def test_results_errors_and_hooks(ledger: MemoryLedger) -> None:
    me = make_identity("BankAMSP", "u", {})
    spec = json.dumps({"vin": VIN, "price": 1})
    reg = ledger.invoke(me, "RegisterVehicle", "p", "2020", spec)
    assert reg.event is not None and reg.event.name == "After"
    raw = ledger.invoke(me, "ReadRaw", VIN).response
    assert json.loads(raw.payload)["vin"] == VIN
    nf = ledger.invoke(me, "ReadRaw", "X" * 17).response
    assert (nf.status, nf.message) == (404, f"vehicle {'X' * 17} not found")
    assert ledger.invoke(me, "Nothing").response.payload == b""
    pos = ledger.invoke(me, "PositionalError").response
    assert (pos.status, pos.message) == (409, "positional form")
    denied = ledger.invoke(me, "RegisterVehicle", "p", "2020", spec, transient={"deny": b"1"})
    assert (denied.response.status, denied.response.message) == (403, "denied by before_transaction")
    fallback = ledger.invoke(me, "Whatever", "a").response
    assert (fallback.status, fallback.payload) == (200, b"fallback:Whatever")
    assert ledger.invoke(me, "").response.payload == b"fallback:"  # the unknown-transaction hook decides


def test_encode_result_forms() -> None:
    assert encode_result(None) == b""
    assert encode_result("文字") == "文字".encode()
    assert encode_result(b"\x00\x01") == b"\x00\x01"
    assert encode_result({"b": 1, "a": [Decimal("1.50"), None]}) == b'{"a":["1.50",null],"b":1}'


def test_contract_error_validation() -> None:
    assert ContractError("x").status == 500
    with pytest.raises(ValueError):
        ContractError("x", status=200)
    with pytest.raises(TypeError):
        ContractError("x", status="bad")  # type: ignore[arg-type]


def test_duplicate_names_are_refused() -> None:
    class Twice(Contract):
        @submit(name="Do")
        def a(self, ctx: Context) -> None: ...

        @submit(name="Do")
        def b(self, ctx: Context) -> None: ...

    with pytest.raises(ValueError, match="twice"):
        ContractRouter([Twice])
    with pytest.raises(ValueError, match="twice or reserved"):
        ContractRouter([Second, Second])


def test_metadata(ledger: MemoryLedger) -> None:
    me = make_identity("BankAMSP", "u", {})
    meta = json.loads(ledger.invoke(me, "org.hyperledger.fabric:GetMetadata").response.payload)
    vehicles = meta["contracts"]["vehicles"]
    assert vehicles["default"] is True and vehicles["info"]["version"] == "1.2"
    txs = {t["name"]: t for t in vehicles["transactions"]}
    assert txs["RegisterVehicle"]["tag"] == ["submit"] and txs["ReadRaw"]["tag"] == ["evaluate"]
    params = {p["name"]: p for p in txs["RegisterVehicle"]["parameters"]}
    assert params["plate"]["schema"] == {"type": "string"}
    assert params["year"]["schema"] == {"type": "integer"}
    assert params["spec"]["schema"]["properties"]["vin"]["maxLength"] == 17
    assert [p["required"] for p in txs["Echo"]["parameters"]] == [True, True, False]
    assert meta["contracts"]["Second"]["default"] is False
