"""A seeded generator of a realistic *synthetic* used-car market, for demos and tests.

Depreciation curves differ by segment (luxury and EVs lose value faster), regions spread prices
(lower-tier cities pay more for used cars), the market moves in cycles (a 2021–22 supply shock,
an EV price war from 2023), and every sale carries noise. Accuracy measured on these data says
how well the pipeline recovers a known process — it is not real-market accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.valuation.catalog import CATALOG, REGIONS, SEGMENTS
from app.valuation.market_index import MarketIndex, month_label

# Per-segment depreciation: log ratio = log(r0) - k * age_years**0.85 - m * mileage/100k
_DEPRECIATION: dict[str, tuple[float, float, float]] = {
    "economy": (0.86, 0.095, 0.10),
    "compact": (0.88, 0.085, 0.09),
    "midsize": (0.87, 0.090, 0.08),
    "suv": (0.89, 0.080, 0.08),
    "luxury": (0.84, 0.120, 0.07),
    "ev": (0.82, 0.140, 0.06),
}
_CONDITION_EFFECT = {1: -0.22, 2: -0.11, 3: -0.04, 4: 0.0, 5: 0.03}
_ACCIDENT_EFFECT = {0: 0.0, 1: -0.03, 2: -0.08, 3: -0.18}
_POWERTRAIN_EFFECT = {"petrol": 0.0, "diesel": -0.03, "hybrid": 0.03, "phev": -0.02, "ev": 0.0}
_FIRST_MONTH = 2019 * 12  # 2019-01
_LAST_MONTH = 2024 * 12 + 11  # 2024-12


@dataclass(frozen=True, slots=True)
class SyntheticMarket:
    sales: pd.DataFrame  # typed sales columns (see app.valuation.dataset)
    index: MarketIndex  # the "published" market index the generator used


def market_index_truth(first: int = _FIRST_MONTH - 12, last: int = _LAST_MONTH + 12) -> MarketIndex:
    """The generator's market cycle per segment (also served as its published index)."""
    months = np.arange(first, last + 1)
    t = (months - _FIRST_MONTH) / 12.0
    values: dict[str, list[float]] = {}
    for i, seg in enumerate(SEGMENTS):
        cycle = 0.03 * np.sin(2 * np.pi * (t + 0.15 * i) / 3.0)
        shock = 0.08 * np.exp(-(((t - 2.6) / 0.6) ** 2))  # 2021-22 chip shortage
        level = cycle + (shock if seg != "ev" else 0.5 * shock)
        if seg == "ev":
            level = level - 0.10 / (1 + np.exp(-(t - 4.4) * 3))  # 2023+ price war
        values[seg] = [float(v) for v in np.round(np.exp(level), 6)]
    return MarketIndex({seg: int(first) for seg in SEGMENTS}, values)


