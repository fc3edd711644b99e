"""Crash safety: SIGKILL mid-load loses no acknowledged tx and leaves no half-written block."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app.ledger.embedded.ledger import ChaincodeSpec, EmbeddedLedger

from .conftest import OFFICER

REPO = Path(__file__).resolve().parents[3]


async def test_sigkill_mid_load_then_reopen(tmp_path: Path, spec: ChaincodeSpec) -> None:
    data_dir = tmp_path / "crash"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.unit.ledger.crash_writer", str(data_dir), str(tmp_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while len(acked) < 60 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("ACK "):
                _, tx_id, key, value = line.split()
                acked.append((tx_id, key, value))
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-load: writers are still submitting
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 60, proc.stderr.read() if proc.stderr else "no output"

    ledger = EmbeddedLedger(data_dir, chaincodes=[spec])  # verifies the whole chain on open
    try:
        assert ledger.height_at_open >= 2
        for tx_id, key, value in acked:
            status = await ledger.transaction_status(tx_id)
            assert status is not None and status.validation_code == "VALID", tx_id
            assert await ledger.evaluate(OFFICER, "Get", [key]) == value.encode()
        # no half write: every committed valid Put has exactly its history row and its state row
        conn = sqlite3.connect(data_dir / "ledger.sqlite")
        valid = conn.execute("SELECT COUNT(*) FROM txs WHERE validation_code=0").fetchone()[0]
        history = conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
        state = conn.execute("SELECT COUNT(*) FROM state").fetchone()[0]
        blocks_with_txs = conn.execute("SELECT COUNT(DISTINCT block_number) FROM txs").fetchone()[0]
        conn.close()
        assert valid == history == state >= len(acked)
        assert blocks_with_txs == ledger.height_at_open - 1
        assert (await ledger.submit(OFFICER, "Put", ["after-crash", "ok"])).validation_code == "VALID"
    finally:
        await ledger.close()
