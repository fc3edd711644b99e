"""Used-car market price index by segment and month.

A published index (as the synthetic generator emits, or a data provider sells) is used as given.
Without one, :func:`derive_market_index` estimates it from the training sales only: the monthly
mean residual of a simple per-segment depreciation fit. Months after the table's end carry the
last value forward and months before its start carry the first back; every lookup says which
month it used, so a valuation never hides that its index is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd


def month_number(d: date) -> int:
    """Months since year 0, so consecutive calendar months differ by one."""
    return d.year * 12 + d.month - 1


def month_label(n: int) -> str:
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def parse_month(label: str) -> int:
    year, month = label.split("-")
    return int(year) * 12 + int(month) - 1


@dataclass(frozen=True, slots=True)
class IndexLookup:
    value: float
    month: str  # the month whose value was used
    stale: bool  # True when the requested month lies outside the table


@dataclass
class MarketIndex:
    """Index values per segment for consecutive months starting at ``start`` (a month number)."""

    start: dict[str, int]
    values: dict[str, list[float]]

    def segments(self) -> list[str]:
        return sorted(self.values)

    def lookup(self, segment: str, month: int) -> IndexLookup:
        series = self.values[segment]
        first = self.start[segment]
        pos = month - first
        clipped = min(max(pos, 0), len(series) - 1)
        return IndexLookup(series[clipped], month_label(first + clipped), clipped != pos)

    def lookup_many(self, segments: np.ndarray, months: np.ndarray) -> np.ndarray:
        out = np.empty(len(segments), dtype=np.float64)
        for seg in np.unique(segments):
            mask = segments == seg
            series = np.asarray(self.values[str(seg)], dtype=np.float64)
            pos = np.clip(months[mask] - self.start[str(seg)], 0, len(series) - 1)
            out[mask] = series[pos]
        return out

    def to_json(self) -> dict[str, object]:
        return {
            seg: {"start": month_label(self.start[seg]), "values": [float(v) for v in self.values[seg]]}
            for seg in self.segments()
        }

    @classmethod
    def from_json(cls, data: dict[str, dict[str, object]]) -> MarketIndex:
        start = {seg: parse_month(str(entry["start"])) for seg, entry in data.items()}
        values = {seg: [float(v) for v in entry["values"]] for seg, entry in data.items()}  # type: ignore[attr-defined]
        return cls(start, values)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> MarketIndex:
        """Build from rows of (segment, month 'YYYY-MM', index); gaps are filled forward."""
        start: dict[str, int] = {}
        values: dict[str, list[float]] = {}
        for seg, grp in frame.groupby("segment", sort=True):
            months = grp["month"].map(parse_month).to_numpy()
            first, last = int(months.min()), int(months.max())
            series = pd.Series(grp["index"].to_numpy(dtype=float), index=months).groupby(level=0).mean()
            full = series.reindex(range(first, last + 1)).ffill()
            start[str(seg)] = first
            values[str(seg)] = [float(v) for v in full.to_numpy()]
        return cls(start, values)


def derive_market_index(
    segments: np.ndarray,
    months: np.ndarray,
    log_ratio: np.ndarray,
    age_months: np.ndarray,
    mileage_km: np.ndarray,
    smoothing: int = 3,
) -> MarketIndex:
    """Estimate a per-segment monthly index from sales: exp(mean residual of a linear depreciation fit).

    The fit (log price ratio on age and mileage, per segment) removes vehicle mix; what is left,
    averaged by month and smoothed over ``smoothing`` months, is the market level.
    """
    start: dict[str, int] = {}
    values: dict[str, list[float]] = {}
    for seg in np.unique(segments):
        mask = segments == seg
        design = np.column_stack([np.ones(mask.sum()), age_months[mask] / 12.0, mileage_km[mask] / 1e5])
        coef, *_ = np.linalg.lstsq(design, log_ratio[mask], rcond=None)
        resid = log_ratio[mask] - design @ coef
        frame = pd.DataFrame({"m": months[mask], "r": resid}).groupby("m")["r"].mean()
        first, last = int(frame.index.min()), int(frame.index.max())
        full = frame.reindex(range(first, last + 1)).interpolate(limit_direction="both")
        smooth = full.rolling(smoothing, min_periods=1, center=True).mean()
        start[str(seg)] = first
        values[str(seg)] = [float(v) for v in np.round(np.exp(smooth.to_numpy()), 6)]
    return MarketIndex(start, values)
