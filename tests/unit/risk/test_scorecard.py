"""The card fitted on a book: missing values and unseen levels scored the same in fit and serving,
PDs calibrated to the book, a master scale built from it, every candidate on the same folds."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from app.risk.book import frame_values, read_book
from app.risk.books import BookShape, book_csv, generate_book
from app.risk.master_scale import build_master_scale
from app.risk.scorecard import CompiledScorecard
from app.risk.training import train_book
from app.risk.validation import CARD, LGBM, MATERIAL_AUC, ONEHOT

from .conftest import APPLICATION, TrainedCard, fast_spec


def test_missing_values_scored_identically_by_fit_and_compiled_card(card: TrainedCard) -> None:
    # issue 21: the fit treated a missing value as neutral, the compiled card used the Missing bin's WoE
    book, fitted, compiled = card.result.book, card.result.card, card.result.compiled
    missing = book.frame["monthly_income"].isna().to_numpy()
    assert missing.sum() >= 100 and "monthly_income" in "".join(fitted.selected + list(compiled.readers))
    fitted_pd = fitted.predict_pd(book.frame)
    _, served_pd = compiled.score_frame(book.frame)
    assert np.abs(fitted_pd - served_pd).max() < 1e-9
    # and one application at a time, from raw fields, as /score does
    raw = card.frame.loc[card.frame["loan_status"] != "Current"].reset_index(drop=True)
    for i in np.flatnonzero(missing)[:20]:
        record = {k: v for k, v in raw.iloc[i].to_dict().items() if v != ""}
        assert compiled.score(record).pd == pytest.approx(fitted_pd[i], abs=1e-9)


def test_calibration_slope_on_the_folds(card: TrainedCard) -> None:
    pooled = card.result.cv.pooled[CARD]
    assert 0.8 <= pooled["calibration_slope"] <= 1.2 and pooled["ece"] < 0.05
    assert 0.3 <= card.result.card.shrink <= 1.0


def test_mean_pd_equals_book_rate_and_json_roundtrip(card: TrainedCard) -> None:
    compiled = card.result.compiled
    points, pd_ = compiled.score_frame(card.result.book.frame)
    assert float(pd_.mean()) == pytest.approx(card.result.book.bad_rate, abs=1e-6)
    again = CompiledScorecard.from_json(json.loads(card.result.artefact))
    assert np.allclose(again.score_frame(card.result.book.frame)[0], points)
    assert np.allclose(compiled.pd_of_points(points), pd_)


def test_absent_fields_and_unseen_levels_are_scored(card: TrainedCard) -> None:
    compiled = card.result.compiled
    full = compiled.score(APPLICATION)
    empty = compiled.score({})
    unseen = compiled.score({**APPLICATION, "home_ownership": "HOUSEBOAT", "region_code": "R999-new"})
    for s in (full, empty, unseen):
        assert 0 < s.pd < 1 and s.band and math.isfinite(s.points)
    _, problems = compiled.read({**APPLICATION, "monthly_income": "abc"})
    assert [p.field for p in problems] == ["monthly_income"]


def test_reasons_are_points_lost_against_best_bin(card: TrainedCard) -> None:
    s = card.result.compiled.score(APPLICATION, reasons=4)
    lost = [r.points_below_best for r in s.reasons]
    assert lost == sorted(lost, reverse=True) and all(x > 0 for x in lost) and len(s.reasons) <= 4
    best = {v.bins.name: v.best for v in card.result.compiled.variables}
    for r in s.reasons:
        assert r.points + r.points_below_best == pytest.approx(best[r.variable])


def test_master_scale_from_the_book(card: TrainedCard) -> None:
    bands = card.result.compiled.bands
    assert 2 <= len(bands) <= card.spec.bands
    rates = [b.observed_rate for b in bands]
    assert rates == sorted(rates) and len(set(rates)) == len(rates)
    assert all(b.share >= card.spec.min_band_share for b in bands)
    assert sum(b.loans for b in bands) == len(card.result.book.y)
    assert all(0 <= b.p_value <= 1 for b in bands)
    # a band's limit is a PD and the matching points: PD at the points limit equals the PD limit
    for b in bands[:-1]:
        assert b.points_lower is not None, f"band {b} has no lower points limit"
        assert card.result.compiled.pd_of_points(b.points_lower) == pytest.approx(b.pd_upper)


def test_master_scale_band_count_and_minimum_share() -> None:
    rng = np.random.default_rng(1)
    pd_ = 1 / (1 + np.exp(-rng.normal(-2, 1.2, 5000)))
    y = (rng.uniform(size=5000) < pd_).astype(int)
    bands = build_master_scale(pd_, y, n_bands=5, min_share=0.1)
    assert len(bands) <= 5 and all(b.share >= 0.1 for b in bands)
    assert [b.observed_rate for b in bands] == sorted(b.observed_rate for b in bands)


def test_model_card_lists_exclusions_and_decisions(card: TrainedCard) -> None:
    mc = card.result.model_card
    assert set(mc["exclusions"]["protected"]) == {"sex", "marital_status"}
    assert mc["data"]["sha256"] and mc["column_spec"]["outcome"]["column"] == "loan_status"
    assert set(mc["variable_decisions"]) == set(card.result.book.features)
    assert not {"sex", "marital_status"} & {v["name"] for v in mc["model"]["variables"]}


def test_long_run_default_rate() -> None:
    frame, raw = generate_book(BookShape(800, 0.2, seed=12))
    spec = fast_spec({**raw, "long_run_default_rate": 0.05})
    result = train_book(read_book(book_csv(frame), spec), spec)
    _, pd_ = result.compiled.score_frame(result.book.frame)
    assert float(pd_.mean()) == pytest.approx(0.05, abs=1e-6)
    assert any("long-run default rate 5.00%" in w for w in result.warnings)


def test_challengers_on_the_same_folds_and_the_report_says_which_wins() -> None:
    frame, raw = generate_book(BookShape(900, 0.3, vehicle=True, seed=13))
    spec = fast_spec(raw, challengers=True)
    result = train_book(read_book(book_csv(frame), spec), spec)
    cv = result.cv
    assert set(cv.candidates) >= {CARD, ONEHOT, LGBM, "scorecard (borrower fields only)"}
    assert {len(c.folds) for c in cv.candidates.values()} == {3}
    best = max(cv.candidates[n].mean("auc") for n in (ONEHOT, LGBM))
    gap = best - cv.candidates[CARD].mean("auc")
    said_within = any(s.startswith("The scorecard is within") for s in cv.statements)
    said_not = any("is NOT within" in s for s in cv.statements)
    assert said_within == (
        gap <= MATERIAL_AUC and not any(r["beats_card_beyond_noise"] for r in cv.comparisons)
    )
    assert said_not == (gap > MATERIAL_AUC)
    assert any(s.startswith("Vehicle and loan fields add") for s in cv.statements)


def test_frame_values_matches_book_reading(card: TrainedCard) -> None:
    raw = card.frame.loc[card.frame["loan_status"] != "Current"].reset_index(drop=True).astype(str)
    values, problems = frame_values(card.result.compiled.readers, card.result.compiled.derived, raw)
    assert not problems
    a = card.result.compiled.score_frame(values)[1]
    b = card.result.compiled.score_frame(card.result.book.frame)[1]
    assert np.allclose(a, b)
    assert isinstance(values, pd.DataFrame)


def test_scalar_bin_lookup_matches_vectorised(card: TrainedCard) -> None:
    frame = card.result.book.frame
    for var in card.result.compiled.variables:
        b = var.bins
        column = frame[b.name].to_numpy()
        extra = (
            np.array([np.nan, -1.0, 1e12, -1e12], dtype=float)
            if b.kind == "numeric"
            else np.array([None, "never-seen", "RENT"], dtype=object)
        )
        values = (
            np.concatenate([column[:300], extra])
            if b.kind == "numeric"
            else np.concatenate([column[:300].astype(object), extra])
        )
        assert [b.bin_of(v) for v in values] == b.bin_index(values).tolist(), b.name


def test_trains_from_300_loans_with_30_bad_and_warns() -> None:
    frame, raw = generate_book(BookShape(1500, 0.2, seed=21))
    small = pd.concat([frame[frame["default"] == 1].head(30), frame[frame["default"] == 0].head(270)])
    spec = fast_spec(raw)
    result = train_book(read_book(book_csv(small), spec), spec)
    assert len(result.book.y) == 300 and result.card.selected
    assert any(w.startswith("small book (300 loans, 30 bad)") for w in result.model_card["warnings"])
    assert any("indicative only" in w for w in result.model_card["warnings"])
