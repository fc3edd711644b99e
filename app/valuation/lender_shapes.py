"""A generator of sales files shaped like the ones lenders actually have (for tests and benchmarks).

Real files are small (60–800 rows), often carry guide or asking prices with no list price, one
collection date, a body type instead of model names, many sparse equipment columns, and heavy-
tailed prices. Each shape here reproduces one of those traits on top of a common process: a
make/model effect on price level, per-body-type depreciation in age and mileage, equipment
premiums and noise. Figures measured on them are synthetic, not real-market accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHAPES = ("no_list_price", "one_sale_date", "make_body_only", "equipment", "heavy_tail")
_BODIES = {
    "hatchback": (0.11, 0.09),
    "sedan": (0.10, 0.08),
    "suv": (0.085, 0.07),
    "mpv": (0.12, 0.10),
    "pickup": (0.07, 0.05),
    "coupe": (0.13, 0.06),
}
_MAKES = (
    "Toyota",
    "Honda",
    "Ford",
    "Volkswagen",
    "Hyundai",
    "Kia",
    "Nissan",
    "BMW",
    "Mercedes",
    "Mazda",
    "Skoda",
    "Renault",
)


def lender_sales(shape: str, n: int, seed: int = 1) -> pd.DataFrame:
    """A CSV-ready frame (text dates) of ``n`` sales in the given shape."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    rng = np.random.default_rng(seed)
    bodies = list(_BODIES)
    make_level = {m: rng.normal(0, 0.25) for m in _MAKES}
    models = [
        (m, f"{m[:3].upper()}{k}", bodies[rng.integers(len(bodies))], rng.normal(0, 0.2))
        for m in _MAKES
        for k in range(1, 5)
    ]
    pick = rng.integers(len(models), size=n)
    make = np.array([models[i][0] for i in pick])
    model = np.array([models[i][1] for i in pick])
    body = np.array([models[i][2] for i in pick])
    level = np.array([make_level[models[i][0]] + models[i][3] for i in pick])
    age = np.clip(rng.gamma(2.0, 24.0, n), 0.5, 200.0)  # months
    km_month = 1200 * np.exp(rng.normal(0, 0.45, n))
    mileage = np.round(km_month * (age + 1.0), -1)
    k_age = np.array([_BODIES[b][0] for b in body])
    k_km = np.array([_BODIES[b][1] for b in body])
    list_price = np.round(26_000 * np.exp(level + rng.normal(0, 0.05, n)), -2)
    log_price = (
        np.log(list_price) - 0.12 - k_age * age / 12 - k_km * mileage / 1e5 + 0.015 * (age / 12) ** 1.5 * 0.3
    )
    frame = pd.DataFrame({"make": make, "model": model, "body_type": body})
    sale_day = pd.Timestamp("2025-06-30") - pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    if shape == "one_sale_date":
        sale_day = pd.DatetimeIndex([pd.Timestamp("2025-05-15")] * n)
    market = 0.04 * np.sin((sale_day - pd.Timestamp("2023-07-01")).days.to_numpy() / 365.0 * 2.0)
    log_price = log_price + market
    noise = rng.normal(0, 0.08, n)
    if shape == "heavy_tail":
        noise = 0.06 * rng.standard_t(3, n)
        odd = rng.uniform(size=n) < 0.02
        noise[odd] += rng.choice([-0.5, 0.6], odd.sum())
    if shape == "equipment":
        flags = {
            name: rng.uniform(size=n) < p
            for name, p in (
                ("leather", 0.3),
                ("sunroof", 0.2),
                ("navigation", 0.5),
                ("awd", 0.15),
                ("tow_bar", 0.1),
            )
        }
        effects = {"leather": 0.04, "sunroof": 0.03, "navigation": 0.02, "awd": 0.06, "tow_bar": 0.01}
        for name, on in flags.items():
            frame[name] = np.where(on, "yes", "no")
            log_price = log_price + effects[name] * on
        colours = np.array(["white", "black", "silver", "grey", "blue", "red", "green", "brown"])
        frame["colour"] = colours[rng.integers(len(colours), size=n)]
        frame["trim_code"] = [f"T{v:03d}" for v in rng.integers(0, max(n // 3, 10), n)]  # high cardinality
        frame["package"] = np.where(
            rng.uniform(size=n) < 0.5, "", "pack-" + pd.Series(rng.integers(0, 60, n)).astype(str)
        )
    price = np.round(np.exp(log_price + noise), -1)
    if shape == "make_body_only":
        frame = frame.drop(columns=["model"])
        frame["age_years"] = np.round(age / 12, 2)
        frame["mileage_km"] = mileage
        frame["price"] = price
        return frame
    first_reg = sale_day - pd.to_timedelta(np.round(age * 30.4375), unit="D")
    frame["first_registration"] = pd.DatetimeIndex(first_reg).strftime("%Y-%m-%d")
    frame["sale_date"] = pd.DatetimeIndex(sale_day).strftime("%Y-%m-%d")
    frame["mileage_km"] = mileage
    frame["price"] = price
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()