def generate_market(n: int = 20_000, seed: int = 7, noise_sigma: float = 0.045) -> SyntheticMarket:
    """Return ``n`` sales (canonical columns) from 2019-01 to 2024-12 and the index behind them."""
    rng = np.random.default_rng(seed)
    index = market_index_truth()
    trims = CATALOG
    trim_idx = rng.integers(0, len(trims), n)
    region_idx = rng.integers(0, len(REGIONS), n)
    sale_month = rng.integers(_FIRST_MONTH, _LAST_MONTH + 1, n)
    sale_day = rng.integers(1, 29, n)
    age_months = np.clip(np.round(rng.gamma(2.2, 22.0, n)), 3, 180).astype(int)
    reg_month = sale_month - age_months
    reg_day = rng.integers(1, 29, n)
    age_exact = age_months + (sale_day - reg_day) / 30.4375

    segment = np.array([trims[i].segment for i in trim_idx])
    powertrain = np.array([trims[i].powertrain for i in trim_idx])
    tier = np.array([REGIONS[i].city_tier for i in region_idx])
    km_year = 14_000 * np.exp(rng.normal(0, 0.35, n)) * (1.0 + 0.06 * (tier - 2))
    mileage = np.round(np.maximum(km_year * age_exact / 12.0 * np.exp(rng.normal(0, 0.08, n)), 50.0), 0)
    transmission = np.where(rng.uniform(size=n) < 0.12, "manual", "automatic")
    transmission = np.where(np.isin(powertrain, ["ev", "phev", "hybrid"]), "automatic", transmission)

    new_price = np.array([trims[i].new_price for i in trim_idx]) * (1 + rng.uniform(-0.03, 0.08, n))
    new_price = np.round(new_price, -2)
    wear = age_exact / 60.0 + mileage / 150_000
    grade = np.clip(np.round(4.6 - 1.1 * wear + rng.normal(0, 0.7, n)), 1, 5).astype(int)
    claims = rng.poisson(0.06 * age_exact / 12.0)
    severity = np.where(claims > 0, rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1]), 0)
    repair_older = np.round(rng.gamma(1.5, 900.0, n) * (age_exact / 24.0) * (rng.uniform(size=n) < 0.8), 0)
    recent_hit = rng.uniform(size=n) < 0.10 + 0.02 * (age_exact / 24.0)
    repair_recent = np.round(np.where(recent_hit, rng.gamma(1.3, 2500.0, n), 0.0), 0)

    r0 = np.array([_DEPRECIATION[s][0] for s in segment])
    k = np.array([_DEPRECIATION[s][1] for s in segment])
    m = np.array([_DEPRECIATION[s][2] for s in segment])
    region_eff = (
        np.log([REGIONS[i].correction for i in region_idx]) + rng.normal(0, 0.004, len(REGIONS))[region_idx]
    )
    log_ratio = (
        np.log(r0)
        - k * (age_exact / 12.0) ** 0.85
        - m * mileage / 1e5
        + region_eff
        + np.log(index.lookup_many(segment, sale_month))
        + np.array([_CONDITION_EFFECT[g] for g in grade])
        + np.array([_ACCIDENT_EFFECT[s] for s in severity])
        - 0.015 * claims
        - 1.2 * repair_recent / new_price
        - 0.3 * repair_older / new_price
        + np.array([_POWERTRAIN_EFFECT[p] for p in powertrain])
        - 0.02 * (transmission == "manual")
        + 0.04 * (new_price / 150_000 - 1) * (segment == "luxury")
        + rng.normal(0, noise_sigma, n)
    )
    price = np.round(new_price * np.exp(log_ratio), -1)

    def to_dates(months: np.ndarray, days: np.ndarray) -> pd.Series:
        labels = [f"{month_label(int(mm))}-{int(dd):02d}" for mm, dd in zip(months, days, strict=True)]
        return pd.to_datetime(pd.Series(labels), format="%Y-%m-%d")

    sales = pd.DataFrame(
        {
            "make": [trims[i].make for i in trim_idx],
            "model": [trims[i].model for i in trim_idx],
            "trim": [trims[i].trim for i in trim_idx],
            "segment": segment,
            "powertrain": powertrain,
            "transmission": transmission,
            "first_registration": to_dates(reg_month, reg_day),
            "sale_date": to_dates(sale_month, sale_day),
            "mileage_km": mileage.astype(float),
            "region": [REGIONS[i].code for i in region_idx],
            "repair_cost_recent_3m": repair_recent.astype(float),
            "repair_cost_older": repair_older.astype(float),
            "claims_count": claims.astype(int),
            "accident_severity": severity.astype(int),
            "condition_grade": grade,
            "new_price": new_price.astype(float),
            "price": price.astype(float),
        }
    )
    sales = sales.sort_values(["sale_date", "make", "model", "trim"], kind="mergesort").reset_index(drop=True)
    return SyntheticMarket(sales, index)


def market_to_csv(market: SyntheticMarket) -> str:
    """The sales as CSV text with ISO dates (what a user would upload)."""
    frame = market.sales.copy()
    for col in ("first_registration", "sale_date"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    return frame.to_csv(index=False)
