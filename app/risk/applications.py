"""A user's CSV of past loan applications with outcomes, validated for scorecard training.

Columns: every scorecard feature plus ``default`` (1 if the loan defaulted within the
performance window, else 0); a mapping {canonical name: CSV column} renames them. Each missing,
malformed or out-of-range value is reported with its data row (1-based) and CSV column.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

from app.risk.borrowers import ALL_FEATURES
from app.valuation.errors import FieldProblem, InputError

RANGES: dict[str, tuple[float, float]] = {
    "age_years": (18, 100), "monthly_income": (0, 10_000_000), "debt_to_income": (0, 5),
    "credit_history_months": (0, 1200), "delinquencies_24m": (0, 100), "employment_years": (0, 80),
    "inquiries_6m": (0, 100), "ltv": (0.0001, 3), "vehicle_age_months": (0, 600),
    "vehicle_mileage_km": (0, 2_000_000), "maintenance_ratio": (0, 5), "loan_term_months": (1, 120),
}  # fmt: skip
MAX_PROBLEMS = 200
MIN_ROWS, MIN_DEFAULTS = 500, 30


def read_applications_csv(data: bytes | str, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError.single("csv", f"cannot parse CSV: {exc}") from exc
    mapping = dict(mapping or {})
    columns = (*ALL_FEATURES, "default")
    problems = [
        FieldProblem(f"mapping.{k}", "not a known column") for k in sorted(set(mapping) - set(columns))
    ]
    source = {c: mapping.get(c, c) for c in columns}
    problems += [FieldProblem(src, f"column missing from CSV (needed for {c!r})")
                 for c, src in source.items() if src not in raw.columns]  # fmt: skip
    if problems:
        raise InputError(problems)

    out: dict[str, np.ndarray] = {}
    for col in columns:
        cells = raw[source[col]].astype(str).str.strip()
        values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
        lo, hi = RANGES.get(col, (0, 1))
        checks: list[tuple[np.ndarray, str]] = [
            ((cells == "").to_numpy(), "missing value"),
            (~np.isfinite(values) & (cells != "").to_numpy(), "not a finite number"),
            (np.isfinite(values) & (values < lo), f"below the minimum {lo:g}"),
            (np.isfinite(values) & (values > hi), f"above the plausible maximum {hi:g}"),
        ]
        if col == "default":
            checks.append((np.isfinite(values) & ~np.isin(values, [0, 1]), "must be 0 or 1"))
        for mask, reason in checks:
            for i in np.flatnonzero(mask)[: max(MAX_PROBLEMS - len(problems), 0)]:
                problems.append(FieldProblem(source[col], reason, int(i) + 1, str(cells.iloc[i])))
        out[col] = values
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        raise InputError(problems)
    frame = pd.DataFrame(out)
    frame["default"] = frame["default"].astype(int)
    if len(frame) < MIN_ROWS or frame["default"].sum() < MIN_DEFAULTS:
        raise InputError.single(
            "csv", f"need at least {MIN_ROWS} applications and {MIN_DEFAULTS} defaults, "
            f"got {len(frame)} and {int(frame['default'].sum())}",
        )  # fmt: skip
    return frame
