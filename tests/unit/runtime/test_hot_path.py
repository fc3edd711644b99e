"""Transactions run on the stream's loop: replies in any order, a dropped stream, blocking functions,
lazy proposal decoding — over real gRPC with the fake peer."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fabric_protos.peer import chaincode_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim

from chaincode.runtime.fakepeer import FakePeer, build_signed_proposal
from chaincode.runtime.inprocess import InProcessHost
from chaincode.runtime.proposal import PeerTxFacts
from chaincode.runtime.server import ChaincodeServer
from chaincode.runtime.testing import MemoryLedger, TestIdentity, collections_from_config, make_identity
from chaincode.testcc.contract import TestContract

ROOT = Path(__file__).parents[3]
COLLECTIONS = collections_from_config(
    json.loads((ROOT / "chaincode/testcc/collections_config.json").read_text())
)
PACKAGE_ID = "runtimetest_1:" + "9a" * 32


def new_ledger() -> MemoryLedger:
    return MemoryLedger(InProcessHost([TestContract], name="runtimetest"), collections=COLLECTIONS)


@pytest.fixture(scope="module")
def officer() -> TestIdentity:
    return make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"})


@pytest.fixture(scope="module")
def server() -> Iterator[ChaincodeServer]:
    srv = ChaincodeServer(PACKAGE_ID, "127.0.0.1:0", [TestContract], blocking_threads=2)
    srv.start()
    yield srv
    srv.stop(grace=1)


def _until(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_replies_in_reverse_order_reach_their_transactions(
    server: ChaincodeServer, officer: TestIdentity
) -> None:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        for i in range(5):
            assert fp.invoke(officer, "Put", f"r{i}", f"value-{i}").response.status == 200
        fp.hold()
        futures = [fp.submit(officer, "Get", f"r{i}") for i in range(5)]
        _until(lambda: fp.held == 5)
        fp.release(reverse=True)
        assert [f.result(10).response.payload for f in futures] == [f"value-{i}".encode() for i in range(5)]


def test_a_dropped_stream_fails_its_transactions_and_a_new_stream_works(
    server: ChaincodeServer, officer: TestIdentity
) -> None:
    before = server.open_streams
    fp = FakePeer(f"127.0.0.1:{server.port}", new_ledger())
    fp.wait_ready()
    fp.hold()
    stuck = [fp.submit(officer, "Put", f"d{i}", "v") for i in range(10)]
    _until(lambda: fp.held == 10)
    assert server.open_streams == before + 1
    fp.close()  # the peer goes away with 10 transactions waiting for answers
    for f in stuck:
        with pytest.raises(ConnectionError):
            f.result(10)
    _until(lambda: server.open_streams == before)  # the server let go of the stream and its transactions
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as again:  # the peer reconnects
        again.wait_ready()
        assert again.invoke(officer, "Put", "d0", "v").response.status == 200


def test_a_blocking_function_runs_off_the_loop(server: ChaincodeServer, officer: TestIdentity) -> None:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        assert fp.invoke(officer, "Put", "slow", "answer").response.status == 200
        slow = fp.submit(officer, "SlowGet", "slow", "3")
        quick = [fp.invoke(officer, "Get", "slow") for _ in range(10)]  # not stalled by the blocked thread
        assert not slow.done()  # all ten answered while the blocking one still runs
        assert all(q.response.payload == b"answer" for q in quick)
        r = slow.result(10)
        assert r.response.status == 200 and r.response.payload == b"answer"
        assert r.requests == ["GET_STATE"]  # its stub request went through the loop from the thread


def test_the_signed_proposal_is_decoded_only_when_asked() -> None:
    creator = make_identity("BankAMSP", "loan1", {"role": "loan_officer"}).creator
    ts = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    args = [b"Get", b"k"]
    msg = shim.ChaincodeMessage(
        type=shim.ChaincodeMessage.TRANSACTION,
        txid="tx1",
        channel_id="vehicles",
        payload=chaincode_pb2.ChaincodeInput(args=args).SerializeToString(),
        proposal=build_signed_proposal("tx1", "vehicles", "cc", args, creator, ts, {"t": b"secret"}),
    )
    facts = PeerTxFacts(msg)
    assert list(facts.args) == args and facts._decoded is None  # nothing parsed yet
    assert facts.creator == creator and facts.timestamp == ts and facts.transient == {"t": b"secret"}
    assert facts._decoded is not None and len(facts.binding) == 32
    broken = shim.ChaincodeMessage()
    broken.CopyFrom(msg)
    broken.proposal.proposal_bytes = b"\xff not a proposal"
    lazy = PeerTxFacts(broken)  # the arguments still parse; the proposal fails on first use only
    assert list(lazy.args) == args
    with pytest.raises(Exception, match=r"(?i)proposal"):
        _ = lazy.creator


def test_invocations_are_not_logged_at_info(
    server: ChaincodeServer, officer: TestIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        for i in range(5):
            assert fp.invoke(officer, "Put", f"quiet{i}", "v").response.status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "invoke" in r.getMessage()]


def test_a_request_the_peer_never_answers_fails_its_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from fabric_protos.peer import proposal_response_pb2

    from chaincode.runtime import handler as handler_module
    from chaincode.runtime.dispatch import ContractRouter

    monkeypatch.setattr(handler_module, "SWEEP_SECONDS", 0.05)
    Msg = shim.ChaincodeMessage
    written: list[shim.ChaincodeMessage] = []

    async def write(m: shim.ChaincodeMessage) -> None:
        written.append(m)

    async def scenario() -> None:
        h = handler_module.Handler(
            ContractRouter([TestContract]),
            PACKAGE_ID,
            write=write,
            loop=asyncio.get_running_loop(),
            request_timeout=0.2,
        )
        await h.start()
        for t in (Msg.REGISTERED, Msg.READY):
            await h.on_message(Msg(type=t))
        args = [b"Put", b"k", b"v"]
        await h.on_message(
            Msg(
                type=Msg.TRANSACTION,
                txid="t1",
                channel_id="ch",
                payload=chaincode_pb2.ChaincodeInput(args=args).SerializeToString(),
            )
        )
        assert [m.type for m in written] == [Msg.REGISTER, Msg.PUT_STATE]  # the request is out, unanswered
        for _ in range(100):
            await asyncio.sleep(0.05)
            if written[-1].type == Msg.COMPLETED:
                break
        h.close()

    asyncio.run(scenario())
    done = written[-1]
    assert done.type == Msg.COMPLETED and done.txid == "t1"
    response = proposal_response_pb2.Response.FromString(done.payload)
    assert response.status == 500 and "no answer from the peer" in response.message
