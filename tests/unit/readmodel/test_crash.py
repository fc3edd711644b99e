"""kill -9 of the projector in the middle of a batch: it resumes from its checkpoint, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.readmodel.projector import Projector
from app.readmodel.queries import dashboard
from app.readmodel.sources import EmbeddedBlockSource
from app.readmodel.verify import VerifyReport, _verify_counters
from tests.unit.readmodel.conftest import LIENS, RELEASED, VEHICLES, StoreFactory

ROOT = Path(__file__).resolve().parents[3]


def test_kill_9_mid_batch_resumes_without_double_counting(
    big_stream, tmp_path: Path, stores: StoreFactory
) -> None:  # type: ignore[no-untyped-def]
    ledger_file, expected, height = big_stream
    marker = tmp_path / "inside"
    store_path = stores.url or str(stores.path)
    password = {"MLEDGER_STORE_PASSWORD": stores.postgres.password} if stores.postgres else {}
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("projector_child.py")),
            str(ledger_file),
            str(store_path),
            str(marker),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), **password},
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the projector exited before the crash point"
            assert time.monotonic() < deadline, "the projector never reached its third batch"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    store = stores.open()
    at_crash = store.next_block()
    assert 0 < at_crash < height  # two batches committed, the third (killed mid-transaction) not
    with store.reading() as cur:
        projected = cur.execute("SELECT MAX(block_number) FROM changes").fetchone()[0]
    assert projected < at_crash  # no row of the killed batch survived

    import asyncio

    asyncio.run(Projector(store, EmbeddedBlockSource(ledger_file)).catch_up())
    board = dashboard(store)
    assert board["block_height"] == height
    assert dict(board["counts"])["REGISTERED"] == VEHICLES - LIENS + RELEASED
    assert board["total_vehicles"] == VEHICLES and board["total_liens"] == LIENS
    with store.reading() as cur:
        assert cur.execute("SELECT COUNT(*) FROM events").fetchone()[0] == expected.transactions
        report = VerifyReport(mode="full", block_height=height)
        _verify_counters(cur, store, report)
    assert report.ok, report.drift[:3]
