from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from app.valuation.features import FEATURES
from app.valuation.model import conformal_half_width, train_model
from app.valuation.schemas import VehicleInput
from app.valuation.synthetic import generate_market

from .conftest import SMALL, VEHICLE, Trained


def test_holdout_accuracy_meets_target_and_beats_depreciation_table(trained: Trained) -> None:
    metrics, baseline = trained.result.metrics, trained.result.baseline_metrics
    assert metrics["mape"] <= 0.08
    assert metrics["mape"] < baseline["mape"]
    assert metrics["within_15pct"] > baseline["within_15pct"]


def test_interval_reaches_stated_coverage_on_holdout(trained: Trained) -> None:
    assert trained.result.metrics["interval_coverage"] == pytest.approx(0.90, abs=0.05)
    fresh = generate_market(2000, seed=99).sales  # a second market draw the model never saw
    report = trained.service.evaluate(fresh)
    assert report["metrics"]["interval_coverage"] == pytest.approx(0.90, abs=0.05)


def test_value_is_monotone_in_age_and_mileage(trained: Trained) -> None:
    base = trained.market.sales.iloc[:200].copy()
    base["valuation_date"] = base["sale_date"]
    space = trained.service.load().model.space
    model = trained.service.load().model
    x = space.matrix(base, date_column="valuation_date")
    age, km = FEATURES.index("age_months"), FEATURES.index("mileage_km")
    for col, steps in ((age, np.arange(0, 150, 6.0)), (km, np.arange(0, 300_000, 10_000.0))):
        grid = np.repeat(x, len(steps), axis=0)
        grid[:, col] = np.tile(steps, len(x))
        pred = model.predict_log_ratio(grid).reshape(len(x), len(steps))
        assert np.all(np.diff(pred, axis=1) <= 1e-12), FEATURES[col]


def test_contributions_add_up_to_the_prediction(trained: Trained) -> None:
    result = trained.service.value(VehicleInput.model_validate(VEHICLE), explain=True)
    assert result.contributions is not None and len(result.contributions) == len(FEATURES)
    total = sum(c.log_contribution for c in result.contributions)
    base_ratio = result.base_value / VEHICLE["new_price"]  # type: ignore[operator]
    assert math.log(base_ratio) + total == pytest.approx(
        math.log(result.value / VEHICLE["new_price"]), abs=1e-4
    )
    assert result.interval.low < result.value < result.interval.high


def test_batch_and_single_paths_agree(trained: Trained) -> None:
    vehicle = VehicleInput.model_validate(VEHICLE)
    one = trained.service.value(vehicle)
    frame = pd.DataFrame([one.inputs])
    batch = trained.service.value_frame(frame)
    assert batch["value"].iloc[0] == pytest.approx(one.value, abs=0.01)


def test_training_is_deterministic() -> None:
    sales = generate_market(1200, seed=3)
    a = train_model(sales.sales, sales.index, SMALL)
    b = train_model(sales.sales, sales.index, SMALL)
    assert a.model.booster.model_to_string() == b.model.booster.model_to_string()
    assert a.metrics == b.metrics


def test_index_is_derived_from_training_sales_when_none_is_published() -> None:
    market = generate_market(2500, seed=5)
    result = train_model(market.sales, None, SMALL)
    assert result.index_source.startswith("derived")
    assert result.metrics["mape"] <= 0.08


def test_conformal_quantile_rank() -> None:
    residuals = np.arange(1, 101, dtype=float)  # ceil(101 * 0.9) = 91st smallest
    assert conformal_half_width(residuals, 0.9) == 91.0


def test_market_index_lookup_outside_table_is_marked_stale(trained: Trained) -> None:
    vehicle = VehicleInput.model_validate({**VEHICLE, "valuation_date": date.today().isoformat()})
    space = trained.service.load().model.space
    idx = space.market_index.lookup("midsize", 2040 * 12)
    assert idx.stale and idx.month == "2025-12"
    assert trained.service.value(vehicle).market_index.segment == "midsize"


def test_batch_refuses_nan_and_unknown_values_naming_row(trained: Trained) -> None:
    from app.valuation.errors import InputError

    frame = trained.market.sales.iloc[:5].copy()
    frame.loc[frame.index[2], "mileage_km"] = float("nan")
    frame.loc[frame.index[4], "region"] = "XX"
    with pytest.raises(InputError) as info:
        trained.service.value_frame(frame, date_column="sale_date")
    found = {(p.field, p.row) for p in info.value.problems}
    assert ("mileage_km", 3) in found
