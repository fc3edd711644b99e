"""The in-process host with TestContract on the in-memory ledger: every stub call, Fabric's rules."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from chaincode.runtime.contract import Context, submit
from chaincode.runtime.inprocess import InProcessHost, SimulationResult
from chaincode.runtime.policy import KeyEndorsementPolicy
from chaincode.runtime.testing import MemoryLedger, TestIdentity, collections_from_config, make_identity
from chaincode.testcc.contract import TestContract

COLLECTIONS = json.loads((Path(__file__).parents[3] / "chaincode/testcc/collections_config.json").read_text())


@pytest.fixture(scope="module")
def officer() -> TestIdentity:
    return make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"})


@pytest.fixture(scope="module")
def insurer() -> TestIdentity:
    return make_identity("InsurerMSP", "underwriter1", {"role": "underwriter"})


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger(
        InProcessHost([TestContract], name="runtimetest"), collections=collections_from_config(COLLECTIONS)
    )


def ok(result: SimulationResult) -> bytes:
    assert result.ok, result.response
    return result.response.payload


def test_put_get_delete_and_history(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "Put", "k1", "v1"))
    assert ok(ledger.invoke(officer, "Get", "k1")) == b"v1"
    put2 = ledger.invoke(officer, "Put", "k1", "v2")
    dele = ledger.invoke(officer, "Delete", "k1")
    assert ledger.invoke(officer, "Get", "k1").response.status == 404
    hist = json.loads(ok(ledger.invoke(officer, "History", "k1")))
    assert [h["value"] for h in hist] == ["", "v2", "v1"]  # newest first
    assert hist[0]["is_delete"] and hist[0]["tx_id"] == dele.tx_id and hist[1]["tx_id"] == put2.tx_id


def test_reads_see_committed_state_not_own_writes(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "Put", "c", "5"))
    res = ledger.simulate(officer, "Increment", "c")
    assert ok(res) == b"6"
    assert res.reads == {"c": (1, 0)} and res.writes == {"c": b"6"}
    # two increments simulated on the same snapshot: the second is an MVCC conflict
    a = ledger.simulate(officer, "Increment", "c")
    b = ledger.simulate(officer, "Increment", "c")
    assert ledger.commit(a) == "VALID"
    assert ledger.commit(b) == "MVCC_READ_CONFLICT"
    assert ok(ledger.invoke(officer, "Get", "c")) == b"6"


def test_empty_value_is_a_delete(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "Put", "e", "x"))
    res = ledger.invoke(officer, "Put", "e", "")
    assert res.deletes == ["e"]
    assert ledger.invoke(officer, "Get", "e").response.status == 404


def test_range_pagination_and_phantoms(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "PutMany", "r", "25"))
    rows = json.loads(ok(ledger.invoke(officer, "GetRange", "r0005", "r0010")))
    assert [r["key"] for r in rows] == ["r0005", "r0006", "r0007", "r0008", "r0009"]
    keys: list[str] = []
    bookmark = ""
    pages = 0
    while True:
        page = json.loads(ok(ledger.invoke(officer, "GetRangePage", "r", "s", "10", bookmark)))
        keys += [r["key"] for r in page["results"]]
        assert page["fetched"] == len(page["results"])
        pages += 1
        bookmark = page["bookmark"]
        if not bookmark:
            break
    assert pages == 3 and keys == [f"r{i:04d}" for i in range(25)]
    # a range read in a submit is recorded and a new key inside it is a phantom
    count = ledger.simulate(officer, "CountRange", "r", "s")
    assert ok(count) == b"25"
    assert count.range_reads[0].itr_exhausted and len(count.range_reads[0].reads) == 25
    ok(ledger.invoke(officer, "Put", "r9999", "new"))
    assert ledger.commit(count) == "PHANTOM_READ_CONFLICT"


def test_paginated_query_in_a_writing_tx_is_refused(ledger: MemoryLedger, officer: TestIdentity) -> None:
    class WritesThenPages(TestContract):
        name = "W"

        @submit
        def write_then_page(self, ctx: Context) -> None:
            ctx.stub.put_state("a", b"1")
            ctx.stub.get_state_by_range_with_pagination("", "", 5)

    host = InProcessHost([WritesThenPages], name="w")
    led = MemoryLedger(host)
    res = led.invoke(officer, "WriteThenPage")
    assert res.response.status == 500
    assert "Paginated queries are supported only in a read-only transaction" in res.response.message
    assert res.rwsets == {}


def test_composite_keys(ledger: MemoryLedger, officer: TestIdentity) -> None:
    key = ok(ledger.invoke(officer, "PutComposite", "lien", '["VIN1","001"]', "a")).decode()
    assert key == "\x00lien\x00VIN1\x00001\x00"
    ok(ledger.invoke(officer, "PutComposite", "lien", '["VIN1","002"]', "b"))
    ok(ledger.invoke(officer, "PutComposite", "lien", '["VIN2","001"]', "c"))
    ok(ledger.invoke(officer, "Put", "plain", "p"))
    rows = json.loads(ok(ledger.invoke(officer, "GetByPartialKey", "lien", '["VIN1"]')))
    assert rows == [
        {"type": "lien", "attributes": ["VIN1", "001"], "value": "a"},
        {"type": "lien", "attributes": ["VIN1", "002"], "value": "b"},
    ]
    # simple-key ranges never include composite keys
    assert [r["key"] for r in json.loads(ok(ledger.invoke(officer, "GetRange", "", "")))] == ["plain"]
    page = json.loads(ok(ledger.invoke(officer, "GetByPartialKeyPage", "lien", "[]", "2")))
    assert page["attributes"] == [["VIN1", "001"], ["VIN1", "002"]] and page["fetched"] == 2
    page2 = json.loads(ok(ledger.invoke(officer, "GetByPartialKeyPage", "lien", "[]", "2", page["bookmark"])))
    assert page2 == {"attributes": [["VIN2", "001"]], "fetched": 1, "bookmark": ""}
    bad = ledger.invoke(officer, "PutComposite", "lien", '["a\\u0000b"]', "x")
    assert bad.response.status == 500 and "not allowed" in bad.response.message


def test_private_data_with_transient_and_hash(
    ledger: MemoryLedger, officer: TestIdentity, insurer: TestIdentity
) -> None:
    res = ledger.invoke(officer, "PutPrivate", "taBankA", "owner1", transient={"value": b"Alice"})
    assert ok(res) == hashlib.sha256(b"Alice").hexdigest().encode()
    assert res.writes == {}  # nothing public besides the hashes
    hashes = res.rwset.private_write_hashes()["taBankA"]
    assert hashes == {hashlib.sha256(b"owner1").digest(): hashlib.sha256(b"Alice").digest()}
    assert ok(ledger.invoke(officer, "GetPrivate", "taBankA", "owner1")) == b"Alice"
    # a non-member reads the hash but not the value, and cannot write
    assert (
        ok(ledger.invoke(insurer, "GetPrivateHash", "taBankA", "owner1"))
        == hashlib.sha256(b"Alice").hexdigest().encode()
    )
    denied = ledger.invoke(insurer, "GetPrivate", "taBankA", "owner1")
    assert denied.response.status == 500 and "read access permission" in denied.response.message
    denied_w = ledger.invoke(insurer, "PutPrivate", "taBankA", "x", transient={"value": b"y"})
    assert "write access permission" in denied_w.response.message
    unknown = ledger.invoke(officer, "GetPrivate", "nope", "owner1")
    assert unknown.response.status == 500 and "GET_STATE failed" in unknown.response.message
    missing = ledger.invoke(officer, "PutPrivate", "taBankA", "x")
    assert missing.response.status == 400 and "transient" in missing.response.message
    ok(ledger.invoke(officer, "DeletePrivate", "taBankA", "owner1"))
    assert ledger.invoke(officer, "GetPrivate", "taBankA", "owner1").response.status == 404


def test_key_level_endorsement(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "Put", "car", "v"))
    res = ledger.invoke(officer, "SetKeyEndorsers", "car", '["BankAMSP","TrafficAuthorityMSP"]')
    assert list(res.metadata_writes) == ["car"]
    policy = KeyEndorsementPolicy(res.metadata_writes["car"]["VALIDATION_PARAMETER"])
    assert policy.list_orgs() == ["BankAMSP", "TrafficAuthorityMSP"]
    assert json.loads(ok(ledger.invoke(officer, "GetKeyEndorsers", "car"))) == [
        "BankAMSP",
        "TrafficAuthorityMSP",
    ]


def test_events_identity_and_errors_discard_state(ledger: MemoryLedger, officer: TestIdentity) -> None:
    res = ledger.invoke(officer, "PutAndEmit", "ev", "payload", "Changed")
    assert res.event is not None and (res.event.name, res.event.payload) == ("Changed", b"payload")
    assert ledger.events[-1] == (res.tx_id, res.event)
    who = json.loads(ok(ledger.invoke(officer, "Whoami")))
    assert who["msp_id"] == "TrafficAuthorityMSP" and who["role"] == "registrar"
    assert who["args"] == ["Whoami"] and who["channel_id"] == "vehicles"
    failed = ledger.invoke(officer, "FailAfterWrite", "zz", "409", "conflict!")
    assert (failed.response.status, failed.response.message) == (409, "conflict!")
    assert failed.rwsets == {} and failed.event is None
    assert ledger.invoke(officer, "Get", "zz").response.status == 404
    crashed = ledger.invoke(officer, "Crash", "boom")
    assert (crashed.response.status, crashed.response.message) == (500, "boom")


def test_invoke_other_chaincode(officer: TestIdentity) -> None:
    main = InProcessHost([TestContract], name="runtimetest")
    other = InProcessHost([TestContract], name="other")
    main.add_chaincode(other)
    led = MemoryLedger(main)
    res = led.invoke(officer, "InvokeOther", "other", '["Put","x","from-main"]')
    assert json.loads(ok(res))["status"] == 200
    assert res.rwsets["other"].writes == {"x": b"from-main"}
    assert led.state[("other", "x")].value == b"from-main"
    missing = led.invoke(officer, "InvokeOther", "ghost", '["Get","x"]')
    assert missing.response.status == 500 and "ghost" in missing.response.message


def test_rich_query_refused_like_leveldb(ledger: MemoryLedger, officer: TestIdentity) -> None:
    res = ledger.invoke(officer, "RichQuery", '{"selector":{}}')
    assert res.response.status == 500 and "not supported for leveldb" in res.response.message


def test_snake_case_aliases(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "put", "s", "1"))
    assert ok(ledger.invoke(officer, "get", "s")) == b"1"
    assert ok(ledger.invoke(officer, "get", "missing")) == b""  # unlike Get, which answers 404
    assert ledger.invoke(officer, "Get", "missing").response.status == 404
    assert ok(ledger.invoke(officer, "put_many", "q", "2")) == b"2"
    assert json.loads(ok(ledger.invoke(officer, "get_range", "q", "r")))[1]["key"] == "q0001"


def test_range_reads_recorded_as_the_peer_fetches(ledger: MemoryLedger, officer: TestIdentity) -> None:
    ok(ledger.invoke(officer, "PutMany", "x", "150"))
    first = ledger.simulate(officer, "FirstInRange", "x", "y")
    assert ok(first) == b"x0000"
    (rq,) = first.range_reads
    # the peer fetched one batch of 100 plus one looked-ahead key before the contract closed it
    assert (rq.start_key, rq.end_key, rq.itr_exhausted, len(rq.reads)) == ("x", "x0100", False, 101)
    full = ledger.simulate(officer, "CountRange", "x", "y")
    (rq_full,) = full.range_reads
    assert (rq_full.end_key, rq_full.itr_exhausted, len(rq_full.reads)) == ("y", True, 150)
    page = ledger.simulate(officer, "GetRangePage", "x", "y", "50", "x0100")
    (rq_page,) = page.range_reads
    assert (rq_page.start_key, rq_page.end_key, rq_page.itr_exhausted) == ("x0100", "x0149", False)
    assert json.loads(ok(page))["bookmark"] == ""
