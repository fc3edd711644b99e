"""The candidate models the training chooses between, all on log price (minus log list price).

- ``segment-median``: the median of the finest segment node with enough sales (simple reference).
- ``depreciation-curve``: per segment node, log price linear in age and mileage with non-positive
  slopes (value never rises with age or use), each node shrunk toward its parent in proportion to
  how few sales it has.
- ``linear``: ridge regression on every used column (one-hot levels, standardised numbers, a bend
  in age), the penalty chosen by efficient leave-one-out.
- ``boosting``: LightGBM, monotone in age and mileage, its size (leaves) and rounds tuned by inner
  cross-validation with early stopping on the training rows it is given.
- ``blend``: non-negative weights on the others' predictions (set by the selection on
  out-of-fold predictions, see :mod:`app.valuation.selection`).

Each model serialises to plain JSON (the booster as its text form), never a pickle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear
from sklearn.linear_model import RidgeCV

from app.valuation.design import Design, Frame

MIN_NODE_ROWS = 5  # segment-median: a node needs this many sales to speak for itself
CURVE_PRIOR_ROWS = 12.0  # depreciation curve: the parent weighs like this many sales
MAX_ROUNDS_DEFAULT = 1000


class Candidate(Protocol):
    family: str

    def fit(self, design: Design, frame: pd.DataFrame, y: np.ndarray) -> Candidate: ...
    def predict(self, design: Design, frame: Frame) -> np.ndarray: ...
    def to_json(self) -> dict[str, Any]: ...


def _lookup_finest(tables: list[dict[str, Any]], keys: list[np.ndarray], n: int) -> list[Any]:
    """For each row, the entry of its finest hierarchy node present in ``tables`` (level by level)."""
    out: list[Any] = [tables[0]["*"]] * n
    for level in range(1, len(tables)):
        table = tables[level]
        col = keys[level]
        for i in range(n):
            hit = table.get(col[i])
            if hit is not None:
                out[i] = hit
    return out


@dataclass
class SegmentMedian:
    family: str = "segment-median"
    tables: list[dict[str, float]] = field(default_factory=list)

    def fit(self, design: Design, frame: pd.DataFrame, y: np.ndarray) -> SegmentMedian:
        keys = design.hierarchy_keys(frame)
        self.tables = []
        for col in keys:
            grouped = pd.DataFrame({"k": col, "y": y}).groupby("k")["y"]
            med, cnt = grouped.median(), grouped.size()
            self.tables.append(
                {str(k): float(v) for k, v in med.items() if cnt[k] >= MIN_NODE_ROWS or k == "*"}
            )
        return self

    def predict(self, design: Design, frame: Frame) -> np.ndarray:
        return np.array(
            _lookup_finest(self.tables, design.hierarchy_keys(frame), len(frame)), dtype=np.float64
        )

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "tables": self.tables}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SegmentMedian:
        return cls(tables=[{str(k): float(v) for k, v in t.items()} for t in d["tables"]])


@dataclass
class DepreciationCurve:
    family: str = "depreciation-curve"
    prior_rows: float = CURVE_PRIOR_ROWS
    tables: list[dict[str, list[float]]] = field(default_factory=list)

    def fit(self, design: Design, frame: pd.DataFrame, y: np.ndarray) -> DepreciationCurve:
        x = design.curve_matrix(frame)
        keys = design.hierarchy_keys(frame)
        p = x.shape[1]
        lower = np.r_[-np.inf, np.full(p - 1, -np.inf)]
        upper = np.r_[np.inf, np.zeros(p - 1)]  # slopes on age and mileage: never positive
        # the whole market: a touch of ridge toward a flat curve keeps it defined on one age
        scale = np.sqrt(np.maximum(np.cov(x[:, 1:].T).reshape(p - 1, p - 1).diagonal(), 1e-6))
        root = _bounded_fit(
            x, y, np.r_[np.median(y), np.zeros(p - 1)], np.r_[0.0, 1e-3 * scale], lower, upper
        )
        self.tables = [{"*": [float(v) for v in root]}]
        parent_of = {"*": root}
        # prior precision: slopes weigh like `prior_rows` sales spread as the data are; the level
        # (intercept) weighs as much as the spread of node levels says (empirical Bayes, per level)
        for level in range(1, len(keys)):
            table: dict[str, list[float]] = {}
            prev = keys[level - 1]
            parent_rows = np.array([parent_of[str(p)] for p in prev])
            resid = y - np.sum(parent_rows * x, axis=1)
            k_level = _level_prior_rows(keys[level], resid)
            prior_w = np.r_[np.sqrt(k_level), np.sqrt(self.prior_rows) * scale]
            for node in np.unique(keys[level]):
                mask = keys[level] == node
                parent = parent_of[str(prev[mask][0])]
                beta = _bounded_fit(x[mask], y[mask], parent, prior_w, lower, upper)
                table[str(node)] = [float(v) for v in beta]
            parent_of = {k: np.array(v) for k, v in table.items()}
            self.tables.append(table)
        return self

    def coefficients(self, design: Design, frame: Frame) -> np.ndarray:
        return np.array(
            _lookup_finest(self.tables, design.hierarchy_keys(frame), len(frame)), dtype=np.float64
        )

    def predict(self, design: Design, frame: Frame) -> np.ndarray:
        beta = self.coefficients(design, frame)
        return np.sum(beta * design.curve_matrix(frame), axis=1)

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "prior_rows": self.prior_rows, "tables": self.tables}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DepreciationCurve:
        return cls(prior_rows=float(d["prior_rows"]), tables=[dict(t) for t in d["tables"]])


def _level_prior_rows(nodes: np.ndarray, resid: np.ndarray) -> float:
    """σ²_within / τ²_between of the residual node means: how many sales the parent's level is worth."""
    frame = pd.DataFrame({"k": nodes, "r": resid}).groupby("k")["r"]
    means, counts, var = frame.mean(), frame.size(), frame.var(ddof=1)
    within = float(np.nanmean(var[counts > 1])) if (counts > 1).any() else float(np.var(resid)) or 1e-3
    between = float(np.var(means.to_numpy()) - np.mean(within / counts.to_numpy()))
    return float(np.clip(within / max(between, 1e-4), 0.5, 200.0))


