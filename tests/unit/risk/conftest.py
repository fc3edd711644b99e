from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.risk.borrowers import generate_applications
from app.risk.scorecard import ScorecardTraining
from app.risk.scoring import ScorecardService
from app.valuation.registry import ModelRegistry, RegisteredModel

APPLICATION = {
    "age_years": 34, "monthly_income": 12_500, "debt_to_income": 0.32, "credit_history_months": 84,
    "delinquencies_24m": 0, "employment_years": 6, "inquiries_6m": 1, "ltv": 0.78, "vehicle_age_months": 0,
    "vehicle_mileage_km": 20, "maintenance_ratio": 0.0, "loan_term_months": 36,
}  # fmt: skip


@dataclass
class TrainedCard:
    root: Path
    service: ScorecardService
    registered: RegisteredModel
    result: ScorecardTraining


@pytest.fixture(scope="session")
def card(tmp_path_factory: pytest.TempPathFactory) -> TrainedCard:
    root = tmp_path_factory.mktemp("risk-models")
    service = ScorecardService(ModelRegistry(root))
    registered, result = service.train_and_register(generate_applications(8000, seed=21), seed=21)
    return TrainedCard(root, service, registered, result)
