"""The shared commit listener: submits learn their status from one filtered-block stream per channel,
and fall back to the CommitStatus call whenever that stream cannot answer."""

from __future__ import annotations

import asyncio
import threading
import time

import grpc
import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from app.fabric_gateway import (
    AsyncGateway,
    CommitError,
    CommitStatusError,
    Deadlines,
    Gateway,
    ReconnectPolicy,
    connect,
    connect_async,
)
from app.fabric_gateway.commit import BLOCK_EVENTS, COMMIT_STATUS_CALL

from .fake_gateway import FakeServer

FAST = ReconnectPolicy(initial_backoff=0.05, max_backoff=0.1, max_attempts=50)


def calls(fake: FakeServer, kind: str) -> int:
    return sum(1 for k, _ in fake.service.requests if k == kind)


def test_submits_share_one_stream_and_make_no_commit_status_calls(gateway: Gateway, fake: FakeServer) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    assert gateway.commit_listener_state("vehicles") == "idle"
    first = contract.submit("Put", "k1")
    second = contract.submit("Put", "k2")
    assert (first.status.block_number, second.status.block_number) == (7, 8)
    assert first.status.successful and second.status.code_name == "VALID"
    assert calls(fake, "commit_status") == 0
    assert len(fake.service.deliver_requests) == 1
    assert fake.service.deliver_requests[0].start.WhichOneof("Type") == "newest"
    assert gateway.commit_listener_state("vehicles") == "live"


def test_invalid_transaction_from_the_stream_is_a_commit_error(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    fake.service.behaviour.commit_block = 42
    with pytest.raises(CommitError) as info:
        gateway.get_network("vehicles").get_contract("mortgage").submit_transaction("Inc", "k")
    assert info.value.code_name == "MVCC_READ_CONFLICT" and info.value.block_number == 42
    assert calls(fake, "commit_status") == 0


def test_concurrent_submits_from_threads_each_get_their_own_status(
    gateway: Gateway, fake: FakeServer
) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    results: dict[int, object] = {}

    def submit(i: int) -> None:
        results[i] = contract.submit("Put", f"k{i}")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    statuses = [results[i].status for i in range(12)]  # type: ignore[attr-defined]
    assert all(s.successful for s in statuses)
    assert len({s.block_number for s in statuses}) == 12  # the fake commits one transaction per block
    assert {s.transaction_id for s in statuses} == {results[i].transaction_id for i in range(12)}  # type: ignore[attr-defined]
    assert calls(fake, "commit_status") == 0


def test_refused_stream_disables_the_listener_and_submits_use_the_call(fake: FakeServer, credentials) -> None:
    fake.service.behaviour.deliver_refusal = common_pb2.FORBIDDEN
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, reconnect=FAST)
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        commit = contract.new_proposal("Put", ["k"]).endorse().submit()
        assert commit.get_status().successful and commit.answered_by == COMMIT_STATUS_CALL
        assert gateway.commit_listener_state("vehicles").startswith("disabled: deliver answered FORBIDDEN")
        contract.submit("Put", "k2")
        assert calls(fake, "commit_status") == 2
        assert len(fake.service.deliver_requests) == 1  # refused for good: not asked again
        gateway.close()


def test_stream_lost_while_waiting_falls_back_to_the_call(fake: FakeServer, credentials) -> None:
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, reconnect=FAST)
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        contract.submit("Put", "warm-up")
        fake.service.behaviour.commit_hang = True  # ordered, but not in a block yet
        commit = contract.new_proposal("Put", ["k"]).endorse().submit()
        tx_id = commit.transaction_id
        # The peer restarts; meanwhile the transaction commits in block 20, which the new stream
        # (starting at the newest block) will never show: only the call can answer.
        fake.service.behaviour.commit_hang = False
        fake.service.committed[20] = [(tx_id, transaction_pb2.VALID)]
        threading.Timer(0.2, fake.restart).start()
        status = commit.get_status(timeout=10)
        assert (status.block_number, status.successful, commit.answered_by) == (20, True, COMMIT_STATUS_CALL)
        deadline = time.monotonic() + 5
        while gateway.commit_listener_state("vehicles") != "live" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gateway.commit_listener_state("vehicles") == "live"  # reconnected
        later = contract.new_proposal("Put", ["k3"]).endorse().submit()
        assert later.get_status().successful and later.answered_by == BLOCK_EVENTS
        gateway.close()


def test_duplicate_txid_in_a_block_asks_the_call(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.commit_code = transaction_pb2.DUPLICATE_TXID
    commit = gateway.get_network("vehicles").get_contract("mortgage").new_proposal("P").endorse().submit()
    status = commit.get_status()
    assert commit.answered_by == COMMIT_STATUS_CALL and status.code_name == "DUPLICATE_TXID"
    assert calls(fake, "commit_status") == 1


def test_deadline_through_the_listener_then_the_call(fake: FakeServer, credentials) -> None:
    fake.service.behaviour.commit_hang = True
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, deadlines=Deadlines(commit_status=0.3))
        commit = gateway.get_network("vehicles").get_contract("mortgage").new_proposal("P").endorse().submit()
        with pytest.raises(CommitStatusError) as info:
            commit.get_status()
        assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert calls(fake, "commit_status") == 0
        # The waiter is forgotten after its deadline; asking again uses the call (which can still answer).
        fake.service.behaviour.commit_hang = False
        fake.service.committed[30] = [(commit.transaction_id, transaction_pb2.VALID)]
        assert commit.get_status().block_number == 30 and commit.answered_by == COMMIT_STATUS_CALL
        gateway.close()


