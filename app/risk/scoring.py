"""Scorecard service: train-and-register, load (cached) and score one application."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from typing import Any

import pandas as pd

from app.risk.borrowers import ALL_FEATURES, BORROWER_FEATURES
from app.risk.scorecard import CompiledScorecard, Score, ScorecardTraining, train_scorecard
from app.valuation.canonical import canonical_hash, canonical_json, sha256_hex
from app.valuation.errors import FieldProblem, InputError, ModelNotFoundError
from app.valuation.registry import ModelRegistry, RegisteredModel, parse_ref

SCORECARD_NAME = "application-scorecard"


class ScorecardService:
    def __init__(self, registry: ModelRegistry | None = None, name: str = SCORECARD_NAME):
        self.registry = registry or ModelRegistry()
        self.name = name
        self._cache: dict[tuple[str, int], tuple[RegisteredModel, CompiledScorecard]] = {}
        self._lock = threading.Lock()

    def train_and_register(self, applications: pd.DataFrame, seed: int = 7, source: str = "synthetic"
                           ) -> tuple[RegisteredModel, ScorecardTraining]:  # fmt: skip
        missing = [c for c in (*ALL_FEATURES, "default") if c not in applications.columns]
        if missing:
            raise InputError([FieldProblem(c, "column missing") for c in missing])
        result = train_scorecard(applications, ALL_FEATURES, BORROWER_FEATURES, seed=seed)
        meta = {
            "kind": "woe-logistic-scorecard",
            "features": list(ALL_FEATURES),
            "baseline_features": list(BORROWER_FEATURES),
            "scaling": result.scorecard.scaling,
            "metrics": result.metrics,
            "baseline": {"kind": "borrower-only scorecard", "metrics": result.baseline_metrics},
            "training": {"source": source, "rows": len(applications), "split": result.split, "seed": seed,
                         "data_sha256": frame_sha256_plain(applications)},
        }  # fmt: skip
        registered = self.registry.register(
            self.name, "scorecard.json", canonical_json(result.scorecard.to_json()), meta
        )
        return registered, result

    def load(self, ref: str | None = None) -> tuple[RegisteredModel, CompiledScorecard]:
        name, version = parse_ref(ref, self.name) if ref else (self.name, None)
        registered = self.registry.get(name, version)
        key = (registered.name, registered.version)
        with self._lock:
            if key not in self._cache:
                if registered.meta.get("kind") != "woe-logistic-scorecard":
                    raise ModelNotFoundError(f"{registered.ref} is not a scorecard")
                card = CompiledScorecard.from_json(json.loads(registered.artefact()))
                self._cache[key] = (registered, card)
            return self._cache[key]

    def score(
        self, application: Mapping[str, Any], ref: str | None = None
    ) -> tuple[RegisteredModel, Score, str]:
        """Score one application (every feature required, finite); returns (model, score, input hash)."""
        registered, card = self.load(ref)
        problems: list[FieldProblem] = []
        record: dict[str, float] = {}
        for name in card.features:
            value = application.get(name)
            if value is None:
                problems.append(FieldProblem(name, "required"))
                continue
            try:
                record[name] = float(value)
            except (TypeError, ValueError):
                problems.append(FieldProblem(name, "not a number", value=str(value)))
                continue
            if not math.isfinite(record[name]):
                problems.append(FieldProblem(name, "not a finite number", value=str(value)))
        if problems:
            raise InputError(problems)
        return registered, card.score(record), canonical_hash(record)


def frame_sha256_plain(frame: pd.DataFrame) -> str:
    """sha256 of the frame as canonical CSV (column order kept, no index)."""
    return sha256_hex(frame.to_csv(index=False, lineterminator="\n").encode())
