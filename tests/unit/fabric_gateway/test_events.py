"""Chaincode and block events against the fake: positions, checkpoints, resubscription after drops
and after the server restarts on the same port (blocking and asyncio)."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from app.fabric_gateway import (
    AsyncGateway,
    BlockEventsError,
    ChaincodeEventsError,
    FileCheckpointer,
    Gateway,
    InMemoryCheckpointer,
    ReconnectPolicy,
    block_transactions,
    connect,
)

from .fake_gateway import FakeServer

EVENTS = [
    (3, "tx1", "VehicleRegistered", b"1"),
    (3, "tx2", "LienRequested", b"2"),
    (5, "tx3", "LienRecorded", b"3"),
    (6, "tx4", "LienReleased", b"4"),
]


def take(iterator, n):
    return [next(iterator) for _ in range(n)]


def test_chaincode_events_from_start_block(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.chaincode_events = list(EVENTS)
    with gateway.get_network("vehicles").chaincode_events("mortgage", start_block=0) as events:
        got = take(events, 4)
    assert [(e.block_number, e.transaction_id, e.event_name, e.payload) for e in got] == EVENTS
    assert {e.chaincode_name for e in got} == {"mortgage"}


def test_chaincode_events_after_transaction(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.chaincode_events = list(EVENTS)
    network = gateway.get_network("vehicles")
    with network.chaincode_events("mortgage", start_block=3, after_transaction_id="tx1") as events:
        assert next(events).transaction_id == "tx2"


def test_checkpointed_listener_resumes_where_it_stopped(
    gateway: Gateway, fake: FakeServer, tmp_path: Path
) -> None:
    fake.service.behaviour.chaincode_events = list(EVENTS)
    network = gateway.get_network("vehicles")
    checkpointer = FileCheckpointer(tmp_path / "cp.json")
    with network.chaincode_events("mortgage", start_block=0, checkpoint=checkpointer) as events:
        for event in take(events, 2):
            checkpointer.checkpoint_chaincode_event(event)
    # A new process: the file says block 3 after tx2, which wins over start_block=0.
    restarted = FileCheckpointer(tmp_path / "cp.json")
    with network.chaincode_events("mortgage", start_block=0, checkpoint=restarted) as events:
        assert [e.transaction_id for e in take(events, 2)] == ["tx3", "tx4"]
    request = fake.service.events_requests[-1]
    assert (request.start_position.specified.number, request.after_transaction_id) == (3, "tx2")


def test_stream_dropped_is_resubscribed_from_last_event(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.chaincode_events = list(EVENTS)
    fake.service.behaviour.drop_events_after = 2  # after block 3 and block 5
    with gateway.get_network("vehicles").chaincode_events("mortgage", start_block=0) as events:
        got = [e.transaction_id for e in take(events, 4)]
    assert got == ["tx1", "tx2", "tx3", "tx4"]  # nothing lost, nothing repeated
    resumed = fake.service.events_requests[-1]
    assert (resumed.start_position.specified.number, resumed.after_transaction_id) == (5, "tx3")


def test_resubscribes_after_server_restart(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.chaincode_events = list(EVENTS[:2])
    with gateway.get_network("vehicles").chaincode_events("mortgage", start_block=0) as events:
        assert [e.transaction_id for e in take(events, 2)] == ["tx1", "tx2"]
        fake.restart()
        fake.service.behaviour.chaincode_events = list(EVENTS)
        assert [e.transaction_id for e in take(events, 2)] == ["tx3", "tx4"]


def test_no_reconnect_when_disabled(fake: FakeServer, credentials) -> None:
    identity, signer = credentials
    fake.service.behaviour.chaincode_events = list(EVENTS)
    fake.service.behaviour.drop_events_after = 1
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, reconnect=ReconnectPolicy(enabled=False))
        events = gateway.get_network("vehicles").chaincode_events("mortgage", start_block=0)
        take(events, 2)
        with pytest.raises(ChaincodeEventsError) as info:
            next(events)
        assert info.value.code == grpc.StatusCode.UNAVAILABLE


def test_close_from_another_thread_ends_iteration(gateway: Gateway, fake: FakeServer) -> None:
    events = gateway.get_network("vehicles").chaincode_events("mortgage")  # nothing will come
    threading.Timer(0.3, events.close).start()
    assert list(events) == []


def test_block_events_full_filtered_private(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.blocks = 4
    network = gateway.get_network("vehicles")
    with network.block_events(start_block=1) as blocks:
        block = next(blocks)
        assert [b.header.number for b in [block, *take(blocks, 2)]] == [1, 2, 3]
    (tx,) = block_transactions(block)
    assert (tx.transaction_id, tx.creator_msp_id, tx.validation_code_name, tx.valid) == (
        "tx1",
        "BankAMSP",
        "VALID",
        True,
    )
    with network.filtered_block_events(start_block=2) as blocks:
        filtered = next(blocks)
    assert filtered.number == 2 and filtered.filtered_transactions[0].txid == "tx2"
    with network.block_and_private_data_events(start_block=0) as blocks:
        assert next(blocks).block.header.number == 0


def test_block_events_resume_after_drop_and_checkpoint(gateway: Gateway, fake: FakeServer) -> None:
    fake.service.behaviour.blocks = 6
    fake.service.behaviour.drop_blocks_after = 2
    checkpointer = InMemoryCheckpointer()
    checkpointer.checkpoint_block(1)  # blocks 0 and 1 done
    with gateway.get_network("vehicles").filtered_block_events(checkpoint=checkpointer) as blocks:
        numbers = [b.number for b in take(blocks, 4)]
    assert numbers == [2, 3, 4, 5]
    assert fake.service.deliver_requests[-1].start.specified.number == 4


def test_block_events_forbidden_status(fake: FakeServer, credentials) -> None:
    identity, _ = credentials

    def bad_signer(digest: bytes) -> bytes:
        return b"0\x06\x02\x01\x01\x02\x01\x01"  # a well-formed but wrong DER signature

    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, bad_signer, channel)
        with (
            pytest.raises(BlockEventsError, match="FORBIDDEN"),
            gateway.get_network("vehicles").block_events() as blocks,
        ):
            next(blocks)


async def test_async_chaincode_events_with_drop(async_gateway: AsyncGateway, fake: FakeServer) -> None:
    fake.service.behaviour.chaincode_events = list(EVENTS)
    fake.service.behaviour.drop_events_after = 1
    got = []
    async with async_gateway.get_network("vehicles").chaincode_events("mortgage", start_block=0) as events:
        async for event in events:
            got.append(event.transaction_id)
            if len(got) == 4:
                break
    assert got == ["tx1", "tx2", "tx3", "tx4"]


async def test_async_block_events_across_restart(async_gateway: AsyncGateway, fake: FakeServer) -> None:
    fake.service.behaviour.blocks = 2
    network = async_gateway.get_network("vehicles")
    async with network.block_events(start_block=0) as blocks:
        assert (await anext(blocks)).header.number == 0
        assert (await anext(blocks)).header.number == 1
        fake.restart()
        fake.service.behaviour.blocks = 4
        assert (await anext(blocks)).header.number == 2
    assert fake.service.deliver_requests[-1].start.specified.number == 2


async def test_async_close_from_another_task_ends_iteration(async_gateway: AsyncGateway) -> None:
    import asyncio

    events = async_gateway.get_network("vehicles").chaincode_events("mortgage")  # nothing will come

    async def consume() -> list:
        return [event async for event in events]

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    await events.close()
    assert await asyncio.wait_for(task, 5) == []


def test_reconnect_gives_up_after_max_attempts(fake: FakeServer, credentials) -> None:
    identity, signer = credentials
    fake.service.behaviour.chaincode_events = list(EVENTS[:2])
    policy = ReconnectPolicy(initial_backoff=0.01, max_backoff=0.02, max_attempts=2)
    with grpc.insecure_channel(fake.address) as channel:
        gateway = connect(identity, signer, channel, reconnect=policy)
        events = gateway.get_network("vehicles").chaincode_events("mortgage", start_block=0)
        assert next(events).transaction_id == "tx1"
        fake.stop()  # gone for good
        assert next(events).transaction_id == "tx2"  # already received with block 3
        with pytest.raises(ChaincodeEventsError) as info:
            next(events)
        assert info.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
