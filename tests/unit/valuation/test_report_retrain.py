"""Issue 17 points 6 and 7: the report and model card; retraining with challenger vs champion and drift."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.valuation.cli import app
from app.valuation.dataset import SalesData, read_sales
from app.valuation.lender_shapes import lender_sales, to_csv
from app.valuation.model import TrainConfig
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService

runner = CliRunner()


def test_train_writes_a_report_with_plots_and_a_model_card(tmp_path: Path) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_bytes(to_csv(lender_sales("equipment", 150, seed=2)))
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "train",
            "--csv",
            str(csv),
            "--rounds",
            "200",
            "--report",
            str(out),
            "--models-dir",
            str(tmp_path / "models"),
        ],
    )
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    for title in (
        "predicted vs actual",
        "residuals by age_months",
        "residuals by mileage_km",
        "interval coverage",
        "depreciation curves",
        "feature importance",
    ):
        assert f"<h3>{title}</h3>" in html
    assert html.count("<svg") >= 6
    for family in ("segment-median", "depreciation-curve", "linear", "boosting", "blend"):
        assert f"<td>{family}</td>" in html
    card = json.loads((out / "model-card.json").read_text())
    registered = ModelRegistry(tmp_path / "models").get("residual-value", 1)
    assert card["model_id"] == registered.model_id and card["ref"] == "residual-value@1"
    assert card["training"]["data_sha256"] == registered.meta["training"]["data_sha256"]
    assert card["chosen_family"] in {row["family"] for row in card["cv"]}
    used = {c["name"]: c["kind"] for c in card["columns"]}
    assert used["leather"] == "boolean" and used["colour"] == "categorical" and used["segment"] == "hierarchy"
    assert card["intervals"]["target"] == 0.9 and 0 < card["intervals"]["cv_coverage"] <= 1
    # what is registered (and hashed into the model id) is the card itself
    assert {k: v for k, v in registered.meta["card"].items() if k != "profile"} == {
        k: v for k, v in card.items() if k not in ("model_id", "ref")
    }


def test_retrain_promotes_a_better_challenger_only(tmp_path: Path) -> None:
    service = ValuationService(ModelRegistry(tmp_path))
    config = TrainConfig(num_boost_round=200)
    market = lender_sales("no_list_price", 480, seed=2)  # one market, three files of it

    def file(rows: slice) -> SalesData:
        return read_sales(to_csv(market.iloc[rows]))

    champion, _ = service.train_and_register(file(slice(0, 40)), None, config)
    # many more sales from the same market: the challenger wins on the same folds and is promoted
    bigger, _, comparison, _ = service.retrain(file(slice(40, 440)), config)
    assert comparison["champion"] == champion.ref and comparison["challenger"] == bigger.ref
    assert comparison["challenger_better"] and comparison["promoted"]
    assert service.champion_ref() == bigger.ref
    # a small new file: its own CV cannot beat the 400-sale champion, which stays
    small, _, comparison, _ = service.retrain(file(slice(440, 480)), config)
    assert comparison["challenger_mape"] > comparison["champion_mape"]
    assert not comparison["promoted"] and service.champion_ref() == bigger.ref
    assert small.version == bigger.version + 1  # registered, for the record, but not in use


def test_retrain_reports_input_drift_and_exports_it(tmp_path: Path) -> None:
    models = str(tmp_path / "models")
    base = tmp_path / "base.csv"
    market = lender_sales("no_list_price", 500, seed=4)
    base.write_bytes(to_csv(market.iloc[:200]))
    assert (
        runner.invoke(app, ["train", "--csv", str(base), "--rounds", "100", "--models-dir", models]).exit_code
        == 0
    )
    newer = market.iloc[200:]
    newer = newer[newer["mileage_km"] > newer["mileage_km"].median()]  # only high-mileage cars now
    new_csv = tmp_path / "new.csv"
    new_csv.write_bytes(to_csv(newer))
    prom = tmp_path / "drift.prom"
    result = runner.invoke(
        app,
        [
            "retrain",
            "--csv",
            str(new_csv),
            "--rounds",
            "100",
            "--metrics-out",
            str(prom),
            "--models-dir",
            models,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "same" in result.output and "folds" in result.output
    line = next(x for x in result.output.splitlines() if x.strip().startswith("mileage_km"))
    assert "major drift" in line
    text = prom.read_text()
    assert "# TYPE mledger_valuation_input_psi gauge" in text
    assert 'mledger_valuation_input_psi{model="residual-value",feature="mileage_km"}' in text
