"""A seeded generator of synthetic car-loan applications with a known default process.

Default within the loan's first two years depends on the borrower (debt-to-income, delinquencies,
credit history, income, age) and on the vehicle and loan (LTV, vehicle age, mileage, recent
maintenance), so a scorecard that sees the vehicle should beat one that sees only the borrower.
Figures on these data describe the pipeline, not any real lender's book.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BORROWER_FEATURES: tuple[str, ...] = (
    "age_years", "monthly_income", "debt_to_income", "credit_history_months", "delinquencies_24m",
    "employment_years", "inquiries_6m",
)  # fmt: skip
VEHICLE_FEATURES: tuple[str, ...] = ("ltv", "vehicle_age_months", "vehicle_mileage_km", "maintenance_ratio")
ALL_FEATURES: tuple[str, ...] = (*BORROWER_FEATURES, *VEHICLE_FEATURES, "loan_term_months")


def generate_applications(n: int = 10_000, seed: int = 7, base_rate: float = 0.08) -> pd.DataFrame:
    """``n`` applications with every feature in ALL_FEATURES and a ``default`` column (0/1)."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(36, 9, n), 20, 68).round()
    income = np.round(np.exp(rng.normal(np.log(11_000), 0.45, n)), -1)
    dti = np.clip(rng.beta(2.2, 5.0, n), 0.0, 0.95).round(3)
    history = np.clip(rng.gamma(2.0, 40, n) * (age - 18) / 18, 0, 480).round()
    delinq = rng.poisson(0.25 + 0.6 * (dti > 0.5), n)
    employment = np.clip(rng.gamma(1.6, 3.5, n), 0, age - 18).round(1)
    inquiries = rng.poisson(1.2, n)
    ltv = np.clip(rng.normal(0.72, 0.12, n), 0.3, 1.05).round(3)
    used = rng.uniform(size=n) < 0.35
    vehicle_age = np.where(used, rng.integers(6, 120, n), 0)
    mileage = np.where(used, np.round(vehicle_age * rng.gamma(4.0, 300.0, n), -2), rng.integers(5, 50, n))
    maintenance = np.where(used, np.clip(rng.gamma(0.8, 0.015, n), 0, 0.3), 0.0).round(4)
    term = rng.choice([12, 24, 36, 48, 60], n, p=[0.05, 0.2, 0.4, 0.2, 0.15])

    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    logit = (
        0.75 * z(dti) + 0.45 * np.minimum(delinq, 4) - 0.35 * z(np.log1p(history)) - 0.35 * z(np.log(income))
        + 0.35 * (age < 25) - 0.2 * z(np.log1p(employment)) + 0.12 * inquiries
        + 5.0 * (ltv - 0.72) + 0.45 * z(vehicle_age) * used + 0.3 * z(mileage) * used + 10.0 * maintenance
        + 0.15 * (term >= 48)
    )  # fmt: skip
    shift = np.log(base_rate / (1 - base_rate))
    # centre so the average default rate is close to base_rate
    for _ in range(30):
        p = 1 / (1 + np.exp(-(logit + shift)))
        shift += np.log(base_rate / p.mean())
    default = (rng.uniform(size=n) < p).astype(int)
    return pd.DataFrame(
        {
            "application_id": [f"APP{seed:03d}-{i:06d}" for i in range(n)],
            "age_years": age, "monthly_income": income, "debt_to_income": dti,
            "credit_history_months": history, "delinquencies_24m": delinq.astype(float),
            "employment_years": employment, "inquiries_6m": inquiries.astype(float), "ltv": ltv,
            "vehicle_age_months": vehicle_age.astype(float), "vehicle_mileage_km": mileage.astype(float),
            "maintenance_ratio": maintenance, "loan_term_months": term.astype(float), "default": default,
        }
    )  # fmt: skip
