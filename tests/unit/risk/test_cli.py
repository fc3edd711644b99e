from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.risk.cli import app

from .conftest import APPLICATION

runner = CliRunner()


def test_train_score_models(tmp_path: Path) -> None:
    models = str(tmp_path)
    result = runner.invoke(app, ["train", "--rows", "4000", "--models-dir", models])
    assert result.exit_code == 0, result.output
    assert "registered application-scorecard@1" in result.output and "borrower" in result.output
    result = runner.invoke(app, ["score", json.dumps(APPLICATION), "--models-dir", models])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["model"] == "application-scorecard@1"
    result = runner.invoke(app, ["score", json.dumps({**APPLICATION, "ltv": "lots"}), "--models-dir", models])
    assert result.exit_code == 2 and "application.ltv" in result.output
    assert "application-scorecard@1" in runner.invoke(app, ["models", "--models-dir", models]).output


def test_alerts_and_simulate(tmp_path: Path) -> None:
    request = {
        "loan": {
            "loan_id": "LN9",
            "vin": "LSVAB2180E2100001",
            "permitted_region": {"lat": 30.27, "lon": 120.15, "radius_km": 250},
        },
        "start": "2024-06-01",
        "as_of": "2024-07-15",
        "telematics": [
            {"day": "2024-06-01", "km": 30, "odometer_km": 20_000},
            {"day": "2024-06-02", "km": 30, "odometer_km": 12_000},
        ],
    }
    result = runner.invoke(app, ["alerts", json.dumps(request), "--models-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rules = {(a["rule"], a["severity"]) for a in json.loads(result.output)["alerts"]}
    assert ("odometer_rollback", "high") in rules and ("idle_vehicle", "high") in rules
    result = runner.invoke(app, ["simulate", "--loans", "100", "--days", "90", "--models-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert '"detection_rate"' in result.output
