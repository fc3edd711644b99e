"""Sales data as lenders have it: few required columns, any others used as features.

Required: ``price``; either ``age_months`` (or ``age_years``) or both ``first_registration`` and
``sale_date``; at least one of ``make`` / ``model`` / ``segment``. Every other column is optional:
known ones (list price, trim, region, mileage, condition, …) get their meaning, unknown ones are
typed from their cells (numeric, boolean, categorical with rare levels pooled) and used as features.
Impossible values (negative or zero price, future dates, sale before registration, negative
mileage) refuse the file naming row and column; merely implausible ones are flagged in the report.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from app.valuation.errors import FieldProblem, InputError

logger = logging.getLogger(__name__)

DAYS_PER_MONTH = 30.4375
MAX_PROBLEMS = 200
MAX_FLAGS = 500
# Known columns and their meaning. Hierarchy columns define the segments the simple models pool over.
HIERARCHY = ("segment", "make", "model")
KNOWN_TEXT = ("make", "model", "segment", "trim", "powertrain", "transmission", "region")
KNOWN_DATES = ("first_registration", "sale_date")
KNOWN_NUMERIC: dict[str, tuple[float, float]] = {  # impossible below the first, above the second
    "price": (0.0, 1e9),
    "new_price": (0.0, 1e9),
    "age_months": (0.0, 1200.0),
    "age_years": (0.0, 100.0),
    "mileage_km": (0.0, 5_000_000.0),
    "repair_cost_recent_3m": (0.0, 1e9),
    "repair_cost_older": (0.0, 1e9),
    "claims_count": (0.0, 1000.0),
    "accident_severity": (0.0, 3.0),
    "condition_grade": (0.0, 10.0),
}
# common names in lenders' and public files for the known columns
ALIASES: dict[str, str] = {
    "body_type": "segment",
    "body": "segment",
    "bodytype": "segment",
    "vehicle_type": "segment",
    "category": "segment",
    "class": "segment",
    "brand": "make",
    "manufacturer": "make",
    "sale_price": "price",
    "selling_price": "price",
    "sold_price": "price",
    "asking_price": "price",
    "list_price": "new_price",
    "msrp": "new_price",
    "present_price": "new_price",
    "new_car_price": "new_price",
    "mileage": "mileage_km",
    "odometer": "mileage_km",
    "odometer_km": "mileage_km",
    "km": "mileage_km",
    "kms_driven": "mileage_km",
    "kilometers": "mileage_km",
    "km_driven": "mileage_km",
    "age": "age_years",
    "registration_date": "first_registration",
    "first_registration_date": "first_registration",
    "date_of_sale": "sale_date",
    "year": "year",
    "model_year": "year",
    "registration_year": "year",
    "reg_year": "year",
    "year_of_manufacture": "year",
    "manufacturing_year": "year",
    "miles": "mileage_miles",
    "odometer_miles": "mileage_miles",
    "mileage_mi": "mileage_miles",
    "car_name": "name",
    "title": "name",
    "vehicle": "name",
    "sold_date": "sale_date",
    "grade": "condition_grade",
    "condition": "condition_grade",
}
RESERVED = ("price", "age_years", "first_registration", "sale_date", "valuation_date")
MONOTONE_DOWN = ("age_months", "mileage_km", "accident_severity", "claims_count")
MONOTONE_UP = ("condition_grade",)
MAX_KM_PER_MONTH = 20_000.0  # flagged above this (with a month's grace for nearly new cars)
TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}
MISSING_WORDS = {"", "na", "n/a", "nan", "null", "none", "-", "?"}


@dataclass
class ColumnPlan:
    """How one input column is used by the models (listed in the training report)."""

    name: str  # canonical name (after the mapping)
    source: str  # the CSV column
    kind: str  # "target" | "age" | "date" | "numeric" | "boolean" | "categorical" | "hierarchy" | "dropped"
    levels: list[str] = field(default_factory=list)  # categorical: kept levels (others pooled)
    pooled: int = 0  # categorical: distinct values pooled into "other"
    fill: float | None = None  # numeric: value imputed for missing cells
    missing: int = 0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "source": self.source, "kind": self.kind}
        if self.levels:
            out["levels"] = self.levels
        if self.pooled:
            out["pooled_levels"] = self.pooled
        if self.fill is not None:
            out["fill"] = self.fill
        if self.missing:
            out["missing"] = self.missing
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ColumnPlan:
        return cls(
            str(d["name"]),
            str(d["source"]),
            str(d["kind"]),
            list(d.get("levels", [])),
            int(d.get("pooled_levels", 0)),
            d.get("fill"),
            int(d.get("missing", 0)),
            str(d.get("note", "")),
        )


@dataclass
class SalesData:
    """Validated sales: a typed frame (canonical names) plus how each column is read and the flags."""

    frame: pd.DataFrame  # price, age_months, sale_date (maybe NaT), hierarchy + feature columns
    columns: list[ColumnPlan]
    flags: list[dict[str, Any]]
    has_list_price: bool

    def __len__(self) -> int:
        return len(self.frame)


def norm_name(name: str) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def read_sales(
    data: bytes | str,
    mapping: Mapping[str, str] | None = None,
    *,
    today: date | None = None,
    max_rows: int | None = None,
    sale_date: date | None = None,
) -> SalesData:
    """Parse a lender's CSV and validate it; raise InputError naming row and column."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError.single("csv", f"cannot parse CSV: {exc}") from exc
    if max_rows is not None and len(raw) > max_rows:
        raise InputError.single("csv", f"{len(raw)} data rows; at most {max_rows} are accepted here")
    return validate_sales_frame(raw, mapping, today=today, sale_date=sale_date)


