from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.valuation.cli import app

from .conftest import VEHICLE

runner = CliRunner()


def test_train_value_explain_reproduce(tmp_path: Path) -> None:
    models = str(tmp_path / "models")
    result = runner.invoke(app, ["train", "--synthetic", "600", "--rounds", "100", "--models-dir", models])
    assert result.exit_code == 0, result.output
    assert "registered residual-value@1" in result.output and "not real-market accuracy" in result.output

    result = runner.invoke(app, ["value", json.dumps(VEHICLE), "--models-dir", models])
    assert result.exit_code == 0, result.output
    valuation = json.loads(result.output)
    assert valuation["model"]["ref"] == "residual-value@1"

    result = runner.invoke(app, ["explain", json.dumps(VEHICLE), "--models-dir", models])
    assert result.exit_code == 0 and "contributions" in json.loads(result.output)

    recorded = tmp_path / "valuation.json"
    recorded.write_text(json.dumps(valuation))
    result = runner.invoke(app, ["reproduce", str(recorded), "--models-dir", models])
    assert result.exit_code == 0 and "match: True" in result.output

    valuation["value"] += 1
    recorded.write_text(json.dumps(valuation))
    result = runner.invoke(app, ["reproduce", str(recorded), "--models-dir", models])
    assert result.exit_code == 1 and "match: False" in result.output


def test_csv_train_and_evaluate_and_errors(tmp_path: Path) -> None:
    models = str(tmp_path / "models")
    csv = tmp_path / "sales.csv"
    assert runner.invoke(app, ["generate", "--out", str(csv), "--rows", "600", "--seed", "3"]).exit_code == 0
    result = runner.invoke(app, ["train", "--csv", str(csv), "--rounds", "100", "--models-dir", models])
    assert result.exit_code == 0, result.output
    assert "<- chosen" in result.output and "interval: target 0.90, CV coverage" in result.output
    assert (tmp_path / "models" / "residual-value" / "v1" / "report.html").exists()
    result = runner.invoke(app, ["evaluate", "--csv", str(csv), "--models-dir", models])
    assert result.exit_code == 0 and "mape" in result.output

    lines = csv.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[8], "-10", 1)  # mileage_km column
    csv.write_text("\n".join(lines))
    result = runner.invoke(app, ["train", "--csv", str(csv), "--models-dir", models])
    assert result.exit_code == 2 and "row 5" in result.output and "mileage_km" in result.output


def test_value_bad_input_names_field(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["value", json.dumps({**VEHICLE, "mileage_km": -5}), "--models-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "vehicle.mileage_km" in result.output
    result = runner.invoke(app, ["value", json.dumps(VEHICLE), "--models-dir", str(tmp_path)])
    assert result.exit_code == 2 and "no model" in result.output
