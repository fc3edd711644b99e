"""The single-valuation path (one vehicle as arrays, no DataFrame) gives what the batch path gives.

Point value and interval are compared, unrounded, with the batch path (``vehicle_frame`` on many
rows) and the former single path (a one-row DataFrame) to 1e-9 relative, on every candidate
family, with unseen categories, missing values and booleans given as words.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from app.valuation.candidates import BASE_FAMILIES, make_candidate
from app.valuation.design import Design, Rows
from app.valuation.model import ValuationModel, vehicle_frame, vehicle_record
from app.valuation.registry import ModelRegistry
from app.valuation.service import normalise_inputs
from app.valuation.synthetic import generate_market

from .conftest import Trained, shaped

REL = 1e-9


def as_inputs(row: pd.Series) -> dict[str, Any]:
    """A sales row as the normalised inputs a valuation request becomes."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in ("price", "sale_date") or _missing(value):
            continue
        out[str(name)] = value.date() if isinstance(value, pd.Timestamp) else value
    out["valuation_date"] = row["sale_date"].date()
    return normalise_inputs(out)


def vary(sales: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Sales with some unseen levels, missing mileage and shifted dates, to reach every fallback."""
    out = sales.copy()
    n = len(out)
    out.loc[rng.random(n) < 0.1, "make"] = "Unseen Motors"
    out.loc[rng.random(n) < 0.1, "model"] = "Model Nobody Sold"
    out.loc[rng.random(n) < 0.1, "mileage_km"] = np.nan
    return out


def single_and_batch(model: ValuationModel, inputs: list[dict[str, Any]]) -> tuple[np.ndarray, ...]:
    design = model.design
    fast = np.array([[float(a[0]) for a in model.value_frame(rows(design, rec))] for rec in inputs])
    old = np.array(
        [[float(a[0]) for a in model.value_frame(vehicle_frame([dict(rec)], design))] for rec in inputs]
    )
    frame = pd.DataFrame(inputs)
    frame["valuation_date"] = pd.to_datetime(frame["valuation_date"])
    if "first_registration" in frame:
        frame["first_registration"] = pd.to_datetime(frame["first_registration"])
    batch = np.column_stack(model.value_frame(vehicle_frame(frame, design)))
    return fast, old, batch


def rows(design: Design, rec: dict[str, Any]) -> Rows:
    return Rows.from_record(vehicle_record(dict(rec), design))


def test_chosen_model_single_path_matches_batch_and_former_path(trained: Trained) -> None:
    model = trained.service.load().model
    sales = vary(generate_market(300, seed=23).sales, np.random.default_rng(5))
    inputs = [as_inputs(r) for _, r in sales.iterrows()]
    fast, old, batch = single_and_batch(model, inputs)
    assert fast.shape == (300, 3)
    np.testing.assert_allclose(fast, batch, rtol=REL, atol=0)
    np.testing.assert_allclose(fast, old, rtol=REL, atol=0)
    assert np.all(fast[:, 1] < fast[:, 0]) and np.all(fast[:, 0] < fast[:, 2])


def test_service_response_is_the_batch_value_rounded(trained: Trained) -> None:
    model = trained.service.load().model
    sales = generate_market(40, seed=31).sales
    inputs = [as_inputs(r) for _, r in sales.iterrows()]
    _, _, batch = single_and_batch(model, inputs)
    for rec, (value, low, high) in zip(inputs, batch, strict=True):
        response = trained.service.value_inputs(rec)
        assert (response.value, response.interval.low, response.interval.high) == pytest.approx(
            (value, low, high), abs=0.006
        )


@pytest.mark.parametrize("family", [*BASE_FAMILIES])
def test_every_family_single_row_predictions_equal_frame_predictions(family: str) -> None:
    data = shaped("equipment", 300, seed=4)
    frame = data.frame
    design = Design.learn(data.columns, frame, data.has_list_price, use_time=True)
    y = np.log(frame["price"].to_numpy(dtype=np.float64))
    candidate = make_candidate(family, seed=3, max_rounds=200).fit(design, frame, y)
    test = vary(shaped("equipment", 120, seed=9).frame, np.random.default_rng(2))
    test["leather"] = np.where(test["leather"] > 0, "yes", "no")  # booleans as words
    inputs = []
    for _, r in test.iterrows():
        rec = {k: v for k, v in r.items() if k not in ("price", "sale_date") and not _missing(v)}
        rec["valuation_date"] = date.fromisoformat(str(r["sale_date"].date()))
        inputs.append(normalise_inputs(rec))
    batch_frame = vehicle_frame([dict(rec) for rec in inputs], design)
    batch = candidate.predict(design, batch_frame)
    fast = np.array([candidate.predict(design, rows(design, rec))[0] for rec in inputs])
    np.testing.assert_allclose(fast, batch, rtol=REL, atol=0)
    assert len(np.unique(np.round(fast, 6))) > 10  # the rows differ: a constant would pass trivially


def _missing(value: object) -> bool:
    return not isinstance(value, str) and bool(pd.isna(value))


def test_cached_champion_follows_a_promotion_made_by_another_process(tmp_path: Path) -> None:
    reader, other = ModelRegistry(tmp_path), ModelRegistry(tmp_path)
    assert reader.champion("residual-value") is None
    for n in (1, 2):
        other.register("residual-value", "model.json", b"{}", {"n": n})
    other.promote("residual-value", 1, "test")
    assert reader.champion("residual-value")["version"] == 1  # type: ignore[index]
    other.promote("residual-value", 2, "test", "the challenger won")
    again = reader.champion("residual-value")
    assert again is not None and again["version"] == 2 and again["previous"] == 1
