"""A master scale built from the book: contiguous PD bands with monotone default rates.

Bands are cut on the card's PD so that each holds at least ``min_share`` of the loans and the
log-odds inside a band vary as little as possible (optimal partition by dynamic programming over
quantile atoms); adjacent bands whose observed default rates do not rise are merged. Each band
gets a two-sided binomial test of its defaults against its mean predicted PD.
"""

from __future__ import annotations

import itertools
import string

import numpy as np
from scipy.stats import binomtest

from app.risk.scorecard import Band

ATOMS = 60


def build_master_scale(
    pd_: np.ndarray,
    y: np.ndarray,
    n_bands: int = 7,
    min_share: float = 0.03,
    offset: float = 0.0,
    factor: float = 1.0,
) -> list[Band]:
    """Bands A (safest) onwards on the given PDs; ``offset``/``factor`` convert PD limits to points."""
    pd_ = np.asarray(pd_, dtype=float)
    y = np.asarray(y, dtype=int)
    n = len(pd_)
    cuts = np.unique(np.quantile(pd_, np.linspace(0, 1, ATOMS + 1)[1:-1]))
    atom = np.searchsorted(cuts, pd_, side="right")  # atom i holds pd in [cuts[i-1], cuts[i])
    k = len(cuts) + 1
    counts = np.bincount(atom, minlength=k).astype(float)
    lo = np.log(np.clip(pd_, 1e-9, 1 - 1e-9) / np.clip(1 - pd_, 1e-9, 1))
    s1 = np.bincount(atom, weights=lo, minlength=k)
    s2 = np.bincount(atom, weights=lo * lo, minlength=k)
    c_n, c_s1, c_s2 = (np.concatenate([[0.0], np.cumsum(a)]) for a in (counts, s1, s2))
    need = min_share * n

    def cost(i: int, j: int) -> float:  # atoms i..j-1 as one band
        m = c_n[j] - c_n[i]
        if m < need:
            return np.inf
        s = c_s1[j] - c_s1[i]
        return float((c_s2[j] - c_s2[i]) - s * s / m)

    best_groups = None
    for bands in range(min(n_bands, k), 0, -1):
        inf = np.inf
        dp = np.full((bands + 1, k + 1), inf)
        back = np.zeros((bands + 1, k + 1), dtype=int)
        dp[0, 0] = 0.0
        for b in range(1, bands + 1):
            for j in range(1, k + 1):
                for i in range(b - 1, j):
                    if dp[b - 1, i] < inf:
                        c = dp[b - 1, i] + cost(i, j)
                        if c < dp[b, j]:
                            dp[b, j], back[b, j] = c, i
        if dp[bands, k] < inf:
            edges, j = [k], k
            for b in range(bands, 0, -1):
                j = back[b, j]
                edges.append(j)
            best_groups = sorted(edges)
            break
    if best_groups is None:
        best_groups = [0, k]
    # atoms -> band boundaries; merge bands whose observed rate does not rise
    bounds = list(best_groups)
    while True:
        rates = []
        for a, b in itertools.pairwise(bounds):
            mask = (atom >= a) & (atom < b)
            rates.append(y[mask].mean() if mask.any() else 0.0)
        bad = [i for i in range(1, len(rates)) if rates[i] <= rates[i - 1]]
        if not bad:
            break
        del bounds[bad[0]]
    names = list(string.ascii_uppercase)
    out: list[Band] = []
    for idx, (a, b) in enumerate(itertools.pairwise(bounds)):
        mask = (atom >= a) & (atom < b)
        upper = float(cuts[b - 1]) if b - 1 < len(cuts) else 1.0
        loans, bads = int(mask.sum()), int(y[mask].sum())
        mean_pd = float(pd_[mask].mean()) if loans else 0.0
        p_value = float(binomtest(bads, loans, min(max(mean_pd, 1e-9), 1 - 1e-9)).pvalue) if loans else 1.0
        points_lower = float(offset + factor * np.log((1 - upper) / upper)) if upper < 1 else None
        out.append(
            Band(
                names[idx],
                upper,
                points_lower,
                mean_pd,
                bads / loans if loans else 0.0,
                loans / n,
                loans,
                bads,
                p_value,
            )
        )
    return out
