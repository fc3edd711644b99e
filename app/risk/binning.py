"""Per-variable binning: optbinning finds the bins, this module owns how a value falls into one.

optbinning (monotonic trend chosen per variable among ascending/descending; categorical levels
ordered by bad rate, rare levels pooled first) gives the split points or level groups. The bin a
value lands in, and each bin's weight of evidence, are then computed here by one function that
both the fit and the served card call, so a missing value, a special code or an unseen category
is scored the same at training and serving. WoE here is ln(bad odds in the bin / bad odds overall):
positive = riskier than the book.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

OTHER = "__other__"  # rare levels pooled at fit; unseen levels at serving go with them
SHRINK = 2.0  # pseudo-loans at the book's rate added to each bin: keeps tiny bins' WoE finite


@dataclass
class VariableBins:
    name: str
    kind: str  # "numeric" | "categorical"
    splits: list[float] = field(default_factory=list)
    groups: list[list[str]] = field(default_factory=list)
    special_values: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # regular bins then Special, Missing, Unseen
    woe: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    bads: list[int] = field(default_factory=list)
    iv: float = 0.0
    trend: str = ""
    pooled_levels: list[str] = field(default_factory=list)

    @property
    def n_regular(self) -> int:
        return len(self.splits) + 1 if self.kind == "numeric" else len(self.groups)

    @property
    def special_bin(self) -> int:
        return self.n_regular

    @property
    def missing_bin(self) -> int:
        return self.n_regular + 1

    @property
    def unseen_bin(self) -> int:
        return self.n_regular + 2

    def bin_index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each value (regular 0..k-1, then Special, Missing, Unseen)."""
        if self.kind == "numeric":
            v = np.asarray(x, dtype=np.float64)
            idx = np.searchsorted(np.asarray(self.splits, dtype=np.float64), v, side="right")
            idx = np.where(np.isin(v, self.special_values), self.special_bin, idx)
            return np.where(np.isnan(v), self.missing_bin, idx)
        lookup = self._lookup()
        other = lookup.get(OTHER, self.unseen_bin)
        out = np.empty(len(x), dtype=np.int64)
        for i, v in enumerate(x):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                out[i] = self.missing_bin
            else:
                out[i] = lookup.get(str(v), other)
        return out

    def _lookup(self) -> dict[str, int]:
        cached = self.__dict__.get("_levels")
        if cached is None:
            cached = {level: i for i, g in enumerate(self.groups) for level in g}
            self.__dict__["_levels"] = cached
        return cached

    def bin_of(self, value: float | str | None) -> int:
        """The bin of one value; the same answer as ``bin_index`` without building arrays (serving)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing_bin
        if self.kind == "numeric":
            x = float(value)
            if x in self.special_values:
                return self.special_bin
            return bisect.bisect_right(self.splits, x)
        lookup = self._lookup()
        return lookup.get(str(value), lookup.get(OTHER, self.unseen_bin))

    def woe_of(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.woe, dtype=np.float64)[self.bin_index(x)]

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _label_numeric(splits: list[float]) -> list[str]:
    if not splits:
        return ["(-inf, inf)"]
    edges = [-math.inf, *splits, math.inf]
    return [f"[{edges[i]:.6g}, {edges[i + 1]:.6g})" for i in range(len(edges) - 1)]


def _pool_rare(x: np.ndarray, rare_share: float) -> tuple[np.ndarray, list[str]]:
    present = np.array([v is not None and not (isinstance(v, float) and math.isnan(v)) for v in x])
    levels, counts = np.unique(x[present].astype(str), return_counts=True)
    threshold = max(rare_share * len(x), 10)
    rare = set(levels[counts < threshold].tolist())
    out = np.array(
        [None if not p else (OTHER if str(v) in rare else str(v)) for v, p in zip(x, present, strict=True)],
        dtype=object,
    )
    return out, sorted(rare)


def fit_bins(
    name: str,
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    special_values: list[float] | None = None,
    rare_share: float = 0.02,
) -> VariableBins:
    """Optimal bins for one variable on (x, y); WoE, counts and IV from this module's bin_index."""
    from optbinning import OptimalBinning  # heavy import: only when training

    n = len(y)
    min_size = max(0.05, 10 / max(n, 1))
    specials = [float(s) for s in special_values or []]
    pooled: list[str] = []
    if kind == "numeric":
        v = np.asarray(x, dtype=np.float64)
        optb = OptimalBinning(
            name=name,
            dtype="numerical",
            prebinning_method="cart",
            max_n_prebins=20,
            min_prebin_size=min_size,
            min_bin_size=min_size,
            monotonic_trend="auto_asc_desc",
            special_codes=specials or None,
            solver="cp",
            time_limit=20,
        )
        splits: list[float] = []
        regular = np.isfinite(v) & ~np.isin(v, specials)
        if regular.sum() >= 2 and len(np.unique(v[regular])) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optb.fit(v, y)
            splits = [float(s) for s in optb.splits]
        bins = VariableBins(
            name, "numeric", splits=splits, special_values=specials, labels=_label_numeric(splits)
        )
    else:
        cats, pooled = _pool_rare(np.asarray(x, dtype=object), rare_share)
        present = np.array([c is not None for c in cats])
        groups: list[list[str]] = []
        if present.any() and len({c for c in cats[present]}) > 1:
            optb = OptimalBinning(
                name=name,
                dtype="categorical",
                min_prebin_size=min_size,
                min_bin_size=min_size,
                monotonic_trend="auto_asc_desc",
                solver="cp",
                time_limit=20,
            )
            arr = np.array([c if c is not None else np.nan for c in cats], dtype=object)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optb.fit(arr, y)
            groups = [[str(c) for c in g] for g in optb.splits]
        seen = {c for g in groups for c in g}
        rest = sorted({str(c) for c in cats[present]} - seen)
        if rest:  # levels optbinning left out (or a single level): one more bin
            groups.append(rest)
        bins = VariableBins(
            name, "categorical", groups=groups, pooled_levels=pooled, labels=[_label_group(g) for g in groups]
        )
    bins.labels += ["Special", "Missing", "Unseen level" if kind == "categorical" else "Unseen"]
    _fill_woe(bins, bins.bin_index(x if kind != "numeric" else np.asarray(x, dtype=np.float64)), y)
    return bins


