from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.risk.applications import read_applications_csv
from app.risk.borrowers import ALL_FEATURES, generate_applications
from app.risk.cli import app as cli
from app.risk.router import get_scorecard_service, router
from app.risk.scoring import ScorecardService
from app.valuation.errors import InputError
from app.valuation.registry import ModelRegistry


def _csv(rows: int = 1500) -> str:
    return generate_applications(rows, seed=31).drop(columns=["application_id"]).to_csv(index=False)


def test_valid_csv_reads_every_feature() -> None:
    frame = read_applications_csv(_csv())
    assert list(frame.columns) == [*ALL_FEATURES, "default"] and frame["default"].isin([0, 1]).all()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [("ltv", "-0.5", "below the minimum"), ("ltv", "nan", "not a finite number"), ("default", "2", "0 or 1"),
     ("age_years", "", "missing value"), ("monthly_income", "lots", "not a finite number")],
)  # fmt: skip
def test_bad_cell_names_row_and_column(column: str, value: str, reason: str) -> None:
    lines = _csv().splitlines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index(column)] = value
    lines[4] = ",".join(cells)
    with pytest.raises(InputError) as info:
        read_applications_csv("\n".join(lines))
    assert any(p.row == 4 and p.field == column and reason in p.reason for p in info.value.problems)


def test_too_few_defaults_is_refused() -> None:
    with pytest.raises(InputError, match="at least"):
        read_applications_csv(_csv(200))


def test_train_from_csv_via_api_and_cli(tmp_path: Path) -> None:
    text = _csv(3000).replace("debt_to_income", "dti", 1)
    app = FastAPI()
    app.include_router(router)
    service = ScorecardService(ModelRegistry(tmp_path / "api"))
    app.dependency_overrides[get_scorecard_service] = lambda: service
    response = TestClient(app).post(
        "/risk/scorecard/train", files={"file": ("apps.csv", text, "text/csv")},
        data={"mapping": json.dumps({"debt_to_income": "dti"})},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert (
        body["model"]["ref"] == "application-scorecard@1"
        and body["metrics"]["auc"] > body["baseline_metrics"]["auc"]
    )
    bad = TestClient(app).post("/risk/scorecard/train", files={"file": ("apps.csv", text, "text/csv")})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "debt_to_income"

    path = tmp_path / "apps.csv"
    path.write_text(text)
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--csv",
            str(path),
            "--mapping",
            '{"debt_to_income": "dti"}',
            "--models-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered application-scorecard@1" in result.output and "synthetic" not in result.output
