"""A seeded generator of loan books shaped like lenders' real ones, with the column spec to read them.

Shapes vary what breaks naive scorecards: size (1,000-10,000 loans), bad rate (1-30 %), a text
outcome ("Fully Paid" / "Charged Off" / "Default", plus immature "Current" loans), a high-cardinality
categorical (a 300-level region code), 10 % missing income concentrated in bad loans, protected
attributes that correlate with the outcome, and optional vehicle fields (price, age, mileage) from
which the spec derives LTV. The default process is additive in monotone effects, as credit data
usually is. Figures on these books describe the pipeline, not any lender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BookShape:
    loans: int = 1000
    bad_rate: float = 0.30
    text_outcome: bool = False
    high_cardinality: bool = False
    missing_income: bool = False
    vehicle: bool = False
    date_span_months: int = 12
    seed: int = 7

    @property
    def label(self) -> str:
        flags = [
            f
            for f, on in (
                ("text", self.text_outcome),
                ("highcard", self.high_cardinality),
                ("missing-income", self.missing_income),
                ("vehicle", self.vehicle),
            )
            if on
        ]
        return f"{self.loans}x{self.bad_rate:.0%}" + ("+" + "+".join(flags) if flags else "")


def generate_book(shape: BookShape) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(book as a lender would export it, column spec for it)."""
    rng = np.random.default_rng(shape.seed)
    n = shape.loans
    z = lambda v: (v - v.mean()) / (v.std() + 1e-12)  # noqa: E731
    age = np.clip(rng.normal(38, 11, n), 19, 75).round()
    sex = rng.choice(["male", "female"], n)
    marital = rng.choice(["single", "married", "divorced"], n, p=[0.4, 0.45, 0.15])
    income = np.round(np.exp(rng.normal(np.log(4200), 0.5, n)), -1)
    employment = np.clip(rng.gamma(1.8, 3.0, n), 0, age - 18).round(1)
    employment_unknown = rng.uniform(size=n) < 0.04
    home = rng.choice(["RENT", "OWN", "MORTGAGE", "OTHER"], n, p=[0.45, 0.15, 0.38, 0.02])
    purpose = rng.choice(
        ["car", "debt_consolidation", "home_improvement", "business", "education", "other"],
        n,
        p=[0.35, 0.3, 0.12, 0.08, 0.05, 0.1],
    )
    checking = rng.choice(["<0", "0<=X<200", ">=200", "no checking"], n, p=[0.27, 0.27, 0.07, 0.39])
    history = np.clip(rng.gamma(2.2, 45, n) * (age - 18) / 20, 0, 600).round()
    delinq = rng.poisson(0.3, n)
    inquiries = rng.poisson(1.1, n)
    amount = np.round(np.exp(rng.normal(np.log(15_000), 0.6, n)), -2)
    term = rng.choice([12, 24, 36, 48, 60], n, p=[0.1, 0.2, 0.35, 0.2, 0.15])
    payment = amount / term * (1 + 0.08 * term / 12) + rng.gamma(2, 250, n)
    dti = payment / income

    logit = (
        0.55 * z(np.log(dti))
        - 0.35 * z(np.log(income))
        + 0.45 * np.minimum(delinq, 3)
        - 0.3 * z(np.log1p(history))
        - 0.2 * z(np.log1p(employment))
        + 0.12 * inquiries
        + 0.25 * (age < 25)
        - 0.1 * z(age)
        + np.select([checking == "<0", checking == "0<=X<200", checking == ">=200"], [0.7, 0.35, -0.1], -0.6)
        + np.select([home == "RENT", home == "OWN", home == "OTHER"], [0.25, -0.05, 0.4], -0.2)
        + np.select(
            [purpose == "business", purpose == "education", purpose == "car"], [0.35, 0.25, -0.15], 0.0
        )
        + 0.15 * (term >= 48)
        + 0.6 * employment_unknown
        + 0.15 * (marital == "single")  # a protected attribute that correlates with outcome: must stay out
    )
    region = None
    if shape.high_cardinality:
        levels = np.array([f"R{i:03d}" for i in range(300)])
        weights = rng.dirichlet(np.full(300, 0.6))
        effect = rng.normal(0, 0.45, 300)
        idx = rng.choice(300, n, p=weights)
        region = levels[idx]
        logit = logit + effect[idx]
    vehicle: dict[str, np.ndarray] = {}
    if shape.vehicle:
        used = rng.uniform(size=n) < 0.4
        price = np.round(amount / np.clip(rng.normal(0.78, 0.13, n), 0.35, 1.1), -2)
        vage = np.where(used, rng.integers(6, 120, n), rng.integers(0, 3, n))
        mileage = np.where(used, np.round(vage * rng.gamma(4.0, 350.0, n), -2), rng.integers(5, 60, n))
        ltv = amount / price
        logit = (
            logit
            + 2.2 * (ltv - 0.78) / 0.13 * 0.25
            + 0.25 * z(vage.astype(float)) * used
            + 0.2 * z(mileage) * used
        )
        vehicle = {
            "vehicle_price": price,
            "vehicle_age_months": vage.astype(float),
            "mileage_km": mileage.astype(float),
        }
    shift = np.log(shape.bad_rate / (1 - shape.bad_rate))
    for _ in range(40):
        p = 1 / (1 + np.exp(-(logit + shift)))
        shift += np.log(shape.bad_rate / p.mean()) * 0.9
    p = 1 / (1 + np.exp(-(logit + shift)))
    bad = rng.uniform(size=n) < p

    income_out = income.astype(object)
    if shape.missing_income:  # 10 % missing, concentrated in bad loans
        weight = np.where(bad, 4.0, 1.0)
        drop = rng.choice(n, int(0.10 * n), replace=False, p=weight / weight.sum())
        income_out[drop] = ""
    start = np.datetime64("2019-01-01")
    dates = start + rng.integers(0, int(shape.date_span_months * 30.4), n).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "loan_id": [f"L{shape.seed:03d}{i:06d}" for i in range(n)],
            "application_date": pd.to_datetime(dates).strftime("%Y-%m-%d"),
            "age": age.astype(int),
            "sex": sex,
            "marital_status": marital,
            "monthly_income": income_out,
            "employment_years": np.where(employment_unknown, "-1", employment.astype(str)),
            "home_ownership": home,
            "purpose": purpose,
            "checking_account": checking,
            "credit_history_months": history.astype(int),
            "delinquencies_2y": delinq,
            "inquiries_6m": inquiries,
            "loan_amount": amount,
            "term_months": term,
            "monthly_debt_payments": payment.round(2),
        }
    )
    if region is not None:
        frame["region_code"] = region
    for name, values in vehicle.items():
        frame[name] = values
    spec: dict[str, Any] = {
        "columns": {
            "employment_years": {"type": "numeric", "special": [-1], "min": -1, "max": 80},
            "monthly_income": {"type": "numeric", "min": 0},
            "age": {"type": "numeric", "min": 14, "max": 120},
        },
        "derived": {"debt_to_income": "monthly_debt_payments / monthly_income"},
    }
    if shape.vehicle:
        spec["derived"]["ltv"] = "loan_amount / vehicle_price"
        spec["columns"]["vehicle_price"] = {"type": "numeric", "min": 0}
    if shape.text_outcome:
        status = np.where(bad, rng.choice(["Charged Off", "Default"], n, p=[0.8, 0.2]), "Fully Paid")
        current = rng.uniform(size=n) < 0.05
        frame["loan_status"] = np.where(current, "Current", status)
        spec["outcome"] = {
            "column": "loan_status",
            "bad": ["Charged Off", "Default"],
            "good": ["Fully Paid"],
            "exclude": ["Current"],
        }
    else:
        frame["default"] = bad.astype(int)
        spec["outcome"] = {"column": "default", "bad": [1]}
    return frame, spec


def book_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode()