def test_failed_submit_leaves_no_waiter_and_close_stops_the_thread(
    gateway: Gateway, fake: FakeServer
) -> None:
    from .fake_gateway import Refused

    contract = gateway.get_network("vehicles").get_contract("mortgage")
    contract.submit("Put", "k")
    listener = gateway._session.listeners.listener("vehicles")  # type: ignore[union-attr]
    fake.service.behaviour.submit_error = Refused(grpc.StatusCode.UNAVAILABLE, "no orderer")
    with pytest.raises(Exception, match="no orderer"):
        contract.submit("Put", "k2")
    assert listener._pending == {}
    thread = listener._thread
    assert thread is not None and thread.is_alive()
    gateway.close()
    assert not thread.is_alive()
    assert gateway.commit_listener_state("vehicles") == "closed"


def test_offline_only_gateway_uses_the_call(fake: FakeServer, credentials) -> None:
    identity, signer = credentials
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, None, channel)
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        proposal = contract.new_proposal("P")
        signed = gateway.new_signed_proposal(proposal.bytes(), signer(proposal.digest()))
        transaction = signed.endorse()
        signed_tx = gateway.new_signed_transaction(transaction.bytes(), signer(transaction.digest()))
        commit = signed_tx.submit()
        signed_commit = gateway.new_signed_commit(commit.bytes(), signer(commit.digest()))
        assert signed_commit.get_status().successful
    assert fake.service.deliver_requests == []


async def test_async_submits_use_the_stream(async_gateway: AsyncGateway, fake: FakeServer) -> None:
    contract = async_gateway.get_network("vehicles").get_contract("mortgage")
    results = await asyncio.gather(*(contract.submit("Put", f"k{i}") for i in range(10)))
    assert all(r.status.successful for r in results)
    assert len({r.status.block_number for r in results}) == 10
    assert calls(fake, "commit_status") == 0
    assert async_gateway.commit_listener_state("vehicles") == "live"
    fake.service.behaviour.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    with pytest.raises(CommitError, match="MVCC_READ_CONFLICT"):
        await contract.submit_transaction("Inc")
    await async_gateway.close()
    assert async_gateway.commit_listener_state("vehicles") == "closed"


async def test_async_stream_lost_falls_back_and_refusal_disables(fake: FakeServer, credentials) -> None:
    from app.fabric_gateway import create_async_channel

    identity, signer = credentials
    async with create_async_channel(fake.address) as channel:
        gateway = connect_async(identity, signer, channel, reconnect=FAST)
        contract = gateway.get_network("vehicles").get_contract("mortgage")
        await contract.submit("Put", "warm-up")
        fake.service.behaviour.commit_hang = True
        commit = await (await contract.new_proposal("Put", ["k"]).endorse()).submit()
        fake.service.behaviour.commit_hang = False
        fake.service.committed[50] = [(commit.transaction_id, transaction_pb2.VALID)]
        fake.service.behaviour.deliver_refusal = common_pb2.FORBIDDEN  # the reconnect is refused
        await asyncio.get_running_loop().run_in_executor(None, fake.restart)
        status = await commit.get_status(timeout=10)
        assert (status.block_number, commit.answered_by) == (50, COMMIT_STATUS_CALL)
        deadline = time.monotonic() + 5
        while (
            not gateway.commit_listener_state("vehicles").startswith("disabled")
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        assert gateway.commit_listener_state("vehicles") == "disabled: deliver answered FORBIDDEN"
        assert (await contract.submit("Put", "k2")).status.successful
        await gateway.close()


def test_listeners_shared_among_identities(fake: FakeServer, credentials, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from app.fabric_gateway import load_msp_folder, new_commit_listeners

    from .keys import write_msp

    identity, signer = credentials
    other_identity, other_signer = load_msp_folder(
        write_msp(tmp_path / "other", ec.generate_private_key(ec.SECP256R1()), "dealer1"), "DealerMSP"
    )
    with grpc.insecure_channel(fake.address) as channel:
        shared = new_commit_listeners(identity, signer, channel)
        bank = connect(identity, signer, channel, commit_listener=shared)
        dealer = connect(other_identity, other_signer, channel, commit_listener=shared)
        assert bank.get_network("vehicles").get_contract("cc").submit("A").status.successful
        assert dealer.get_network("vehicles").get_contract("cc").submit("B").status.successful
        assert len(fake.service.deliver_requests) == 1 and calls(fake, "commit_status") == 0
        bank.close()  # a gateway does not close listeners it does not own
        assert shared.state("vehicles") == "live"
        assert dealer.get_network("vehicles").get_contract("cc").submit("C").status.successful
        shared.close()
        assert shared.state("vehicles") == "closed"
        with grpc.insecure_channel(fake.address) as elsewhere, pytest.raises(ValueError, match="same grpc"):
            connect(identity, signer, elsewhere, commit_listener=shared)


def test_uncollected_waiter_of_a_lost_transaction_is_let_go(gateway: Gateway, fake: FakeServer) -> None:
    contract = gateway.get_network("vehicles").get_contract("mortgage")
    contract.submit("Put", "warm-up")
    listener = gateway._session.listeners.listener("vehicles")  # type: ignore[union-attr]
    listener.max_waiter_age = 0.2
    fake.service.behaviour.commit_hang = True  # the orderer "loses" this one
    lost = contract.new_proposal("Put", ["lost"]).endorse().submit()
    fake.service.behaviour.commit_hang = False
    time.sleep(0.3)
    contract.submit("Put", "later")  # its block sweeps the stale waiter
    assert lost.transaction_id not in listener._pending
    fake.service.committed[99] = [(lost.transaction_id, transaction_pb2.VALID)]
    assert lost.get_status().block_number == 99 and lost.answered_by == COMMIT_STATUS_CALL
