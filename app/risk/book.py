"""A lender's loan book read as it comes (CSV + column spec) into what training needs.

Every column but the outcome is a candidate feature unless it is an identifier, a date, constant,
protected or excluded; the reason for each one left out is kept for the report. Missing cells stay
missing (they get their own bin); impossible values (declared numeric column with text, outside a
declared min/max, an ordinal level not in its order, an outcome label that is neither bad nor good)
are refused naming the row and column; implausible ones are only flagged.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from app.risk.colspec import MISSING_TOKENS, ColumnSpec, ColumnType, ScorecardSpec
from app.risk.expressions import parse_expression
from app.valuation.canonical import sha256_hex
from app.valuation.errors import FieldProblem, InputError

logger = logging.getLogger(__name__)

MIN_ROWS, MIN_BADS, MIN_GOODS = 300, 30, 30
STABLE_ROWS, STABLE_BADS = 1000, 100
MAX_PROBLEMS = 200
Kind = Literal["numeric", "categorical"]


@dataclass
class FieldReader:
    """How one raw input column becomes a model value; stored in the card, used in fit and serving."""

    name: str
    type: Literal["numeric", "ordinal", "categorical"]
    special: list[float | str] = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    order: list[str] | None = None
    strict: bool = True  # declared in the spec: text in a numeric column is refused, not made missing

    def read(self, value: Any) -> tuple[float | str | None, str | None]:
        """(value, problem): numeric/ordinal -> float (NaN missing); categorical -> str or None."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (None if self.type == "categorical" else math.nan), None
        text = str(value).strip()
        if text.lower() in MISSING_TOKENS:
            return (None if self.type == "categorical" else math.nan), None
        if self.type == "categorical":
            return text, None
        if self.type == "ordinal":
            levels = [str(o).strip().lower() for o in self.order or []]
            if text.lower() in levels:
                return float(levels.index(text.lower())), None
            if self.special and text in {str(s) for s in self.special}:
                return float(-1 - [str(s) for s in self.special].index(text)), None
            return math.nan, f"level {text!r} is not in the ordinal order {self.order}"
        if isinstance(value, bool):
            return math.nan, "not a number"
        try:
            number = float(_plain_number(text)) if isinstance(value, str) else float(value)
        except ValueError:
            if text in {str(s) for s in self.special}:
                return float(-1e30 - [str(s) for s in self.special].index(text)), None
            return math.nan, ("not a number" if self.strict else None)
        if not math.isfinite(number):
            return math.nan, "not a finite number"
        if number in self.special_numbers:
            return number, None
        if self.min is not None and number < self.min:
            return math.nan, f"below the possible minimum {self.min:g}"
        if self.max is not None and number > self.max:
            return math.nan, f"above the possible maximum {self.max:g}"
        return number, None

    @property
    def special_numbers(self) -> set[float]:
        out: set[float] = set()
        for i, s in enumerate(self.special):
            if self.type == "ordinal":  # read() codes an ordinal's i-th special label as -1 - i
                out.add(-1.0 - i)
                continue
            try:
                out.add(float(s))
            except (TypeError, ValueError):
                out.add(-1e30 - i)
        return out

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Book:
    """A read loan book: model inputs, outcome and everything the report must say about them."""

    frame: pd.DataFrame  # candidate features (numeric float / categorical object) and derived columns
    y: np.ndarray
    kinds: dict[str, Kind]
    groups: dict[str, str]
    readers: dict[str, FieldReader]  # raw input columns used by the features
    derived: dict[str, str]
    dates: pd.Series | None
    row_numbers: np.ndarray  # 1-based CSV data row of each kept row
    excluded: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    implausible: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data_sha256: str = ""
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return list(self.kinds)

    @property
    def bad_rate(self) -> float:
        return float(self.y.mean())


def _plain_number(text: str) -> str:
    """'12,500' -> '12500', '13.5%' -> '13.5' (a rate exported as text is still a number)."""
    return text.replace(",", "").removesuffix("%").strip()