def _label_group(levels: list[str]) -> str:
    shown = [("other (rare levels pooled)" if lv == OTHER else lv) for lv in levels[:6]]
    more = f" +{len(levels) - 6} more" if len(levels) > 6 else ""
    return "{" + ", ".join(shown) + more + "}"


def _fill_woe(bins: VariableBins, idx: np.ndarray, y: np.ndarray) -> None:
    k = bins.n_regular + 3
    counts = np.bincount(idx, minlength=k)
    bads = np.bincount(idx, weights=y, minlength=k)
    p = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    rate = (bads + SHRINK * p) / (counts + SHRINK)
    woe = np.log(rate / (1 - rate)) - math.log(p / (1 - p))
    woe = np.where(counts == 0, 0.0, woe)  # no loans in the bin: scored at the book's average
    goods = counts - bads
    total_bad, total_good = max(bads.sum(), 1), max(goods.sum(), 1)
    db = (bads + 0.5) / (total_bad + 0.5 * k)
    dg = (goods + 0.5) / (total_good + 0.5 * k)
    iv = float(np.sum(np.where(counts > 0, (db - dg) * np.log(db / dg), 0.0)))
    bins.woe = [float(w) for w in woe]
    bins.counts = [int(c) for c in counts]
    bins.bads = [int(b) for b in bads]
    bins.iv = iv
    regular = [w for w, c in zip(woe[: bins.n_regular], counts[: bins.n_regular], strict=True) if c > 0]
    if bins.kind == "categorical":
        bins.trend = "categorical (levels grouped by bad rate)"
    elif len(regular) < 2:
        bins.trend = "single bin"
    elif all(b >= a for a, b in itertools.pairwise(regular)):
        bins.trend = "ascending (risk rises with the value)"
    elif all(b <= a for a, b in itertools.pairwise(regular)):
        bins.trend = "descending (risk falls as the value rises)"
    else:
        bins.trend = "non-monotone"


def bins_from_json(data: dict[str, Any]) -> VariableBins:
    return VariableBins(**data)
