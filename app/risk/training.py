"""One training run on a lender's book: cross-validate every candidate on the same folds, refit the
card on all rows, calibrate its PDs, build the master scale, and write the model card.

The model card (data hash, column spec, exclusions, variable choices, CV figures, calibration,
bands, warnings, the artefact's hash) is the document a risk committee signs and what gets
registered; its sha256 is recorded beside the model.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.risk.book import Book
from app.risk.colspec import ScorecardSpec
from app.risk.master_scale import build_master_scale
from app.risk.metrics import evaluate
from app.risk.monitoring import score_reference
from app.risk.scorecard import SCALING, CardModel, CompiledScorecard, compile_card, fit_card
from app.risk.validation import CARD, MATERIAL_AUC, CvResult, card_options, cross_validate, make_folds
from app.valuation.canonical import canonical_json, sha256_hex

logger = logging.getLogger(__name__)

MATURE_BADS = 100  # calibration slope is judged only on books with at least this many bad loans


@dataclass
class TrainingResult:
    book: Book
    spec: ScorecardSpec
    card: CardModel
    compiled: CompiledScorecard
    cv: CvResult
    in_sample: dict[str, float]
    warnings: list[str]
    model_card: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def artefact(self) -> bytes:
        return canonical_json(self.compiled.to_json())

    @property
    def model_card_sha256(self) -> str:
        return sha256_hex(canonical_json(self.model_card))


def train_book(book: Book, spec: ScorecardSpec, source: str = "") -> TrainingResult:
    start = time.perf_counter()
    specials = {n: list(r.special_numbers) for n, r in book.readers.items() if r.type != "categorical"}
    folds = make_folds(book.y, book.dates, spec.cv)
    cv = cross_validate(book.frame, book.y, book.kinds, book.groups, specials, spec, folds)
    target = spec.long_run_default_rate
    card = fit_card(book.frame, book.kinds, book.y, specials, card_options(spec, target))
    compiled = compile_card(card, book.readers, book.derived, SCALING)
    points, pd_ = compiled.score_frame(book.frame)
    compiled.bands = build_master_scale(
        pd_, book.y, spec.bands, spec.min_band_share, compiled.offset, compiled.factor
    )
    compiled.score_reference = score_reference(points)
    in_sample = evaluate(book.y, pd_)
    warnings = list(book.warnings)
    pooled = cv.pooled[CARD]
    if int(book.y.sum()) < MATURE_BADS:
        warnings.append(
            f"fewer than {MATURE_BADS} bad loans: calibration slope and band tests are indicative only"
        )
    elif not 0.8 <= pooled["calibration_slope"] <= 1.2:
        warnings.append(
            f"cross-validated calibration slope {pooled['calibration_slope']:.2f} is outside 0.8-1.2"
        )
    if target is not None:
        warnings.append(
            f"PDs calibrated to the long-run default rate {target:.2%} (book: {book.bad_rate:.2%}); "
            "band tests compare the book's defaults with long-run PDs"
        )
    leaks = [n for n in card.selected if card.bins[n].iv > 1.0]
    if leaks:
        warnings.append(
            f"information value above 1.0 for {leaks}: check these are known at application "
            "time (not recorded after the outcome)"
        )
    result = TrainingResult(book, spec, card, compiled, cv, in_sample, warnings)
    result.seconds = time.perf_counter() - start
    result.model_card = model_card(result, source)
    logger.info(
        "scorecard trained: %d loans, %d variables, CV AUC %.3f, %.1f s",
        len(book.y),
        len(card.selected),
        cv.candidates[CARD].mean("auc"),
        result.seconds,
    )
    return result


def _clean(value: Any) -> Any:
    """JSON-safe figures: NaN/inf become None, numpy scalars become floats."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else round(float(value), 6)
    return value


def model_card(result: TrainingResult, source: str) -> dict[str, Any]:
    book, card, cv = result.book, result.card, result.cv
    protected = {n: r for n, r in book.excluded.items() if r.startswith("protected") or "protected" in r}
    card_doc = {
        "schema": "mledger.risk.model-card/1",
        "model": {
            "kind": "points scorecard (optbinning bins, WoE, L2 logistic regression)",
            "scaling": result.compiled.scaling,
            "variables": [
                {
                    "name": n,
                    "group": book.groups.get(n),
                    "kind": book.kinds.get(n),
                    "iv": card.bins[n].iv,
                    "trend": card.bins[n].trend,
                    "weight": float(c),
                    "bins": len(card.bins[n].labels),
                }
                for n, c in zip(card.selected, card.coef, strict=True)
            ],
            "artefact_sha256": sha256_hex(result.artefact),
        },
        "data": {
            "source": source,
            "sha256": book.data_sha256,
            "loans": len(book.y),
            "bad": int(book.y.sum()),
            "bad_rate": book.bad_rate,
            "outcome": book.outcome,
            "notes": book.notes,
        },
        "column_spec": result.spec.model_dump(mode="json"),
        "exclusions": {
            "protected": protected,
            "other": {n: r for n, r in book.excluded.items() if n not in protected},
        },
        "variable_decisions": card.decisions,
        "implausible_values": book.implausible,
        "cross_validation": {
            "scheme": cv.folds.description,
            "candidates": cv.summary(),
            "comparisons": cv.comparisons,
            "statements": cv.statements,
            "material_auc_difference": MATERIAL_AUC,
        },
        "calibration": {
            "target_default_rate": result.spec.long_run_default_rate or book.bad_rate,
            "cross_validated": {
                k: cv.pooled[CARD][k] for k in ("calibration_slope", "calibration_intercept", "ece")
            },
            "in_sample": {k: result.in_sample[k] for k in ("calibration_slope", "ece", "mean_pd")},
        },
        "master_scale": [b.__dict__ for b in result.compiled.bands],
        "warnings": result.warnings,
        "training_seconds": result.seconds,
    }
    return _clean(card_doc)
