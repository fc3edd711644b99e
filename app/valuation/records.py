"""Sales records: the canonical columns, and validation of a user's CSV against them.

A user's CSV may name its columns differently; a mapping {canonical name: CSV column} says how.
Validation reads every value as text and reports each missing, malformed, absurd or unknown
value with its data row (1-based, header not counted) and CSV column, instead of guessing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from app.valuation.catalog import POWERTRAINS, REGIONS_BY_CODE, TRANSMISSIONS
from app.valuation.errors import FieldProblem, InputError

logger = logging.getLogger(__name__)

TEXT_COLUMNS = ("make", "model", "trim", "segment", "powertrain", "transmission", "region")
DATE_COLUMNS = ("first_registration", "sale_date")
# canonical numeric column -> (min, max, integer?)
NUMERIC_RANGES: dict[str, tuple[float, float, bool]] = {
    "mileage_km": (0.0, 2_000_000.0, False),
    "repair_cost_recent_3m": (0.0, 5_000_000.0, False),
    "repair_cost_older": (0.0, 5_000_000.0, False),
    "claims_count": (0, 50, True),
    "accident_severity": (0, 3, True),
    "condition_grade": (1, 5, True),
    "new_price": (10_000.0, 20_000_000.0, False),
    "price": (500.0, 40_000_000.0, False),
}
CANONICAL_COLUMNS: tuple[str, ...] = (*TEXT_COLUMNS, *DATE_COLUMNS, *NUMERIC_RANGES)
MAX_PROBLEMS = 200
MAX_KM_PER_MONTH = 20_000.0


def read_sales_csv(
    data: bytes | str, mapping: Mapping[str, str] | None = None, *, today: date | None = None
) -> pd.DataFrame:
    """Parse and validate CSV text; return a frame with canonical columns or raise InputError."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError.single("csv", f"cannot parse CSV: {exc}") from exc
    return validate_sales(raw, mapping, today=today)


def validate_sales(
    raw: pd.DataFrame, mapping: Mapping[str, str] | None = None, *, today: date | None = None
) -> pd.DataFrame:
    """Validate a frame of text cells; return typed canonical columns or raise InputError."""
    mapping = dict(mapping or {})
    problems: list[FieldProblem] = []
    unknown = sorted(set(mapping) - set(CANONICAL_COLUMNS))
    for name in unknown:
        problems.append(
            FieldProblem(f"mapping.{name}", f"not a known column; known: {', '.join(CANONICAL_COLUMNS)}")
        )
    source = {col: mapping.get(col, col) for col in CANONICAL_COLUMNS}
    for col, src in source.items():
        if src not in raw.columns:
            problems.append(FieldProblem(src, f"column missing from CSV (needed for {col!r})"))
    if problems:
        raise InputError(problems)
    if len(raw) == 0:
        raise InputError.single("csv", "no data rows")

    today = today or date.today()
    rows = np.arange(1, len(raw) + 1)
    out: dict[str, pd.Series] = {}

    def report(mask: np.ndarray, col: str, reason: str, values: pd.Series) -> None:
        for i in np.flatnonzero(mask)[: MAX_PROBLEMS - len(problems)]:
            problems.append(FieldProblem(source[col], reason, int(rows[i]), str(values.iloc[i])))

    for col in TEXT_COLUMNS:
        cells = raw[source[col]].astype(str).str.strip()
        report((cells == "").to_numpy(), col, "missing value", cells)
        out[col] = cells
    report(
        ~out["powertrain"].str.lower().isin(POWERTRAINS).to_numpy() & (out["powertrain"] != "").to_numpy(),
        "powertrain",
        f"unknown powertrain; expected one of {', '.join(POWERTRAINS)}",
        out["powertrain"],
    )
    out["powertrain"] = out["powertrain"].str.lower()
    report(
        ~out["transmission"].str.lower().isin(TRANSMISSIONS).to_numpy()
        & (out["transmission"] != "").to_numpy(),
        "transmission",
        f"unknown transmission; expected one of {', '.join(TRANSMISSIONS)}",
        out["transmission"],
    )
    out["transmission"] = out["transmission"].str.lower()
    report(
        ~out["region"].isin(list(REGIONS_BY_CODE)).to_numpy() & (out["region"] != "").to_numpy(),
        "region",
        "unknown region code (not in the regional correction table)",
        out["region"],
    )

    for col in DATE_COLUMNS:
        cells = raw[source[col]].astype(str).str.strip()
        parsed = pd.to_datetime(cells, format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna().to_numpy()
        report(bad & (cells == "").to_numpy(), col, "missing value", cells)
        report(bad & (cells != "").to_numpy(), col, "not a date in YYYY-MM-DD form", cells)
        report(
            (parsed > pd.Timestamp(today)).to_numpy(), col, f"date is in the future (today is {today})", cells
        )
        report((parsed < pd.Timestamp("1950-01-01")).to_numpy(), col, "date before 1950 is absurd", cells)
        out[col] = parsed
    before = (out["sale_date"] < out["first_registration"]).to_numpy()
    report(before, "sale_date", "sale date is before first registration", raw[source["sale_date"]])

    for col, (lo, hi, integer) in NUMERIC_RANGES.items():
        cells = raw[source[col]].astype(str).str.strip()
        nums = pd.to_numeric(cells, errors="coerce").astype(float)
        arr = nums.to_numpy()
        lowered = cells.str.lower()
        nan_text = lowered.isin(["nan", "inf", "-inf", "infinity", "-infinity", "+inf"]).to_numpy()
        report((cells == "").to_numpy(), col, "missing value", cells)
        report(nan_text, col, "not a finite number", cells)
        report(np.isnan(arr) & ~nan_text & (cells != "").to_numpy(), col, "not a number", cells)
        finite = np.isfinite(arr)
        report(finite & (arr < lo), col, f"below the minimum {lo:g}", cells)
        report(finite & (arr > hi), col, f"above the plausible maximum {hi:g}", cells)
        if integer:
            report(finite & (arr != np.round(arr)), col, "must be a whole number", cells)
        out[col] = nums

    price, new_price = out["price"].to_numpy(), out["new_price"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = price / new_price
    report(
        np.isfinite(ratio) & (ratio > 2.0),
        "price",
        "price above twice the new price is absurd",
        raw[source["price"]],
    )
    report(
        np.isfinite(ratio) & (ratio < 0.01),
        "price",
        "price below 1% of the new price is absurd",
        raw[source["price"]],
    )
    months = ((out["sale_date"] - out["first_registration"]).dt.days / 30.4375).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        per_month = out["mileage_km"].to_numpy() / np.maximum(months, 1.0)
    report(
        np.isfinite(per_month) & (months >= 0) & (per_month > MAX_KM_PER_MONTH),
        "mileage_km",
        f"more than {MAX_KM_PER_MONTH:g} km per month since first registration is implausible",
        raw[source["mileage_km"]],
    )

    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        logger.info("sales CSV refused: %d problems", len(problems))
        raise InputError(problems)
    frame = pd.DataFrame(out)
    for col, (_, _, integer) in NUMERIC_RANGES.items():
        if integer:
            frame[col] = frame[col].astype(int)
    return frame[list(CANONICAL_COLUMNS)]
