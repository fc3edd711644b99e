from __future__ import annotations

import math

import numpy as np
import pytest

from app.risk.borrowers import ALL_FEATURES, generate_applications
from app.risk.scorecard import SCALING, fit_scorecard
from app.valuation.errors import InputError

from .conftest import APPLICATION, TrainedCard


def test_scorecard_beats_borrower_only_baseline(card: TrainedCard) -> None:
    full, base = card.result.metrics, card.result.baseline_metrics
    assert full["auc"] > base["auc"] + 0.01
    assert full["ks"] > base["ks"]
    assert full["auc"] > 0.7


def test_compiled_tables_match_optbinning() -> None:
    data = generate_applications(3000, seed=5)
    compiled, card = fit_scorecard(data, ALL_FEATURES, seed=5)
    x = data[list(ALL_FEATURES)]
    points, pd_ = compiled.score_frame(data)
    assert np.allclose(points, card.score(x), atol=1e-9)
    assert np.allclose(pd_, card.predict_proba(x)[:, 1], atol=1e-9)
    one = compiled.score(data.iloc[7][list(ALL_FEATURES)].to_dict())
    assert one.points == pytest.approx(points[7]) and one.pd == pytest.approx(pd_[7])


def test_points_follow_pdo_scaling(card: TrainedCard) -> None:
    """points = 600 + 20/ln2 · (ln(good:bad odds) − ln 50): 20 points double the odds."""
    _, compiled = card.service.load()
    for row in generate_applications(50, seed=9).to_dict("records"):
        s = compiled.score(row)
        factor = SCALING["pdo"] / math.log(2)
        expected = SCALING["scorecard_points"] + factor * (
            math.log((1 - s.pd) / s.pd) - math.log(SCALING["odds"])
        )
        assert s.points == pytest.approx(expected, abs=1e-6)


def test_score_names_model_and_reasons(card: TrainedCard) -> None:
    registered, score, input_hash = card.service.score(APPLICATION)
    assert registered.ref == card.registered.ref and len(input_hash) == 64
    risky = {**APPLICATION, "ltv": 1.02, "debt_to_income": 0.7, "delinquencies_24m": 3}
    _, worse, _ = card.service.score(risky)
    assert worse.points < score.points and worse.pd > score.pd
    assert {"ltv", "debt_to_income", "delinquencies_24m"} & {r.variable for r in worse.reasons}


def test_missing_or_nan_fields_are_refused(card: TrainedCard) -> None:
    with pytest.raises(InputError, match="'ltv'"):
        card.service.score({k: v for k, v in APPLICATION.items() if k != "ltv"})
    with pytest.raises(InputError, match="not a finite number"):
        card.service.score({**APPLICATION, "monthly_income": float("nan")})
