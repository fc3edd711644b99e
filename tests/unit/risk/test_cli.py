from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.risk.books import BookShape, book_csv, generate_book
from app.risk.cli import app

from .conftest import APPLICATION

runner = CliRunner()


def test_train_promote_score_monitor_models(tmp_path: Path) -> None:
    models = str(tmp_path / "models")
    frame, raw = generate_book(BookShape(700, 0.3, text_outcome=True, missing_income=True, seed=17))
    (tmp_path / "book.csv").write_bytes(book_csv(frame))
    (tmp_path / "spec.json").write_text(
        json.dumps({**raw, "cv": {"folds": 3, "repeats": 1}, "challengers": {"enabled": False}})
    )
    report = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "train",
            "--csv",
            str(tmp_path / "book.csv"),
            "--spec",
            str(tmp_path / "spec.json"),
            "--report",
            str(report),
            "--model-card",
            str(tmp_path / "card.json"),
            "--models-dir",
            models,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered application-scorecard@1" in result.output and "NOT promoted" in result.output
    assert "sex (protected attribute" in result.output and "small book" in result.output
    assert (
        "<svg" in report.read_text()
        and json.loads((tmp_path / "card.json").read_text())["data"]["loans"] > 600
    )
    # nothing is served until a version is promoted
    result = runner.invoke(app, ["score", json.dumps(APPLICATION), "--models-dir", models])
    assert result.exit_code == 2 and "no promoted version" in result.output
    result = runner.invoke(app, ["promote", "1", "--reason", "test", "--models-dir", models])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["score", json.dumps(APPLICATION), "--models-dir", models])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["model"] == "application-scorecard@1"
    result = runner.invoke(
        app, ["score", json.dumps({**APPLICATION, "monthly_income": "lots"}), "--models-dir", models]
    )
    assert result.exit_code == 2 and "application.monthly_income" in result.output
    prom = tmp_path / "risk.prom"
    result = runner.invoke(
        app,
        ["monitor", "--csv", str(tmp_path / "book.csv"), "--metrics-out", str(prom), "--models-dir", models],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["backtest"] and "mledger_risk_score_psi" in prom.read_text()
    assert "[promoted]" in runner.invoke(app, ["models", "--models-dir", models]).output


def test_train_refuses_a_book_without_outcome_spec(tmp_path: Path) -> None:
    frame, _ = generate_book(BookShape(400, 0.3, seed=2))
    (tmp_path / "book.csv").write_bytes(book_csv(frame))
    result = runner.invoke(app, ["train", "--csv", str(tmp_path / "book.csv"), "--models-dir", str(tmp_path)])
    assert result.exit_code == 2 and "--spec" in result.output
    result = runner.invoke(
        app,
        ["train", "--csv", str(tmp_path / "book.csv"), "--outcome", "status", "--models-dir", str(tmp_path)],
    )
    assert result.exit_code == 2 and "'status'" in result.output and "outcome column missing" in result.output


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
