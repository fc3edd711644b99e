"""The lag and last-verify gauges the operations alerts read."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from app.readmodel import metrics
from app.readmodel.blockgen import Scenario, StreamBuilder
from app.readmodel.projector import Projector
from app.readmodel.sources import ListBlockSource
from app.readmodel.sqlite import SqliteStore
from app.readmodel.verify import VerifyReport


def _value(registry: CollectorRegistry, name: str) -> float:
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


async def test_lag_and_last_verify_are_exported(tmp_path: Path) -> None:
    blocks = [
        StreamBuilder(first_block=0).config_block(),
        *Scenario(vehicles=30, liens=0, block_size=10).blocks(),
    ]
    store = SqliteStore(tmp_path / "rm.sqlite")
    projector = Projector(store, ListBlockSource(blocks))
    registry = CollectorRegistry()
    metrics.register(registry, projector)
    assert _value(registry, "mledger_readmodel_last_verify_ok") == -1
    projector.ingest(blocks[:2])
    assert await projector.lag() == 2  # 4 blocks, 2 projected
    assert _value(registry, "mledger_readmodel_lag_blocks") == 2
    assert _value(registry, "mledger_readmodel_height") == 2
    await projector.catch_up()
    assert _value(registry, "mledger_readmodel_lag_blocks") == 0
    report = VerifyReport(mode="full", block_height=4, checked=3, finished_at=1.5e9)
    store.set_meta("last_verify", report.to_json())
    assert _value(registry, "mledger_readmodel_last_verify_ok") == 1
    assert _value(registry, "mledger_readmodel_last_verify_timestamp_seconds") == 1.5e9
