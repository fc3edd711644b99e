"""Scorecard service: train on a lender's book and register, promote a version, score applications.

Training registers a new version but never serves it: scoring uses the version a model
administrator *promoted* (``promoted.json`` beside the versions), so a newer upload cannot
silently replace the card a bank decides with. Each bank has its own model name
(``application-scorecard-<org>``) so one bank's versions are never another's default.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from app.risk.book import read_book, read_csv_text
from app.risk.colspec import ScorecardSpec
from app.risk.report import render_report
from app.risk.scorecard import CompiledScorecard, Score
from app.risk.training import TrainingResult, train_book
from app.valuation.canonical import canonical_hash, canonical_json, sha256_hex
from app.valuation.errors import FieldProblem, InputError, ModelNotFoundError
from app.valuation.registry import ModelRegistry, RegisteredModel, check_name, parse_ref

logger = logging.getLogger(__name__)

SCORECARD_NAME = "application-scorecard"
KIND = "points-scorecard/2"
REPORT = "report.html"
PROMOTED = "promoted.json"
PROMOTIONS_LOG = "promotions.jsonl"


@dataclass(frozen=True)
class TrainingLimits:
    """Bounds on one training request (the API's defaults; the CLI passes wider ones)."""

    max_bytes: int = 64 * 1024 * 1024
    max_rows: int = 100_000
    max_columns: int = 200
    max_lightgbm_rounds: int = 1000
    max_cv_fits: int = 20  # folds x repeats

    def check_csv(self, data: bytes) -> None:
        if len(data) > self.max_bytes:
            raise InputError.single("file", f"CSV is {len(data):,} bytes; the limit is {self.max_bytes:,}")

    def check_frame(self, raw: pd.DataFrame) -> None:
        problems = []
        if len(raw) > self.max_rows:
            problems.append(
                FieldProblem("file", f"{len(raw):,} loans; the limit is {self.max_rows:,} per training")
            )
        if raw.shape[1] > self.max_columns:
            problems.append(FieldProblem("file", f"{raw.shape[1]} columns; the limit is {self.max_columns}"))
        if problems:
            raise InputError(problems)

    def check_spec(self, spec: ScorecardSpec) -> None:
        problems = []
        if spec.challengers.lightgbm_max_rounds > self.max_lightgbm_rounds:
            problems.append(
                FieldProblem(
                    "spec.challengers.lightgbm_max_rounds",
                    f"{spec.challengers.lightgbm_max_rounds} boosting rounds; "
                    f"the limit is {self.max_lightgbm_rounds}",
                )
            )
        fits = spec.cv.folds * spec.cv.repeats
        if fits > self.max_cv_fits:
            problems.append(
                FieldProblem(
                    "spec.cv",
                    f"{spec.cv.folds} folds x {spec.cv.repeats} repeats = {fits} fits per "
                    f"candidate; the limit is {self.max_cv_fits}",
                )
            )
        if problems:
            raise InputError(problems)


API_LIMITS = TrainingLimits()
CLI_LIMITS = TrainingLimits(
    max_bytes=2 * 1024**3, max_rows=2_000_000, max_columns=2000, max_lightgbm_rounds=5000, max_cv_fits=100
)


@dataclass(frozen=True)
class Promotion:
    version: int
    model_id: str
    by: str
    at: str
    reason: str


class ScorecardService:
    def __init__(self, registry: ModelRegistry | None = None, name: str = SCORECARD_NAME):
        self.registry = registry or ModelRegistry()
        self.name = check_name(name)
        self._cache: dict[tuple[str, int], tuple[RegisteredModel, CompiledScorecard]] = {}
        self._lock = threading.Lock()
        self._promoted: tuple[tuple[int, int, int], Promotion] | None = None

    # ---- training -------------------------------------------------------------------------------

    def train_csv(
        self,
        data: bytes,
        spec: ScorecardSpec,
        source: str,
        limits: TrainingLimits = API_LIMITS,
        trained_by: str = "",
    ) -> tuple[RegisteredModel, TrainingResult]:
        """Read, check the limits, train and register (not promoted)."""
        limits.check_csv(data)
        limits.check_spec(spec)
        raw = read_csv_text(data)
        limits.check_frame(raw)
        book = read_book(raw, spec)
        book.data_sha256 = sha256_hex(data)  # the hash of the bytes the lender gave, not of our parse
        result = train_book(book, spec, source)
        result.model_card["data"]["sha256"] = book.data_sha256
        return self.register(result, trained_by), result

    def train_frame(
        self,
        frame: pd.DataFrame,
        spec: ScorecardSpec,
        source: str,
        limits: TrainingLimits = API_LIMITS,
        trained_by: str = "",
    ) -> tuple[RegisteredModel, TrainingResult]:
        limits.check_spec(spec)
        limits.check_frame(frame)
        result = train_book(read_book(frame, spec), spec, source)
        return self.register(result, trained_by), result

    def register(self, result: TrainingResult, trained_by: str = "") -> RegisteredModel:
        pooled = result.cv.pooled
        meta = {
            "kind": KIND,
            "features": result.compiled.features,
            "model_card": result.model_card,
            "model_card_sha256": result.model_card_sha256,
            "metrics": {
                "cv": result.model_card["cross_validation"]["candidates"].get("scorecard", {}),
                "pooled_auc": pooled.get("scorecard", {}).get("auc"),
            },
            "training": {
                "source": result.model_card["data"]["source"],
                "rows": len(result.book.y),
                "data_sha256": result.book.data_sha256,
                "trained_by": trained_by,
            },
        }
        registered = self.registry.register(
            self.name, "scorecard.json", result.artefact, json.loads(canonical_json(meta))
        )
        try:
            (registered.path / REPORT).write_text(render_report(result, registered.ref), encoding="utf-8")
        except OSError as exc:  # the card is registered; the report can be rendered again
            logger.warning("could not write the report of %s: %s", registered.ref, exc)
        return registered

    # ---- promotion ------------------------------------------------------------------------------

    def promoted(self) -> Promotion | None:
        """The promotion in force; re-read only when the file changes (a stat per score)."""
        path = self.registry.root / self.name / PROMOTED
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = self._promoted
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            promotion = Promotion(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        self._promoted = (stamp, promotion)
        return promotion

    def promote(self, version: int, by: str, reason: str = "") -> Promotion:
        """Serve ``version`` from now on; written atomically and logged with who and why."""
        registered = self.registry.get(self.name, version)
        if registered.meta.get("kind") != KIND:
            raise InputError.single("version", f"{registered.ref} is not a scorecard this service can serve")
        registered.artefact()  # refuses a tampered artefact before it is served
        if len(reason) > 500:
            raise InputError.single("reason", "longer than 500 characters")
        promotion = Promotion(
            version, registered.model_id, by, datetime.now(UTC).isoformat(timespec="seconds"), reason
        )
        folder = self.registry.root / self.name
        fd, tmp = tempfile.mkstemp(prefix=".promoted-", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(promotion.__dict__, fh)
        os.replace(tmp, folder / PROMOTED)
        with (folder / PROMOTIONS_LOG).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(promotion.__dict__) + "\n")
        logger.info("promoted %s@%d (%s) by %s", self.name, version, registered.model_id, by)
        return promotion

    def promotions(self) -> list[Promotion]:
        path = self.registry.root / self.name / PROMOTIONS_LOG
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [Promotion(**json.loads(line)) for line in lines if line.strip()]

    # ---- serving --------------------------------------------------------------------------------

    def load(self, ref: str | None = None) -> tuple[RegisteredModel, CompiledScorecard]:
        """A named version, or the promoted one (never simply the newest)."""
        if ref:
            name, version = parse_ref(ref, self.name)
            if name != self.name:
                raise ModelNotFoundError(f"model {name!r} is not this service's scorecard ({self.name})")
            if version is None:
                raise ModelNotFoundError(f"give a version: {self.name}@<n>")
        else:
            promotion = self.promoted()
            if promotion is None:
                raise ModelNotFoundError(
                    f"no promoted version of {self.name}: a model administrator promotes one "
                    "(POST /risk/scorecard/promote or `mledger risk promote`)"
                )
            version = promotion.version
        key = (self.name, version)
        with self._lock:
            if key in self._cache:  # versions are immutable: no need to read meta.json again
                return self._cache[key]
        registered = self.registry.get(self.name, version)
        with self._lock:
            if key not in self._cache:
                if registered.meta.get("kind") != KIND:
                    raise ModelNotFoundError(f"{registered.ref} is not a {KIND} scorecard")
                card = CompiledScorecard.from_json(json.loads(registered.artefact()))
                self._cache[key] = (registered, card)
            return self._cache[key]

    def score(
        self, application: Mapping[str, Any], ref: str | None = None
    ) -> tuple[RegisteredModel, CompiledScorecard, Score, str]:
        """Score one application; absent fields and unseen levels are scored, impossible values refused."""
        registered, card = self.load(ref)
        values, problems = card.read(application)
        if problems:
            raise InputError(
                [FieldProblem(f"application.{p.field}", p.reason, None, p.value) for p in problems]
            )
        used = {n: application.get(n) for n in card.readers}
        return (
            registered,
            card,
            card.score_values(values),
            canonical_hash(
                {
                    k: v if v is None or isinstance(v, str | int | float | bool) else str(v)
                    for k, v in used.items()
                }
            ),
        )

    def report(self, version: int) -> Path:
        registered = self.registry.get(self.name, version)
        path = registered.path / REPORT
        if not path.exists():
            raise ModelNotFoundError(f"{registered.ref} has no report")
        return path


def report_path(registered: RegisteredModel) -> Path:
    return Path(registered.path) / REPORT
