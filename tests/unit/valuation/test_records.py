from __future__ import annotations

from datetime import date

import pytest

from app.valuation.errors import InputError
from app.valuation.records import read_sales_csv
from app.valuation.synthetic import generate_market, market_to_csv

TODAY = date(2025, 6, 1)


def _csv(rows: int = 5) -> list[str]:
    return market_to_csv(generate_market(rows, seed=2)).strip().splitlines()


def _problems(text: str, mapping: dict[str, str] | None = None) -> list[dict[str, object]]:
    with pytest.raises(InputError) as info:
        read_sales_csv(text, mapping, today=TODAY)
    return info.value.as_dicts()


def _set(lines: list[str], row: int, column: str, value: str) -> str:
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines = [*lines]
    lines[row] = ",".join(cells)
    return "\n".join(lines)


def test_valid_csv_parses_to_typed_columns() -> None:
    frame = read_sales_csv("\n".join(_csv(20)), today=TODAY)
    assert len(frame) == 20
    assert str(frame["sale_date"].dtype).startswith("datetime64")
    assert frame["condition_grade"].dtype.kind == "i"


def test_column_mapping_renames_user_columns() -> None:
    lines = _csv()
    renamed = {"mileage_km": "odometer", "price": "sold_for"}
    lines[0] = ",".join(renamed.get(c, c) for c in lines[0].split(","))
    frame = read_sales_csv("\n".join(lines), {"mileage_km": "odometer", "price": "sold_for"}, today=TODAY)
    assert frame["mileage_km"].notna().all()


def test_missing_column_is_named() -> None:
    lines = _csv()
    lines[0] = lines[0].replace("mileage_km", "km")
    problems = _problems("\n".join(lines))
    assert problems == [
        {"field": "mileage_km", "reason": "column missing from CSV (needed for 'mileage_km')"}
    ]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("mileage_km", "-5", "below the minimum"),
        ("mileage_km", "nan", "not a finite number"),
        ("mileage_km", "lots", "not a number"),
        ("mileage_km", "", "missing value"),
        ("price", "99999999", "above the plausible maximum"),
        ("condition_grade", "7", "above the plausible maximum"),
        ("claims_count", "1.5", "whole number"),
        ("sale_date", "2030-01-01", "future"),
        ("sale_date", "01/02/2020", "YYYY-MM-DD"),
        ("region", "ZZ", "unknown region"),
        ("powertrain", "steam", "unknown powertrain"),
    ],
)
def test_bad_cell_is_reported_with_row_and_column(column: str, value: str, reason: str) -> None:
    problems = _problems(_set(_csv(), 3, column, value))
    assert any(p["row"] == 3 and p["field"] == column and reason in str(p["reason"]) for p in problems), (
        problems
    )


def test_sale_before_registration_and_absurd_ratio() -> None:
    text = _set(_csv(), 2, "first_registration", "2024-12-31")
    text = _set(text.splitlines(), 4, "price", "1000")
    problems = _problems(text)
    reasons = {(p["row"], p["field"], str(p["reason"])[:19]) for p in problems}
    assert (2, "sale_date", "sale date is before") in reasons
    assert not any(p["row"] == 2 and p["field"] == "mileage_km" for p in problems)
    assert any(p["row"] == 4 and "below 1% of the new price" in str(p["reason"]) for p in problems)


def test_unknown_mapping_key_is_refused() -> None:
    problems = _problems("\n".join(_csv()), {"colour": "paint"})
    assert problems[0]["field"] == "mapping.colour"
