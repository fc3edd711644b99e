"""Accuracy figures for valuations, and the depreciation-table baseline they are compared with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def accuracy(
    actual: np.ndarray, predicted: np.ndarray, low: np.ndarray | None = None, high: np.ndarray | None = None
) -> dict[str, float]:
    """MAPE, share within ±8% and ±15%, median error; interval coverage and width when given."""
    err = (predicted - actual) / actual
    out = {
        "n": float(len(actual)),
        "mape": float(np.mean(np.abs(err))),
        "within_8pct": float(np.mean(np.abs(err) <= 0.08)),
        "within_15pct": float(np.mean(np.abs(err) <= 0.15)),
        "median_error": float(np.median(err)),
    }
    if low is not None and high is not None:
        out["interval_coverage"] = float(np.mean((actual >= low) & (actual <= high)))
        out["mean_interval_width_pct"] = float(np.mean((high - low) / predicted))
    return out


@dataclass
class DepreciationTable:
    """The classic lender's table: median price/new-price ratio by segment and age in whole years."""

    ratios: dict[str, list[float]]  # segment -> ratio for age year 0..max_year
    max_year: int = 15

    @classmethod
    def fit(
        cls, segments: np.ndarray, age_months: np.ndarray, ratio: np.ndarray, max_year: int = 15
    ) -> DepreciationTable:
        years = np.clip((age_months // 12).astype(int), 0, max_year)
        frame = pd.DataFrame({"s": segments, "y": years, "r": ratio})
        overall = (
            frame.groupby("y")["r"].median().reindex(range(max_year + 1)).interpolate(limit_direction="both")
        )
        ratios: dict[str, list[float]] = {}
        for seg, grp in frame.groupby("s"):
            med = grp.groupby("y")["r"].median().reindex(range(max_year + 1))
            ratios[str(seg)] = [float(v) for v in med.fillna(overall).to_numpy()]
        return cls(ratios, max_year)

    def predict(self, segments: np.ndarray, age_months: np.ndarray, new_price: np.ndarray) -> np.ndarray:
        years = np.clip((age_months // 12).astype(int), 0, self.max_year)
        table = np.array([self.ratios[str(s)] for s in segments])
        return table[np.arange(len(years)), years] * new_price
