from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.valuation.dataset import SalesData, read_sales
from app.valuation.lender_shapes import lender_sales, to_csv
from app.valuation.model import TrainConfig, TrainingResult
from app.valuation.registry import ModelRegistry, RegisteredModel
from app.valuation.service import ValuationService
from app.valuation.synthetic import SyntheticMarket, generate_market
from tests.unit.api.conftest import api, make_client, users_template  # noqa: F401  (gateway fixtures)

SMALL = TrainConfig(num_boost_round=300)

VEHICLE = {
    "make": "Toyota", "model": "Camry", "trim": "2.5HG", "powertrain": "hybrid", "transmission": "automatic",
    "first_registration": "2021-05-12", "valuation_date": "2024-11-30", "mileage_km": 52_000,
    "region": "HZ", "repair_cost_recent_3m": 0, "repair_cost_older": 3_200, "claims_count": 0,
    "accident_severity": 0, "condition_grade": 4, "new_price": 219_800,
}  # fmt: skip


@dataclass
class Trained:
    root: Path
    service: ValuationService
    registered: RegisteredModel
    result: TrainingResult
    market: SyntheticMarket


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """A model on the full synthetic market (every known column), registered and promoted."""
    root = tmp_path_factory.mktemp("models")
    service = ValuationService(ModelRegistry(root))
    market = generate_market(1500, seed=11)
    registered, result = service.train_and_register(market.sales, market.index, SMALL, source="synthetic")
    return Trained(root, service, registered, result, market)


def shaped(shape: str, n: int, seed: int = 3) -> SalesData:
    """A lender-shaped file, read back through the CSV path a user's file takes."""
    return read_sales(to_csv(lender_sales(shape, n, seed=seed)))
