"""The Fabric adapter's streams when its own peer joined from a snapshot: which peers it reads (the
profile's other peers, in order, never the own one twice), where the own peer's ledger starts, and the
notifier's chaincode events resumed after its checkpoint tx across the switch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from fabric_protos.common import common_pb2, ledger_pb2

from app.fabric_gateway.errors import GatewayError
from app.fabric_gateway.events import ChaincodeEvent
from app.ledger.fabric import FabricLedger, NetworkProfile, PeerEndpoint

SNAPSHOT = 5  # the own peer's first block
HEIGHT = 9


def ledger() -> FabricLedger:
    profile = NetworkProfile(
        channel="vehicles",
        chaincode="mortgage",
        peers={
            "TrafficAuthorityMSP": PeerEndpoint("127.0.0.1:7051", Path("ta.pem")),
            "BankAMSP": PeerEndpoint("127.0.0.1:7151", Path("banka.pem")),
            "BankBMSP": PeerEndpoint("127.0.0.1:7251", Path("bankb.pem")),
        },
        gateway_org="TrafficAuthorityMSP",
        service_identity=("BankAMSP", "auditor1"),
    )
    return FabricLedger(profile, lambda msp, user: pytest.fail("no identity is loaded in this test"))


class FakeNetwork:
    """One peer's network: chaincode events (two per block) and blocks; refuses blocks below ``first``."""

    def __init__(self, name: str, first: int = 0) -> None:
        self.name, self.first = name, first
        self.asked: list[tuple[str, int | None, str]] = []

    async def _refuse_below(self, start: int) -> None:
        if start < self.first:
            raise GatewayError(f"{self.name}: cannot serve block [{start}]", code=grpc.StatusCode.UNAVAILABLE)

    async def chaincode_events(
        self, chaincode: str, *, start_block: int | None, after_transaction_id: str
    ) -> AsyncIterator[ChaincodeEvent]:
        self.asked.append(("events", start_block, after_transaction_id))
        start = start_block or 0
        await self._refuse_below(start)
        skipping = bool(after_transaction_id)
        for block in range(start, HEIGHT):
            for tx in (f"tx{block}a", f"tx{block}b"):
                if skipping:
                    skipping = tx != after_transaction_id
                    continue
                yield ChaincodeEvent(block, tx, chaincode, "VehicleRegistered", self.name.encode())

    async def block_events(self, *, start_block: int) -> AsyncIterator[common_pb2.Block]:
        self.asked.append(("blocks", start_block, ""))
        await self._refuse_below(start_block)
        for number in range(start_block, HEIGHT):
            yield common_pb2.Block(header=common_pb2.BlockHeader(number=number))


def wire(led: FabricLedger, snapshot_info: bool = True) -> dict[str, FakeNetwork]:
    nets = {
        "127.0.0.1:7151": FakeNetwork("own", first=SNAPSHOT),
        "127.0.0.1:7051": FakeNetwork("ta"),
        "127.0.0.1:7251": FakeNetwork("bankb"),
    }
    info = ledger_pb2.BlockchainInfo(height=HEIGHT)
    if snapshot_info:
        info.bootstrappingSnapshotInfo.lastBlockInSnapshot = SNAPSHOT - 1

    async def qscc(function: str, *args: str) -> bytes:
        assert function == "GetChainInfo"
        return info.SerializeToString()

    led._qscc = qscc  # type: ignore[method-assign]
    led.service_network = lambda: nets["127.0.0.1:7151"]  # type: ignore[method-assign]
    led._reader_network = lambda peer: nets[peer.endpoint]  # type: ignore[method-assign]
    return nets


async def test_the_own_peers_first_block_comes_from_its_snapshot_info() -> None:
    led = ledger()
    wire(led)
    assert await led.first_served_block() == SNAPSHOT
    wire(led, snapshot_info=False)
    assert await led.first_served_block() == 0


async def test_blocks_before_the_snapshot_come_from_the_first_other_peer_of_the_profile() -> None:
    led = ledger()
    nets = wire(led)
    seen: list[str | None] = []
    numbers = []
    async for block in led.block_events(2):
        numbers.append(block.header.number)
        seen.append(led.reading_elsewhere.get("blocks"))
    assert numbers == list(range(2, HEIGHT))
    assert nets["127.0.0.1:7051"].asked == [("blocks", 2, "")]  # the profile's first other peer
    assert nets["127.0.0.1:7251"].asked == []
    assert nets["127.0.0.1:7151"].asked == [("blocks", SNAPSHOT, "")]
    assert seen[0] == "127.0.0.1:7051" and seen[-1] is None


async def test_the_notifier_resumes_after_its_checkpoint_tx_and_gets_each_event_once() -> None:
    led = ledger()
    nets = wire(led)
    events: list[Any] = [e async for e in led.chaincode_events(start_block=3, after_tx_id="tx3a")]
    got = [(e.block_number, e.tx_id, e.payload) for e in events]
    expected = [(3, "tx3b", b"ta")] + [
        (b, f"tx{b}{s}", b"ta" if b < SNAPSHOT else b"own") for b in range(4, HEIGHT) for s in "ab"
    ]
    assert got == expected
    assert nets["127.0.0.1:7151"].asked == [("events", SNAPSHOT, "")]


async def test_a_checkpoint_past_the_snapshot_stays_on_the_own_peer() -> None:
    led = ledger()
    nets = wire(led)
    events = [e async for e in led.chaincode_events(start_block=6, after_tx_id="tx6b")]
    assert [e.tx_id for e in events] == ["tx7a", "tx7b", "tx8a", "tx8b"]
    assert nets["127.0.0.1:7051"].asked == [] and nets["127.0.0.1:7251"].asked == []
