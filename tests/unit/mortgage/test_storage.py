"""Storage shape of the mortgage contract: unique keys instead of range scans in write transactions,
several reads in one request, the same results on a Fabric 2.5 peer (plain messages) and a 3.1 peer
(GET_STATE_MULTIPLE, WRITE_BATCH_STATE)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fabric_protos.peer import chaincode_pb2

from chaincode.mortgage import store as s
from chaincode.mortgage.contract import MortgageContract
from chaincode.runtime.fakepeer import FakePeer
from chaincode.runtime.server import ChaincodeServer
from chaincode.runtime.testing import MemoryLedger, collections_from_config
from chaincode.runtime.testing import _Entry as Entry

from .chain import COLLECTIONS, NS, Chain, _arg, identity, owner, vin

PACKAGE_ID = "mortgage_1:" + "12" * 32
BATCHING = chaincode_pb2.ChaincodeAdditionalParams(
    use_write_batch=True, max_size_write_batch=100, use_get_multiple_keys=True, max_size_get_multiple_keys=100
)


def key(object_type: str, *attrs: str) -> str:
    return "\x00" + "\x00".join([object_type, *attrs]) + "\x00"


def vehicle_args(v: str, plate: str) -> dict[str, object]:
    return {
        "vin": v,
        "plate": plate,
        "make": "Honda",
        "model": "Civic",
        "trim": "EX",
        "year": 2024,
        "configuration": {"engine": "1.5T"},
        "registration_date": "2025-12-01",
    }


def test_registration_checks_the_plate_with_a_key_read_not_a_range() -> None:
    chain = Chain()
    v = vin(1)
    transient, _ = owner("one")
    result = chain.run("ta", "RegisterVehicle", vehicle_args(v, "P-0001"), transient=transient)
    assert result.ok, result.response.message
    assert result.rwset.range_reads == []  # no phantom re-check at validation
    assert set(result.rwset.reads) == {key(s.VEHICLE, v), key(s.UNQ_PLATE, "P-0001")}
    assert result.rwset.writes[key(s.UNQ_PLATE, "P-0001")] == v.encode()
    chain.ledger.commit(result)
    assert chain.ok("ta", "GetVehicleByPlate", "P-0001")["vin"] == v


def test_a_taken_plate_is_refused_and_nothing_is_written() -> None:
    chain = Chain()
    first = chain.register(vin(1), plate="P-0002")
    message = chain.fail(
        "ta", "RegisterVehicle", vehicle_args(vin(2), "P-0002"), status=409, transient=owner("x")[0]
    )
    assert f"plate P-0002 is already used by vehicle {first['vin']}" in message
    assert chain.ok("ta", "GetVehicleByPlate", "P-0002")["vin"] == first["vin"]


def test_no_main_write_transaction_runs_a_range_query() -> None:
    chain = Chain()
    v = vin(3)
    chain.register(v, plate="P-0003")
    chain.value(v, "200000")
    chain.request_lien("bank_a", "L-1", v)
    results = [chain.run("ta", "RecordLien", "L-1")]
    chain.ledger.commit(results[-1])
    consent = chain.document("bank_a", "lienholder_consent", v)
    transient, new_hash = owner("new owner")
    results.append(
        chain.run(
            "ta",
            "TransferTitle",
            v,
            {"new_owner_hash": new_hash, "reason": "sale", "lienholder_consent_document_id": consent},
            transient=transient,
        )
    )
    for r in results:
        assert r.ok, r.response.message
        assert r.rwset.range_reads == [], r.response.message


def test_vehicles_registered_before_unique_plate_keys_are_still_found_by_plate() -> None:
    chain = Chain()
    v = vin(4)
    chain.register(v, plate="P-0004")
    # a ledger written by the previous version: the plate only in the IDX_PLATE range index
    unique = chain.ledger.state.pop((NS, key(s.UNQ_PLATE, "P-0004")))
    chain.ledger.state[(NS, key(s.IDX_PLATE, "P-0004", v))] = replace(unique, value=b"\x00")
    assert chain.ok("ta", "GetVehicleByPlate", "P-0004")["vin"] == v
    assert isinstance(unique, Entry)


# --- over the wire: the same transaction on a 2.5-style and a 3.1-style peer ----------------------
@pytest.fixture(scope="module")
def server() -> Iterator[ChaincodeServer]:
    srv = ChaincodeServer(PACKAGE_ID, "127.0.0.1:0", [MortgageContract])
    srv.start()
    yield srv
    srv.stop(grace=1)


def _ledger() -> MemoryLedger:
    return MemoryLedger.for_contracts(
        MortgageContract, name=NS, collections=collections_from_config(json.loads(COLLECTIONS.read_text()))
    )


def test_registration_is_two_requests_on_a_batching_peer(server: ChaincodeServer) -> None:
    ta = identity("ta")
    transient, _ = owner("wire")
    args = _arg(vehicle_args(vin(5), "P-0005"))
    with (
        FakePeer(f"127.0.0.1:{server.port}", _ledger(), channel_id="vehicles", features=BATCHING) as batched,
        FakePeer(f"127.0.0.1:{server.port}", _ledger(), channel_id="vehicles") as plain,
    ):
        b = batched.invoke(ta, "RegisterVehicle", args, transient=transient)
        p = plain.invoke(ta, "RegisterVehicle", args, transient=transient)
        assert b.response.status == p.response.status == 200, (b.response.message, p.response.message)
        assert b.requests == ["GET_STATE_MULTIPLE", "WRITE_BATCH_STATE"]
        assert (
            p.requests == ["GET_STATE", "GET_STATE"] + ["PUT_STATE"] * 6
        )  # vehicle, plate, 3 indexes, owner (private)
        assert b.simulation is not None and p.simulation is not None
        rb, rp = b.simulation.rwset, p.simulation.rwset  # values carry each peer's own timestamp
        assert rb.reads == rp.reads and rb.range_reads == rp.range_reads == []
        assert set(rb.writes) == set(rp.writes) and set(rb.private_writes) == set(rp.private_writes)
        assert b.event is not None and p.event is not None and b.event.name == p.event.name
        again = batched.invoke(
            ta, "RegisterVehicle", _arg(vehicle_args(vin(6), "P-0005")), transient=transient
        )
        assert again.response.status == 409 and again.requests == ["GET_STATE_MULTIPLE"]


def test_the_passport_reads_its_records_in_one_request(server: ChaincodeServer) -> None:
    ta, bank = identity("ta"), identity("bank_a")
    v = vin(7)
    transient, _ = owner("passport")
    valuation = {
        "valuation_id": "VAL-7",
        "vin": v,
        "value": "100000",
        "currency": "CNY",
        "interval_low": "90000",
        "interval_high": "110000",
        "coverage": "0.9",
        "model_id": "m",
        "model_version": "1",
        "inputs_hash": "ab" * 32,
        "valuer": "svc",
    }
    with FakePeer(f"127.0.0.1:{server.port}", _ledger(), channel_id="vehicles", features=BATCHING) as fp:
        assert (
            fp.invoke(
                ta, "RegisterVehicle", _arg(vehicle_args(v, "P-0007")), transient=transient
            ).response.status
            == 200
        )
        model = {"model_id": "m", "model_version": "1", "model_card_sha256": "cd" * 32}
        registered = fp.invoke(identity("bank_a_model_admin"), "RegisterModelVersion", _arg(model))
        assert registered.response.status == 200, registered.response.message
        assert fp.invoke(ta, "RecordValuation", _arg(valuation)).response.status == 200
        r = fp.invoke(bank, "GetVehicleStatus", v)
        assert r.response.status == 200, r.response.message
        # vehicle, odometer, valuation pointer, QR pointer and config at once; policies; the valuation
        assert r.requests == ["GET_STATE_MULTIPLE", "GET_STATE_BY_RANGE", "GET_STATE"]
        passport = json.loads(r.response.payload)
        assert passport["latest_valuation"]["value"] == "100000" and passport["plate"] == "P-0007"


def test_prefetched_records_are_not_read_twice() -> None:
    class CountingStub:
        def __init__(self) -> None:
            self.calls: list[object] = []

        def create_composite_key(self, object_type: str, attrs: list[str]) -> str:
            return key(object_type, *attrs)

        def get_multiple_states(self, keys: list[str]) -> list[bytes | None]:
            self.calls.append(("multi", tuple(keys)))
            return [b'{"valuation_id":"x"}' if "VALLATEST" in k else None for k in keys]

        def get_state(self, k: str) -> bytes | None:
            self.calls.append(("get", k))
            return None

    stub = CountingStub()
    st = s.Store(stub)  # type: ignore[arg-type]
    st.prefetch((s.VALLATEST, "V1"), (s.CONFIG,))
    assert st.get_raw(s.VALLATEST, "V1") == b'{"valuation_id":"x"}'
    assert st.get_raw(s.CONFIG) is None and not st.exists(s.CONFIG)
    assert st.get_raw(s.ODO, "V1") is None
    assert stub.calls == [("multi", (key(s.VALLATEST, "V1"), key(s.CONFIG))), ("get", key(s.ODO, "V1"))]
