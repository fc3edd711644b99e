"""Fabric 3.1's write batches (WRITE_BATCH_STATE) and multi-key reads (GET_STATE_MULTIPLE) over the wire.

A Fabric 3.x peer offers them in READY (ChaincodeAdditionalParams); a 2.5 peer sends an empty READY and
the stub keeps to one message per read and per write. Both must give the same results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2

from chaincode.runtime.fakepeer import FakePeer
from chaincode.runtime.handler import PeerFeatures
from chaincode.runtime.inprocess import InProcessHost
from chaincode.runtime.server import ChaincodeServer
from chaincode.runtime.testing import MemoryLedger, TestIdentity, collections_from_config, make_identity
from chaincode.testcc.contract import TestContract

ROOT = Path(__file__).parents[3]
COLLECTIONS = collections_from_config(
    json.loads((ROOT / "chaincode/testcc/collections_config.json").read_text())
)
PACKAGE_ID = "runtimetest_1:" + "ef" * 32
BATCHING = chaincode_pb2.ChaincodeAdditionalParams(
    use_write_batch=True, max_size_write_batch=100, use_get_multiple_keys=True, max_size_get_multiple_keys=100
)


def new_ledger() -> MemoryLedger:
    return MemoryLedger(InProcessHost([TestContract], name="runtimetest"), collections=COLLECTIONS)


@pytest.fixture(scope="module")
def officer() -> TestIdentity:
    return make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"})


@pytest.fixture(scope="module")
def insurer() -> TestIdentity:
    return make_identity("InsurerMSP", "underwriter1", {"role": "underwriter"})


@pytest.fixture(scope="module")
def server() -> Iterator[ChaincodeServer]:
    srv = ChaincodeServer(PACKAGE_ID, "127.0.0.1:0", [TestContract])
    srv.start()
    yield srv
    srv.stop(grace=1)


@pytest.fixture
def batching(server: ChaincodeServer) -> Iterator[FakePeer]:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger(), features=BATCHING) as fp:
        fp.wait_ready()
        yield fp


@pytest.fixture
def plain(server: ChaincodeServer) -> Iterator[FakePeer]:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        fp.wait_ready()
        yield fp


def test_ready_payload_is_read_with_the_go_shims_floors() -> None:
    f = PeerFeatures(
        chaincode_pb2.ChaincodeAdditionalParams(
            use_write_batch=True, max_size_write_batch=5
        ).SerializeToString()
    )
    assert (f.write_batch, f.max_write_batch, f.get_multiple, f.max_get_multiple) == (True, 100, False, 0)
    assert not PeerFeatures(b"").write_batch
    assert not PeerFeatures(b"\xff\xff not a message").write_batch  # unreadable: no extras, as the Go shim


def test_writes_go_in_one_batch_when_the_peer_offers_it(
    batching: FakePeer, plain: FakePeer, officer: TestIdentity
) -> None:
    b = batching.invoke(officer, "PutMany", "k", "5")
    p = plain.invoke(officer, "PutMany", "k", "5")
    assert b.requests == ["WRITE_BATCH_STATE"]
    assert p.requests == ["PUT_STATE"] * 5
    assert b.response == p.response
    assert {k: e.value for k, e in batching.ledger.state.items()} == {
        k: e.value for k, e in plain.ledger.state.items()
    }
    assert batching.ledger.state[("runtimetest", "k0004")].value == b"v4"


def test_large_batches_are_split_at_the_peers_limit(batching: FakePeer, officer: TestIdentity) -> None:
    r = batching.invoke(officer, "PutMany", "big", "250")
    assert r.response.status == 200
    assert r.requests == ["WRITE_BATCH_STATE"] * 3  # 100 + 100 + 50
    assert len([k for _, k in batching.ledger.state if k.startswith("big")]) == 250


def test_multi_key_reads_in_one_request(batching: FakePeer, plain: FakePeer, officer: TestIdentity) -> None:
    for fp in (batching, plain):
        fp.invoke(officer, "Put", "a", "1")
        fp.invoke(officer, "Put", "c", "3")
    b = batching.invoke(officer, "GetMultiple", '["a","b","c"]')
    p = plain.invoke(officer, "GetMultiple", '["a","b","c"]')
    assert b.requests == ["GET_STATE_MULTIPLE"]
    assert p.requests == ["GET_STATE"] * 3
    assert json.loads(b.response.payload) == json.loads(p.response.payload) == ["1", None, "3"]
    assert b.simulation is not None and p.simulation is not None
    assert b.simulation.rwsets == p.simulation.rwsets  # the same read set either way


def test_a_failed_transaction_sends_no_batch(batching: FakePeer, officer: TestIdentity) -> None:
    r = batching.invoke(officer, "FailAfterWrite", "f", "409", "taken")
    assert r.response.status == 409 and r.requests == []
    assert ("runtimetest", "f") not in batching.ledger.state


def test_a_refused_batch_fails_the_transaction(batching: FakePeer, officer: TestIdentity) -> None:
    batching.fail_requests["WRITE_BATCH_STATE"] = "collection not writable"
    r = batching.invoke(officer, "Put", "x", "1")
    assert r.response.status == 500 and "collection not writable" in r.response.message
    assert ("runtimetest", "x") not in batching.ledger.state
    batching.fail_requests.clear()
    assert batching.invoke(officer, "Put", "x", "1").response.status == 200


def test_own_writes_stay_invisible_batched_or_not(
    batching: FakePeer, plain: FakePeer, officer: TestIdentity
) -> None:
    for fp in (batching, plain):
        fp.invoke(officer, "Put", "w", "old")
        assert fp.invoke(officer, "PutThenRead", "w", "new").response.payload == b"old"
        assert fp.ledger.state[("runtimetest", "w")].value == b"new"


def test_batched_and_plain_agree_on_a_whole_script(
    server: ChaincodeServer, officer: TestIdentity, insurer: TestIdentity
) -> None:
    """Private data, metadata (key-level endorsement), deletes, purges and events, through both paths."""
    script: list[tuple[TestIdentity, str, tuple[str, ...], dict[str, bytes] | None]] = [
        (officer, "Put", ("a", "1"), None),
        (officer, "PutMany", ("r", "7"), None),
        (officer, "Increment", ("a",), None),
        (officer, "PutComposite", ("lien", '["V","1"]', "x"), None),
        (officer, "PutPrivate", ("taBankA", "o"), {"value": b"secret"}),
        (officer, "GetPrivate", ("taBankA", "o"), None),
        (officer, "SetKeyEndorsers", ("a", '["BankAMSP"]'), None),
        (officer, "GetKeyEndorsers", ("a",), None),
        (officer, "PutAndEmit", ("e", "p", "Ev"), None),
        (officer, "FailAfterWrite", ("f", "403", "no"), None),
        (officer, "DeletePrivate", ("taBankA", "o"), None),
        (officer, "Delete", ("a",), None),
        (officer, "GetMultiple", ('["r0000","a","e"]',), None),
    ]
    with (
        FakePeer(f"127.0.0.1:{server.port}", new_ledger(), features=BATCHING) as b,
        FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as p,
    ):
        for ident, fn, args, transient in script:
            rb = b.invoke(ident, fn, *args, transient=transient)
            rp = p.invoke(ident, fn, *args, transient=transient)
            assert rb.response == rp.response, fn
            assert rb.event == rp.event, fn
            assert rb.simulation is not None and rp.simulation is not None
            assert rb.simulation.rwsets == rp.simulation.rwsets, fn
            assert len(rb.requests) <= len(rp.requests), fn
        assert {k: e.value for k, e in b.ledger.state.items()} == {
            k: e.value for k, e in p.ledger.state.items()
        }
