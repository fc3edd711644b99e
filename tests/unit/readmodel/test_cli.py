"""``mledger readmodel status|rebuild|verify`` on an embedded ledger's data (read-only, ledger closed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.ledger.embedded.ledger import EmbeddedLedger, mortgage_chaincode
from app.readmodel_cli import app
from tests.unit.readmodel.conftest import StoreFactory
from tests.unit.readmodel.helpers import register_many


async def _ledger_with_vehicles(ledger_dir: Path) -> tuple[list[str], int]:
    ledger = EmbeddedLedger(ledger_dir, chaincodes=[mortgage_chaincode()])
    try:
        return await register_many(ledger, 12, "CLK"), ledger.height()
    finally:
        await ledger.close()


def test_status_rebuild_verify(tmp_path: Path, stores: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the embedded default's SQLite file and on PostgreSQL named by MLEDGER_READMODEL_URL."""
    data_dir = tmp_path / "gw"
    if stores.postgres is None:
        stores.path = data_dir / "readmodel.sqlite"
    else:
        monkeypatch.setenv("MLEDGER_READMODEL_URL", stores.url)
        monkeypatch.setenv("MLEDGER_STORE_PASSWORD_FILE", str(stores.postgres.password_file))
    vins, height = asyncio.run(_ledger_with_vehicles(data_dir / "ledger"))
    runner = CliRunner()
    args = ["--data-dir", str(data_dir), "--backend", "embedded"]

    rebuilt = runner.invoke(app, ["rebuild", *args])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.output)["transactions"] == 12

    status = json.loads(runner.invoke(app, ["status", *args]).output)
    assert status["block_height"] == status["ledger_height"] == height and status["lag_blocks"] == 0
    assert status["counts"]["vehicles_by_status:REGISTERED"] == 12

    ok = runner.invoke(app, ["verify", *args])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True

    assert (data_dir / "readmodel.sqlite").exists() == (stores.postgres is None)
    store = stores.open()
    store.execute_raw("UPDATE vehicles SET plate = 'FORGED' WHERE vin = ?", (vins[3],))
    store.close()
    drift = runner.invoke(app, ["verify", *args, "--sample", "12"])
    assert drift.exit_code == 1
    report = json.loads(drift.output)
    assert report["drift"][0]["record"] == vins[3] and "plate" in report["drift"][0]["detail"]
    status = json.loads(runner.invoke(app, ["status", *args]).output)
    assert status["last_verify"]["ok"] is False