def _bounded_fit(
    x: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    prior_sd_rows: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """Least squares with the prior as extra rows (weight per coefficient), slopes bounded."""
    a = np.vstack([x, np.diag(prior_sd_rows)])
    b = np.r_[y, prior_sd_rows * prior]
    start = np.clip(prior, lower, upper)
    res = lsq_linear(a, b, bounds=(lower, upper), method="bvls")
    return np.asarray(res.x if res.success else start, dtype=np.float64)


@dataclass
class Linear:
    family: str = "linear"
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    alpha: float = 1.0

    def fit(self, design: Design, frame: pd.DataFrame, y: np.ndarray) -> Linear:
        x = design.linear_matrix(frame)
        model = RidgeCV(alphas=np.logspace(-2, 3, 16)).fit(x, y)
        self.coef = [float(v) for v in model.coef_]
        self.intercept = float(model.intercept_)
        self.alpha = float(model.alpha_)
        return self

    def predict(self, design: Design, frame: Frame) -> np.ndarray:
        return design.linear_matrix(frame) @ np.asarray(self.coef) + self.intercept

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "coef": self.coef, "intercept": self.intercept, "alpha": self.alpha}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Linear:
        return cls(
            coef=[float(v) for v in d["coef"]], intercept=float(d["intercept"]), alpha=float(d["alpha"])
        )


