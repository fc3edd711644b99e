"""Shared fixtures: one small generated book trained once per session (challengers off, 3 folds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from app.risk.books import BookShape, book_csv, generate_book
from app.risk.colspec import ScorecardSpec, parse_spec
from app.risk.scoring import CLI_LIMITS, ScorecardService
from app.risk.training import TrainingResult
from app.valuation.registry import ModelRegistry, RegisteredModel

SHAPE = BookShape(
    1200, 0.25, text_outcome=True, missing_income=True, vehicle=True, high_cardinality=True, seed=11
)
APPLICATION = {
    "age": 34,
    "monthly_income": 4200,
    "employment_years": 6,
    "home_ownership": "RENT",
    "purpose": "car",
    "checking_account": "0<=X<200",
    "credit_history_months": 84,
    "delinquencies_2y": 0,
    "inquiries_6m": 1,
    "loan_amount": 15_000,
    "term_months": 36,
    "monthly_debt_payments": 700,
    "vehicle_price": 19_000,
    "vehicle_age_months": 3,
    "mileage_km": 40,
    "region_code": "R001",
}


def fast_spec(raw: dict, challengers: bool = False) -> ScorecardSpec:
    return parse_spec(
        {
            **raw,
            "cv": {"folds": 3, "repeats": 1},
            "challengers": {"enabled": challengers, "lightgbm_max_rounds": 150},
        }
    )


@dataclass
class TrainedCard:
    root: Path
    service: ScorecardService
    registered: RegisteredModel
    result: TrainingResult
    frame: pd.DataFrame
    spec: ScorecardSpec
    csv: bytes


@pytest.fixture(scope="session")
def card(tmp_path_factory: pytest.TempPathFactory) -> TrainedCard:
    root = tmp_path_factory.mktemp("risk-models")
    frame, raw = generate_book(SHAPE)
    spec = fast_spec(raw)
    service = ScorecardService(ModelRegistry(root), "application-scorecard-banka")
    data = book_csv(frame)
    registered, result = service.train_csv(data, spec, "test-book", CLI_LIMITS)
    return TrainedCard(root, service, registered, result, frame, spec, data)