def _rename(raw: pd.DataFrame, mapping: Mapping[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Canonical name -> source column; mapped columns first, then names normalised."""
    problems: list[FieldProblem] = []
    for canon, src in mapping.items():
        if src not in raw.columns:
            problems.append(FieldProblem(f"mapping.{canon}", f"names CSV column {src!r}, which is missing"))
    if problems:
        raise InputError(problems)
    source: dict[str, str] = {}
    taken = set(mapping.values())
    for canon, src in mapping.items():
        source[norm_name(canon)] = src
    for col in raw.columns:
        if col in taken:
            continue
        canon = norm_name(col)
        if canon not in source and canon in ALIASES and ALIASES[canon] not in source:
            canon = ALIASES[canon]
        if canon in source:
            raise InputError.single(str(col), f"two columns both read as {canon!r}; rename one or map them")
        source[canon] = str(col)
    out = pd.DataFrame({canon: raw[src].astype(str).str.strip() for canon, src in source.items()})
    return out, source


_NUMBER = (
    r"^\s*(?:[$€£¥₹]|[A-Z]{2,3}\s?)?\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*([A-Za-z/%. ]{0,12})\s*$"
)
IDENTIFIERS = {"id", "index", "row", "row_id", "listing_id", "vin", "stock_id", "url", "link"}


def parse_numbers(cells: pd.Series) -> np.ndarray:
    """Numbers from text: plain, with thousands commas ("45,000"), or with a unit ("23.4 kmpl",
    "74 bhp", "1248 CC"); NaN where a cell is none of these."""
    plain = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    todo = ~np.isfinite(plain) & cells.notna().to_numpy()
    if todo.any():
        found = cells[todo].astype(str).str.extract(_NUMBER)[0].str.replace(",", "", regex=False)
        plain[todo] = pd.to_numeric(found, errors="coerce").to_numpy(dtype=np.float64)
    nan_words = cells.astype(str).str.strip().str.lower().isin(["nan", "inf", "-inf", "+inf", "infinity"])
    plain[nan_words.to_numpy()] = np.nan
    return plain


def _is_missing(cells: pd.Series) -> np.ndarray:
    return cells.str.lower().isin(MISSING_WORDS).to_numpy()


def _derive(cells: pd.DataFrame, source: dict[str, str], sale_date: date | None) -> list[ColumnPlan]:
    """Columns lenders' files often carry instead of the canonical ones, turned into them."""
    notes: list[ColumnPlan] = []
    if "sale_date" not in cells and sale_date is not None:
        cells["sale_date"] = sale_date.isoformat()
        source["sale_date"] = "(--sale-date)"
    if "first_registration" not in cells and "year" in cells and "age_months" not in cells:
        years = pd.to_numeric(cells["year"], errors="coerce")
        first = pd.to_datetime(years.astype("Int64").astype(str) + "-07-01", errors="coerce")
        if "sale_date" in cells:  # a car of this year's model sold before July: registered by its sale
            sold = pd.to_datetime(cells["sale_date"], errors="coerce", format="mixed")
            first = first.where(~(first > sold), sold)
        cells["first_registration"] = np.where(first.notna(), first.dt.strftime("%Y-%m-%d"), cells["year"])
        source["first_registration"] = source["year"]
        notes.append(
            ColumnPlan(
                "year",
                source["year"],
                "dropped",
                note="read as first registration on 1 July (or the sale date, if earlier)",
            )
        )
    elif "year" in cells:
        notes.append(ColumnPlan("year", source["year"], "dropped", note="age is given otherwise"))
    if "year" in cells:
        del cells["year"]
    if "mileage_km" not in cells and "mileage_miles" in cells:
        miles = parse_numbers(cells["mileage_miles"].where(~_is_missing(cells["mileage_miles"]), None))
        cells["mileage_km"] = np.where(
            np.isfinite(miles), (miles * 1.609344).round(1).astype(str), cells["mileage_miles"]
        )
        source["mileage_km"] = source["mileage_miles"]
        del cells["mileage_miles"]
    if "name" in cells and not any(h in cells for h in HIERARCHY):
        words = cells["name"].str.split()
        cells["make"] = words.str[0].fillna("")
        cells["model"] = words.str[:2].str.join(" ").fillna("")
        source["make"] = source["model"] = source["name"]
        notes.append(
            ColumnPlan("name", source["name"], "dropped", note="make = its first word, model = its first two")
        )
        del cells["name"]
    return notes


def validate_sales_frame(
    raw: pd.DataFrame,
    mapping: Mapping[str, str] | None = None,
    *,
    today: date | None = None,
    sale_date: date | None = None,
) -> SalesData:
    """Validate text cells (as read from a CSV); the typed data or InputError.

    ``sale_date``: the collection date of a file whose sales carry none (one date for all rows).
    """
    today = today or date.today()
    cells, source = _rename(raw, dict(mapping or {}))
    derived = _derive(cells, source, sale_date)
    problems: list[FieldProblem] = []
    flags: list[dict[str, Any]] = []
    n = len(cells)
    if n == 0:
        raise InputError.single("csv", "no data rows")
    rows = np.arange(1, n + 1)

    def report(mask: np.ndarray, col: str, reason: str) -> None:
        for i in np.flatnonzero(mask)[: max(MAX_PROBLEMS - len(problems), 0)]:
            problems.append(FieldProblem(source.get(col, col), reason, int(rows[i]), str(cells[col].iloc[i])))

    def flag(mask: np.ndarray, col: str, reason: str) -> None:
        for i in np.flatnonzero(mask)[: max(MAX_FLAGS - len(flags), 0)]:
            flags.append(
                {
                    "row": int(rows[i]),
                    "column": source.get(col, col),
                    "reason": reason,
                    "value": str(cells[col].iloc[i]),
                }
            )

    # required columns
    if "price" not in cells:
        problems.append(FieldProblem("price", "column missing (the sale or asking price is required)"))
    has_dates = "first_registration" in cells and "sale_date" in cells
    if (
        not has_dates
        and "age_months" not in cells
        and "age_years" not in cells
        and "first_registration" in cells
    ):
        problems.append(
            FieldProblem(
                "sale_date",
                "column missing: the age needs each sale's date, or the file's one collection date "
                "(CLI --sale-date, form field sale_date)",
            )
        )
    elif not has_dates and "age_months" not in cells and "age_years" not in cells:
        problems.append(
            FieldProblem(
                "age_months",
                "column missing: give age_months / age_years, or first_registration and sale_date",
            )
        )
    if not any(h in cells for h in HIERARCHY):
        problems.append(FieldProblem("make", "column missing: give at least one of make, model, segment"))
    if problems:
        raise InputError(problems)

    out: dict[str, Any] = {}
    plans: list[ColumnPlan] = []
    numeric: dict[str, np.ndarray] = {}
    for col in [c for c in cells if c in KNOWN_NUMERIC]:
        text = cells[col]
        miss = _is_missing(text)
        values = parse_numbers(text.where(~miss, None))
        report(~miss & ~np.isfinite(values), col, "not a finite number")
        lo, hi = KNOWN_NUMERIC[col]
        finite = np.isfinite(values)
        report(finite & (values < lo), col, f"impossible: below {lo:g}")
        report(finite & (values > hi), col, f"impossible: above {hi:g}")
        numeric[col] = np.where(finite, values, np.nan)
    price = numeric.get("price")
    if price is not None:
        report(_is_missing(cells["price"]), "price", "missing value (price is required)")
        report(np.isfinite(price) & (price <= 0), "price", "impossible: price must be above zero")

    dates: dict[str, pd.Series] = {}
    for col in [c for c in KNOWN_DATES if c in cells]:
        text = cells[col]
        miss = _is_missing(text)
        parsed = pd.to_datetime(text.where(~miss, None), errors="coerce", format="mixed", dayfirst=False)
        report(~miss & parsed.isna().to_numpy(), col, "not a date (use YYYY-MM-DD)")
        report(
            (parsed > pd.Timestamp(today)).to_numpy(), col, f"impossible: in the future (today is {today})"
        )
        report((parsed < pd.Timestamp("1900-01-01")).to_numpy(), col, "impossible: before 1900")
        dates[col] = parsed

    age = numeric.get("age_months")
    if age is None and "age_years" in numeric:
        age = numeric["age_years"] * 12.0
    if has_dates:
        from_dates = ((dates["sale_date"] - dates["first_registration"]).dt.days / DAYS_PER_MONTH).to_numpy()
        report(
            np.isfinite(from_dates) & (from_dates < 0),
            "sale_date",
            "impossible: sale before first registration",
        )
        age = from_dates if age is None else np.where(np.isfinite(age), age, from_dates)
    assert age is not None
    age_col = (
        "age_months" if "age_months" in cells else ("age_years" if "age_years" in cells else "sale_date")
    )
    report(~np.isfinite(age), age_col, "missing age (give the age or both dates)")

    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        raise InputError(problems)

    assert price is not None
    out["price"] = price
    out["age_months"] = np.maximum(age, 0.0)
    plans.append(ColumnPlan("price", source["price"], "target", note="log price is modelled"))
    plans.append(
        ColumnPlan(
            "age_months", source.get(age_col, age_col), "age", note="months from first registration to sale"
        )
    )
    sale = dates.get("sale_date")
    out["sale_date"] = sale if sale is not None else pd.Series(pd.NaT, index=cells.index)
    if sale is not None:
        plans.append(
            ColumnPlan(
                "sale_date", source["sale_date"], "date", note="orders the CV folds and the market trend"
            )
        )
    if "first_registration" in dates and "sale_date" not in dates:
        plans.append(
            ColumnPlan(
                "first_registration",
                source["first_registration"],
                "dropped",
                note="no sale date to measure age from",
            )
        )

    # implausible, flagged not refused
    if "mileage_km" in numeric:
        km = numeric["mileage_km"]
        with np.errstate(invalid="ignore", divide="ignore"):
            per_month = km / np.maximum(out["age_months"] + 1.0, 1.0)
        flag(
            np.isfinite(per_month) & (per_month > MAX_KM_PER_MONTH),
            "mileage_km",
            f"more than {MAX_KM_PER_MONTH:g} km a month since first registration",
        )
    if "new_price" in numeric:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = price / numeric["new_price"]
        flag(np.isfinite(ratio) & (ratio > 1.5), "price", "price above 1.5 × the list price")
        flag(np.isfinite(ratio) & (ratio < 0.03), "price", "price below 3 % of the list price")
        flag(numeric["new_price"] == 0, "new_price", "list price 0 (treated as missing)")
    flag(out["age_months"] > 480, age_col, "older than 40 years")
    log_p = np.log(price)
    med = float(np.median(log_p))
    mad = float(np.median(np.abs(log_p - med))) or 0.1
    flag(np.abs(log_p - med) > 8 * 1.4826 * mad, "price", "price far outside the rest of the file")

    has_list_price = False
    if "new_price" in numeric:
        lp = numeric["new_price"]
        good = np.isfinite(lp) & (lp > 0)
        if good.mean() >= 0.9:
            has_list_price = True
            fill = float(np.median(lp[good]))
            out["new_price"] = np.where(good, lp, fill)
            plans.append(
                ColumnPlan(
                    "new_price",
                    source["new_price"],
                    "numeric",
                    fill=fill,
                    missing=int((~good).sum()),
                    note="list price: log price is modelled relative to it",
                )
            )
        else:
            numeric["new_price"] = np.where(good, lp, np.nan)

    for col in cells:
        if col in out or col in ("age_years", "first_registration") or (col in RESERVED and col != "price"):
            continue
        if col in IDENTIFIERS or col.startswith("unnamed"):
            plans.append(ColumnPlan(col, source[col], "dropped", note="an identifier, not a feature"))
            continue
        text = cells[col]
        miss = _is_missing(text)
        if col in numeric and col not in out:
            plans.append(_numeric_plan(col, source[col], numeric[col], out))
            continue
        if col in KNOWN_NUMERIC:
            continue
        nums = parse_numbers(text.where(~miss, None))
        lowered = text.str.lower()
        present = ~miss
        if present.sum() == 0:
            plans.append(ColumnPlan(col, source[col], "dropped", note="no values"))
            continue
        is_bool = (
            bool(lowered[present].isin(TRUE_WORDS | FALSE_WORDS).all()) and lowered[present].nunique() <= 2
        )
        if is_bool and col not in KNOWN_TEXT:
            values = np.where(lowered.isin(TRUE_WORDS), 1.0, np.where(lowered.isin(FALSE_WORDS), 0.0, np.nan))
            plans.append(_numeric_plan(col, source[col], values, out, kind="boolean"))
        elif col not in KNOWN_TEXT and np.isfinite(nums[present]).all():
            plans.append(_numeric_plan(col, source[col], nums, out))
        else:
            plans.append(_categorical_plan(col, source[col], text.where(present, "(missing)"), out))
    frame = pd.DataFrame(out, index=cells.index).reset_index(drop=True)
    order = {"target": 0, "age": 1, "date": 2, "hierarchy": 3}
    plans.extend(derived)
    plans.sort(key=lambda p: (order.get(p.kind, 4), p.name))
    logger.info(
        "sales validated: %d rows, %d columns used, %d rows flagged",
        n,
        sum(p.kind != "dropped" for p in plans),
        len({f["row"] for f in flags}),
    )
    return SalesData(frame, plans, flags, has_list_price)


def min_level_count(n: int) -> int:
    """A categorical level needs this many rows to be kept; rarer ones are pooled."""
    return max(3, round(0.01 * n))


def _numeric_plan(
    col: str, src: str, values: np.ndarray, out: dict[str, Any], kind: str = "numeric"
) -> ColumnPlan:
    good = np.isfinite(values)
    if good.sum() == 0 or np.nanstd(values) == 0:
        return ColumnPlan(col, src, "dropped", note="constant or empty")
    fill = float(np.median(values[good]))
    out[col] = values
    return ColumnPlan(col, src, kind, fill=fill, missing=int((~good).sum()))


def _categorical_plan(col: str, src: str, text: pd.Series, out: dict[str, Any]) -> ColumnPlan:
    counts = text.value_counts()
    keep = sorted(str(v) for v, c in counts.items() if c >= min_level_count(len(text)))
    kind = "hierarchy" if col in HIERARCHY else "categorical"
    if kind == "categorical" and len(keep) < 2:
        return ColumnPlan(col, src, "dropped", note="fewer than two frequent levels", pooled=len(counts))
    if kind == "hierarchy" and not keep:
        keep = []
    out[col] = text.to_numpy(dtype=object)
    return ColumnPlan(col, src, kind, levels=keep, pooled=int(len(counts) - len(keep)))


def sales_from_frame(frame: pd.DataFrame, *, today: date | None = None) -> SalesData:
    """Typed canonical sales (as the synthetic generator makes) → SalesData, through the same checks."""
    text = pd.DataFrame(
        {
            col: (
                frame[col].dt.strftime("%Y-%m-%d")
                if pd.api.types.is_datetime64_any_dtype(frame[col])
                else frame[col].astype(str)
            )
            for col in frame.columns
        }
    )
    return validate_sales_frame(text, today=today)