def boosting_params(n: int, leaves: int, seed: int, monotone: list[int], cat_count: int) -> dict[str, Any]:
    return {
        "objective": "huber",
        "alpha": 0.15,  # huber's delta, in log price: robust to a few odd listings
        "learning_rate": 0.1,
        "num_leaves": leaves,
        "min_data_in_leaf": max(3, min(20, n // 40)),
        "min_data_per_group": max(3, min(20, n // 40)),
        "cat_smooth": 10.0,
        "max_cat_to_onehot": 8,
        "lambda_l2": 1.0,
        "feature_fraction": 0.9 if cat_count + len(monotone) > 4 else 1.0,
        "bagging_fraction": 1.0,
        "monotone_constraints": monotone,
        "monotone_constraints_method": "intermediate",
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbosity": -1,
    }


@dataclass
class Boosting:
    family: str = "boosting"
    seed: int = 7
    max_rounds: int = MAX_ROUNDS_DEFAULT
    leaves: int = 0
    rounds: int = 0
    tuning: list[dict[str, float]] = field(default_factory=list)
    booster_text: str = ""
    curve: DepreciationCurve | None = None  # the trees boost from this curve's prediction
    _booster: lgb.Booster | None = None

    def _dataset(self, design: Design, frame: pd.DataFrame, y: np.ndarray, init: np.ndarray) -> lgb.Dataset:
        cats = list(range(len(design.numeric), len(design.numeric) + len(design.categorical)))
        return lgb.Dataset(
            design.tree_matrix(frame),
            y,
            init_score=init,
            feature_name=design.tree_features(),
            categorical_feature=cats,
            free_raw_data=False,
        )

    def fit(self, design: Design, frame: pd.DataFrame, y: np.ndarray) -> Boosting:
        n = len(frame)
        self.curve = DepreciationCurve().fit(design, frame, y)
        data = self._dataset(design, frame, y, self.curve.predict(design, frame))
        grid = [2, 4] if n < 300 else [4, 8, 16] if n < 3000 else [8, 16, 31]
        nfold = 3 if n >= 60 else 2
        best: tuple[float, int, int] | None = None
        self.tuning = []
        for leaves in grid:
            params = boosting_params(n, leaves, self.seed, design.monotone(), len(design.categorical))
            params["metric"] = "l1"
            cv = lgb.cv(
                params,
                data,
                num_boost_round=self.max_rounds,
                nfold=nfold,
                stratified=False,
                shuffle=True,
                seed=self.seed,
                callbacks=[lgb.early_stopping(20, verbose=False)],
            )
            curve = cv["valid l1-mean"]
            if not isinstance(curve, list):  # the booster comes back only with return_cvbooster=True
                raise TypeError(f"lightgbm cv returned {type(curve).__name__} for the l1 curve, not a list")
            rounds, score = len(curve), float(curve[-1])
            self.tuning.append({"num_leaves": leaves, "rounds": rounds, "inner_cv_mae_log": score})
            if best is None or score < best[0]:
                best = (score, leaves, rounds)
        assert best is not None
        _, self.leaves, rounds = best
        # the inner folds saw (nfold-1)/nfold of the rows: scale rounds up for the full set
        self.rounds = min(self.max_rounds, max(1, math.ceil(rounds * nfold / (nfold - 1) * 0.9)))
        params = boosting_params(n, self.leaves, self.seed, design.monotone(), len(design.categorical))
        booster = lgb.train(params, data, num_boost_round=self.rounds)
        self.booster_text = booster.model_to_string()
        self._booster = lgb.Booster(model_str=self.booster_text)
        return self

    @property
    def booster(self) -> lgb.Booster:
        if self._booster is None:
            self._booster = lgb.Booster(model_str=self.booster_text)
        return self._booster

    def predict(self, design: Design, frame: Frame) -> np.ndarray:
        assert self.curve is not None
        trees = np.asarray(self.booster.predict(design.tree_matrix(frame), num_threads=1), dtype=np.float64)
        return self.curve.predict(design, frame) + trees

    def contributions(self, design: Design, frame: Frame) -> np.ndarray:
        """TreeSHAP of the trees (the curve's part is added by the caller)."""
        return np.asarray(self.booster.predict(design.tree_matrix(frame), pred_contrib=True, num_threads=1))

    def importance(self, design: Design) -> dict[str, float]:
        gain = self.booster.feature_importance(importance_type="gain")
        total = float(gain.sum()) or 1.0
        return {f: float(g) / total for f, g in zip(design.tree_features(), gain, strict=True)}

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "seed": self.seed,
            "max_rounds": self.max_rounds,
            "leaves": self.leaves,
            "rounds": self.rounds,
            "tuning": self.tuning,
            "booster": self.booster_text,
            "curve": self.curve.to_json() if self.curve else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Boosting:
        return cls(
            seed=int(d["seed"]),
            max_rounds=int(d["max_rounds"]),
            leaves=int(d["leaves"]),
            rounds=int(d["rounds"]),
            tuning=list(d["tuning"]),
            booster_text=str(d["booster"]),
            curve=DepreciationCurve.from_json(d["curve"]),
        )


@dataclass
class Blend:
    family: str = "blend"
    weights: dict[str, float] = field(default_factory=dict)
    parts: dict[str, Any] = field(default_factory=dict)

    def fit(self, design: Design, frame: pd.DataFrame, y: np.ndarray) -> Blend:
        for name in self.weights:
            self.parts[name] = make_candidate(name, seed=getattr(self, "seed", 7)).fit(design, frame, y)
        return self

    def predict(self, design: Design, frame: Frame) -> np.ndarray:
        return sum(
            (w * self.parts[k].predict(design, frame) for k, w in self.weights.items()),
            start=np.zeros(len(frame)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "weights": self.weights,
            "parts": {k: p.to_json() for k, p in self.parts.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Blend:
        return cls(
            weights={k: float(v) for k, v in d["weights"].items()},
            parts={k: candidate_from_json(p) for k, p in d["parts"].items()},
        )


BASE_FAMILIES = ("segment-median", "depreciation-curve", "linear", "boosting")


def make_candidate(family: str, seed: int = 7, max_rounds: int = MAX_ROUNDS_DEFAULT) -> Any:
    if family == "segment-median":
        return SegmentMedian()
    if family == "depreciation-curve":
        return DepreciationCurve()
    if family == "linear":
        return Linear()
    if family == "boosting":
        return Boosting(seed=seed, max_rounds=max_rounds)
    raise ValueError(f"unknown model family {family!r}")


def candidate_from_json(d: dict[str, Any]) -> Any:
    family = d["family"]
    loaders = {
        "segment-median": SegmentMedian,
        "depreciation-curve": DepreciationCurve,
        "linear": Linear,
        "boosting": Boosting,
        "blend": Blend,
    }
    if family not in loaders:
        raise ValueError(f"unknown model family {family!r}")
    return loaders[family].from_json(d)  # type: ignore[attr-defined]