def _plain_numbers(cells: pd.Series) -> pd.Series:
    return cells.str.replace(",", "", regex=False).str.removesuffix("%").str.strip()


def read_csv_text(data: bytes | str) -> pd.DataFrame:
    """A CSV as strings: separator from the header line (, ; tab |); in ';' files a decimal comma."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    header = text[: text.find("\n")] if "\n" in text else text
    sep = max((",", ";", "\t", "|"), key=header.count) if header else ","
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError.single("csv", f"cannot parse CSV: {exc}") from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    dupes = sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})
    if dupes:
        raise InputError([FieldProblem(c, "column name appears more than once") for c in dupes])
    if sep == ";":  # spreadsheet exports in decimal-comma locales: 1.234,56
        for name in raw.columns:
            cells = raw[name].str.strip()
            present = cells[~cells.str.lower().isin(MISSING_TOKENS)]
            if (
                len(present)
                and present.str.contains(",", regex=False).any()
                and present.str.fullmatch(_DECIMAL_COMMA).all()
            ):
                raw[name] = cells.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return raw


_DECIMAL_COMMA = r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?%?"


def read_book(data: bytes | str | pd.DataFrame, spec: ScorecardSpec) -> Book:
    """CSV bytes (or a frame of strings/values) + spec -> Book; InputError lists every impossible value."""
    if isinstance(data, pd.DataFrame):
        raw = data.copy()
        raw.columns = [str(c) for c in raw.columns]
        digest = sha256_hex(raw.to_csv(index=False, lineterminator="\n").encode())
    else:
        digest = sha256_hex(data.encode() if isinstance(data, str) else data)
        raw = read_csv_text(data)
    problems: list[FieldProblem] = []
    out = spec.outcome
    unknown = [c for c in [*spec.columns, *spec.exclude] if c not in raw.columns and c not in spec.derived]
    problems += [FieldProblem(f"spec.columns.{c}", "no such column in the CSV") for c in unknown]
    if out.column not in raw.columns:
        problems.append(
            FieldProblem(out.column, f"outcome column missing (columns: {list(raw.columns)[:40]})")
        )
    if spec.date_column and spec.date_column not in raw.columns:
        problems.append(FieldProblem(spec.date_column, "date column missing from the CSV"))
    for name, text in spec.derived.items():
        if name in raw.columns:
            problems.append(FieldProblem(f"spec.derived.{name}", "a CSV column already has this name"))
        absent = [c for c in parse_expression(text).columns if c not in raw.columns and c not in spec.derived]
        problems += [
            FieldProblem(f"spec.derived.{name}", f"uses {c!r}, not a column of the CSV") for c in absent
        ]
    if problems:
        raise InputError(problems)

    y, keep, outcome_notes = _outcome(raw[out.column], spec, problems)
    raw = raw.loc[keep].reset_index(drop=True)
    row_numbers = np.flatnonzero(keep) + 1
    book_notes = list(outcome_notes)
    excluded: dict[str, str] = {out.column: "outcome"}
    protected = spec.protected_columns([c for c in raw.columns if c != out.column] + list(spec.derived))
    readers: dict[str, FieldReader] = {}
    values: dict[str, np.ndarray] = {}
    kinds: dict[str, Kind] = {}
    dates: pd.Series | None = None
    date_candidates: list[str] = []
    implausible: list[dict[str, Any]] = []

    for name in raw.columns:
        if name == out.column:
            continue
        col = spec.columns.get(name, ColumnSpec())
        cells = raw[name].astype(str).str.strip()
        ctype = col.type or _infer_type(name, cells, len(raw))
        if ctype == "id" or ctype == "ignore":
            excluded[name] = "identifier (unique per loan)" if ctype == "id" else "ignored by the spec"
            continue
        if ctype == "date":
            date_candidates.append(name)
            excluded[name] = "date (used to order the folds, not as a feature)"
            continue
        reader = FieldReader(
            name, ctype, list(col.special), col.min, col.max, col.order, strict=col.type is not None
        )
        parsed, col_problems = _read_column(reader, cells, row_numbers)
        problems += col_problems[: max(0, MAX_PROBLEMS - len(problems))]
        readers[name] = reader
        values[name] = parsed
        if ctype in ("numeric", "ordinal"):
            non_numeric = int(np.sum(np.isnan(parsed) & ~cells.str.lower().isin(MISSING_TOKENS).to_numpy()))
            if non_numeric and not reader.strict:
                book_notes.append(f"{name}: {non_numeric} non-numeric cells kept as missing")
            flag = _implausible(name, parsed, col, row_numbers, reader.special_numbers)
            if flag:
                implausible.append(flag)
        kinds[name] = "categorical" if ctype == "categorical" else "numeric"
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        raise InputError(problems[:MAX_PROBLEMS])

    for name, text in spec.derived.items():
        expr = parse_expression(text)
        bad_inputs = [c for c in expr.columns if c in kinds and kinds[c] != "numeric"]
        if bad_inputs:
            raise InputError.single(f"spec.derived.{name}", f"uses non-numeric column(s) {bad_inputs}")
        inputs = {
            c: np.where(np.isin(values[c], list(readers[c].special_numbers)), np.nan, values[c])
            for c in expr.columns
            if c in values
        }
        inputs.update({c: values[c] for c in expr.columns if c not in inputs and c in values})
        values[name] = expr.evaluate(inputs)
        kinds[name] = "numeric"
        through = [c for c in expr.columns if c in protected]
        if through:
            protected[name] = f"derived from protected column(s) {through}"

    date_name = spec.date_column or _pick_date(date_candidates)
    if date_name is not None:
        dates = pd.to_datetime(
            raw[date_name].where(~raw[date_name].str.strip().str.lower().isin(MISSING_TOKENS)),
            errors="coerce",
            format="mixed",
        )
        excluded[date_name] = "application date (orders the folds; not a feature)"

    frame = pd.DataFrame({n: values[n] for n in kinds})
    for name in list(kinds):
        reason = None
        if name in protected:
            reason = protected[name]
        elif name in spec.exclude:
            reason = "excluded by the spec"
        else:
            series = frame[name]
            if series.nunique(dropna=True) <= 1 and series.isna().sum() in (0, len(series)):
                reason = "constant (one value in every row)"
        if reason:
            excluded[name] = reason
            del kinds[name]
    frame = frame[list(kinds)]
    used_inputs = {c for n in kinds for c in ([n] if n not in spec.derived else _inputs(spec, n))}
    book = Book(
        frame=frame,
        y=y,
        kinds=kinds,
        groups={n: spec.group_of(n) for n in kinds},
        readers={n: r for n, r in readers.items() if n in used_inputs},
        derived={n: t for n, t in spec.derived.items() if n in kinds},
        dates=dates,
        row_numbers=row_numbers,
        excluded=excluded,
        implausible=implausible,
        notes=book_notes,
        data_sha256=digest,
        outcome={"column": out.column, "bad": out.bad, "good": out.good, "exclude": out.exclude},
    )
    check_size(book)
    if not kinds:
        raise InputError.single("csv", "no usable feature column left after exclusions")
    return book


def _inputs(spec: ScorecardSpec, name: str) -> list[str]:
    out: list[str] = []
    for c in parse_expression(spec.derived[name]).columns:
        out += _inputs(spec, c) if c in spec.derived else [c]
    return out


def check_size(book: Book) -> None:
    n, bads = len(book.y), int(book.y.sum())
    goods = n - bads
    if n < MIN_ROWS or bads < MIN_BADS or goods < MIN_GOODS:
        raise InputError.single(
            "csv",
            f"too few loans to train a scorecard: need at least {MIN_ROWS} loans with {MIN_BADS} bad "
            f"and {MIN_GOODS} good, got {n} loans with {bads} bad and {goods} good",
        )
    if n < STABLE_ROWS or bads < STABLE_BADS:
        book.warnings.append(
            f"small book ({n} loans, {bads} bad): bins, weights and bands are unstable; at least "
            f"{STABLE_ROWS} loans with {STABLE_BADS} bad are advisable before relying on this card"
        )


def _outcome(
    cells: pd.Series, spec: ScorecardSpec, problems: list[FieldProblem]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    out = spec.outcome

    def norm(v: Any) -> str:
        text = str(v).strip()
        try:
            return repr(float(text))
        except ValueError:
            return text.lower()

    bad = {norm(v) for v in out.bad}
    excl = {norm(v) for v in out.exclude}
    good = {norm(v) for v in out.good} if out.good is not None else None
    if good is None and bad == {norm(1)}:
        good = {norm(0)}
    labels = cells.astype(str).map(norm)
    missing = cells.astype(str).str.strip().str.lower().isin(MISSING_TOKENS).to_numpy()
    is_bad = labels.isin(bad).to_numpy()
    is_excl = labels.isin(excl).to_numpy()
    is_good = labels.isin(good).to_numpy() if good is not None else ~is_bad & ~is_excl & ~missing
    unknown = ~(is_bad | is_good | is_excl | missing)
    for i in np.flatnonzero(unknown)[:MAX_PROBLEMS]:
        problems.append(
            FieldProblem(
                out.column,
                f"outcome label is neither bad {out.bad} nor good "
                f"{out.good if out.good is not None else [0]} nor excluded",
                int(i) + 1,
                str(cells.iloc[i]),
            )
        )
    if problems:
        raise InputError(problems)
    if not is_bad.any():
        seen = sorted(cells.astype(str).str.strip().unique().tolist())[:20]
        raise InputError.single(out.column, f"no row has a bad label {out.bad} (labels seen: {seen})")
    notes = []
    if is_excl.any():
        notes.append(f"{int(is_excl.sum())} loans with an excluded (immature) outcome dropped")
    if missing.any():
        notes.append(f"{int(missing.sum())} loans with no outcome dropped")
    keep = (is_bad | is_good) & ~is_excl
    return is_bad[keep].astype(int), keep, notes


def _infer_type(name: str, cells: pd.Series, n: int) -> ColumnType:
    present = cells[~cells.str.lower().isin(MISSING_TOKENS)]
    if present.empty:
        return "categorical"
    numbers = pd.to_numeric(_plain_numbers(present), errors="coerce")
    share = float(numbers.notna().mean())
    unique = present.nunique()
    if share >= 0.95:
        words = {w for w in name.lower().replace("-", "_").split("_") if w}
        if unique == len(present) == n and (
            words & {"id", "key", "no", "number", "index"} or bool(numbers.is_monotonic_increasing)
        ):
            return "id"
        return "numeric"
    if (
        present.str.contains(
            r"^\d{4}-\d{1,2}(?:-\d{1,2})?|^\d{1,2}/\d{1,2}/\d{2,4}|^[A-Za-z]{3}-\d{2,4}$", regex=True
        ).mean()
        >= 0.95
    ):
        parsed = pd.to_datetime(present, errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.95:
            return "date"
    if unique > 50 and unique >= 0.5 * len(present):
        return "id"
    return "categorical"


def _pick_date(candidates: list[str]) -> str | None:
    for key in ("application", "issue", "origination", "open", "date"):
        for c in candidates:
            if key in c.lower():
                return c
    return candidates[0] if candidates else None


def _read_column(
    reader: FieldReader, cells: pd.Series, rows: np.ndarray
) -> tuple[np.ndarray, list[FieldProblem]]:
    problems: list[FieldProblem] = []
    if reader.type == "categorical":
        low = cells.str.lower().isin(MISSING_TOKENS)
        return np.asarray(cells.where(~low, None), dtype=object), problems
    if reader.type == "numeric" and not reader.special and reader.min is None and reader.max is None:
        low = cells.str.lower().isin(MISSING_TOKENS).to_numpy()
        numbers = pd.to_numeric(_plain_numbers(cells), errors="coerce").to_numpy(dtype=float)
        bad = ~low & ~np.isfinite(numbers)
        if reader.strict:
            for i in np.flatnonzero(bad)[:MAX_PROBLEMS]:
                problems.append(FieldProblem(reader.name, "not a number", int(rows[i]), str(cells.iloc[i])))
        return np.where(np.isfinite(numbers), numbers, np.nan), problems
    out = np.full(len(cells), np.nan)
    for i, cell in enumerate(cells.tolist()):
        value, problem = reader.read(cell)
        if problem:
            if len(problems) < MAX_PROBLEMS:
                problems.append(FieldProblem(reader.name, problem, int(rows[i]), cell))
        else:
            out[i] = float(value)  # type: ignore[arg-type]
    return out, problems


def _implausible(
    name: str, x: np.ndarray, col: ColumnSpec, rows: np.ndarray, specials: set[float]
) -> dict[str, Any] | None:
    ok = np.isfinite(x) & ~np.isin(x, list(specials))
    if ok.sum() < 10:
        return None
    v = x[ok]
    if col.plausible is not None:
        lo, hi = col.plausible
        why = f"outside the plausible range [{lo:g}, {hi:g}] of the spec"
    else:
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        spread = max(q3 - q1, 1e-12)
        lo, hi = med - 20 * spread, med + 20 * spread
        why = f"more than 20 interquartile ranges from the median {med:g}"
        words = set(name.lower().replace("-", "_").split("_"))
        if words & {"age"} and "vehicle" not in words:
            lo, hi, why = max(lo, 16), min(hi, 100), "an age outside 16-100"
    flagged = ok & ((x < lo) | (x > hi))
    if not flagged.any():
        return None
    idx = np.flatnonzero(flagged)
    return {
        "column": name,
        "count": len(idx),
        "reason": why,
        "rows": [int(rows[i]) for i in idx[:10]],
        "values": [float(x[i]) for i in idx[:10]],
    }


def record_values(
    readers: Mapping[str, FieldReader], derived: Mapping[str, str], record: Mapping[str, Any]
) -> tuple[dict[str, float | str | None], list[FieldProblem]]:
    """One application at serving: raw fields -> model values with derived columns; problems name fields."""
    values: dict[str, float | str | None] = {}
    problems: list[FieldProblem] = []
    for name, reader in readers.items():
        value, problem = reader.read(record.get(name))
        if problem:
            problems.append(FieldProblem(name, problem, value=str(record.get(name))[:100]))
        values[name] = value
    for name, text in derived.items():
        expr = parse_expression(text)
        inputs = {}
        for c in expr.columns:
            v = values.get(c)
            special = c in readers and isinstance(v, float) and v in readers[c].special_numbers
            inputs[c] = math.nan if v is None or isinstance(v, str) or special else float(v)
        values[name] = expr.evaluate_one(inputs)
    return values, problems


def frame_values(
    readers: Mapping[str, FieldReader], derived: Mapping[str, str], raw: pd.DataFrame
) -> tuple[pd.DataFrame, list[FieldProblem]]:
    """Many applications (strings as read from a CSV) -> model values; absent columns are all missing."""
    rows = np.arange(1, len(raw) + 1)
    values: dict[str, np.ndarray] = {}
    problems: list[FieldProblem] = []
    for name, reader in readers.items():
        cells = raw[name].astype(str).str.strip() if name in raw.columns else pd.Series([""] * len(raw))
        parsed, col_problems = _read_column(reader, cells.reset_index(drop=True), rows)
        values[name] = parsed
        problems += col_problems
    for name, text in derived.items():
        expr = parse_expression(text)
        inputs = {}
        for c in expr.columns:
            v = values[c]
            special = readers[c].special_numbers if c in readers else set()
            inputs[c] = np.where(np.isin(v, list(special)), np.nan, v.astype(float))
        values[name] = expr.evaluate(inputs)
    return pd.DataFrame(values), problems
