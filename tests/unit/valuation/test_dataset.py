"""Issue 17 point 1: data as lenders have it."""

from __future__ import annotations

from datetime import date

import pytest

from app.valuation.dataset import read_sales
from app.valuation.errors import InputError
from app.valuation.model import TrainConfig, train_model

FAST = TrainConfig(num_boost_round=200, repeats=1)


def _csv(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def _rows(n: int, extra: str = "") -> list[str]:
    out = []
    for i in range(n):
        age = 6 + (i * 7) % 110
        make = ("Ford", "Kia", "BMW")[i % 3]
        price = int(
            {"Ford": 20000, "Kia": 18000, "BMW": 40000}[make] * (0.99**age) * (1 + 0.03 * ((i * 13) % 5 - 2))
        )
        out.append(f"{make},{age},{price}{extra}")
    return out


def test_only_price_age_and_make_are_needed() -> None:
    data = read_sales(_csv("make,age_months,price", _rows(40)))
    kinds = {p.name: p.kind for p in data.columns}
    assert kinds == {"price": "target", "age_months": "age", "make": "hierarchy"}
    assert not data.has_list_price
    result = train_model(data, None, FAST)
    assert result.metrics["mape"] < 0.2


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(InputError) as info:
        read_sales(_csv("colour,mileage_km", ["red,1000"]))
    fields = {p.field for p in info.value.problems}
    assert fields == {"price", "age_months", "make"}


def test_a_body_type_column_is_the_segment_and_is_used() -> None:
    rows = [f"{r},{('suv', 'hatchback')[i % 2]}" for i, r in enumerate(_rows(60))]
    data = read_sales(_csv("brand,age_months,price,Body Type", rows))
    plan = {p.name: p for p in data.columns}
    assert plan["segment"].kind == "hierarchy" and plan["segment"].source == "Body Type"
    assert plan["make"].source == "brand"
    result = train_model(data, None, FAST)
    assert result.model.design.hierarchy == ["make", "segment"]  # make ⊃ body type when no model names


def test_extra_columns_are_typed_and_rare_levels_pooled() -> None:
    rows = []
    for i, r in enumerate(_rows(120)):
        colour = ("red", "blue", "grey")[i % 3] if i % 40 else f"rare{i}"
        rows.append(f"{r},{'yes' if i % 3 else 'no'},{1.5 + (i % 4) * 0.5},{colour}")
    data = read_sales(_csv("make,age_months,price,sunroof,engine_l,colour", rows))
    plan = {p.name: p for p in data.columns}
    assert plan["sunroof"].kind == "boolean"
    assert plan["engine_l"].kind == "numeric"
    assert plan["colour"].kind == "categorical"
    assert plan["colour"].levels == ["blue", "grey", "red"] and plan["colour"].pooled == 3


def test_implausible_rows_are_flagged_not_refused() -> None:
    # 15,000 miles (24,140 km) on a car under two months old is a real listing: accepted
    rows = [
        f"Ford,Focus,2025-01-10,2025-03-01,{ {4: 24140, 5: 90000}.get(i, 1000 + 500 * i) },{15000 + 40 * i}"
        for i in range(40)
    ]
    data = read_sales(
        _csv("make,model,first_registration,sale_date,mileage_km,price", rows), today=date(2025, 6, 1)
    )
    assert [f["row"] for f in data.flags] == [6]  # 90,000 km in under two months: flagged, still used
    assert data.flags[0]["column"] == "mileage_km" and "km a month" in data.flags[0]["reason"]
    assert len(data) == 40


@pytest.mark.parametrize(
    ("header", "row", "column", "reason"),
    [
        ("make,age_months,price", "Ford,12,-5", "price", "impossible"),
        ("make,age_months,price", "Ford,12,0", "price", "above zero"),
        ("make,age_months,price", "Ford,-3,9000", "age_months", "impossible"),
        ("make,first_registration,sale_date,price", "Ford,2020-01-01,2999-01-01,9000", "sale_date", "future"),
        (
            "make,first_registration,sale_date,price",
            "Ford,2021-01-01,2020-01-01,9000",
            "sale_date",
            "before first",
        ),
        ("make,age_months,mileage_km,price", "Ford,12,-1,9000", "mileage_km", "impossible"),
    ],
)
def test_impossible_values_name_row_and_column(header: str, row: str, column: str, reason: str) -> None:
    rows = ["Kia,10,10000", "Kia,20,9000"] if header == "make,age_months,price" else []
    good = {"make,first_registration,sale_date,price": "Kia,2020-01-01,2021-01-01,9000",
            "make,age_months,mileage_km,price": "Kia,12,100,9000"}  # fmt: skip
    rows = rows or [good[header], good[header]]
    with pytest.raises(InputError) as info:
        read_sales(_csv(header, [*rows, row]))
    problem = info.value.problems[0]
    assert (problem.row, problem.field) == (3, column) and reason in problem.reason


def test_unseen_categories_fall_back_when_valuing_and_evaluating() -> None:
    rows = [f"{r},{('sedan', 'suv')[i % 2]}" for i, r in enumerate(_rows(80))]
    data = read_sales(_csv("make,age_months,price,segment", rows))
    result = train_model(data, None, FAST)
    from app.valuation.model import vehicle_frame

    frame = vehicle_frame([{"make": "Lada", "segment": "pickup", "age_months": 24.0}], result.model.design)
    value, low, high = (float(a[0]) for a in result.model.value_frame(frame))
    assert 0 < low < value < high


def test_a_public_listing_file_with_name_year_units_and_one_collection_date() -> None:
    from app.valuation.lender_shapes import lender_sales

    src = lender_sales("one_sale_date", 90, seed=4)
    age_years = (
        src["sale_date"].astype("datetime64[ns]") - src["first_registration"].astype("datetime64[ns]")
    ).dt.days / 365.25
    lines = ["name,year,selling_price,km_driven,fuel,mileage,engine,owner"]
    for i, row in src.iterrows():
        year = 2025 - int(age_years[i])
        lines.append(
            f'{row["make"]} {row["model"]} VDI,{year},{row["price"]:.0f},"{int(row["mileage_km"]):,}",'
            f"{('Diesel', 'Petrol')[i % 2]},{18 + i % 7}.4 kmpl,{1100 + 100 * (i % 4)} CC,{i % 3}"
        )
    data = read_sales("\n".join(lines), sale_date=date(2025, 5, 15))
    plan = {p.name: p for p in data.columns}
    assert plan["make"].kind == "hierarchy" and plan["make"].source == "name"
    assert plan["mileage_km"].kind == "numeric" and plan["mileage_km"].source == "km_driven"
    assert plan["mileage"].kind == "numeric" and plan["engine"].kind == "numeric"  # units stripped
    assert plan["fuel"].kind == "categorical"
    assert data.frame["mileage_km"].max() > 1000  # "45,000" read as 45000
    result = train_model(data, None, FAST)
    assert result.cv.folds.kind == "random"  # one collection date
    assert result.metrics["mape"] < 0.3
    with pytest.raises(InputError, match="sale_date"):
        read_sales("\n".join(lines))  # a model year alone gives no age without the collection date


def test_currency_signs_identifier_columns_and_a_missing_sale_date() -> None:
    rows = [f'{i},"${9000 + 10 * i:,}",Ford,{12 + i}' for i in range(40)]
    data = read_sales(_csv("Unnamed: 0,price,make,age_months", rows))
    assert data.frame["price"].iloc[5] == 9050.0
    assert {p.name: p.kind for p in data.columns}["unnamed:_0"] == "dropped"
    with pytest.raises(InputError, match="collection date"):
        read_sales(_csv("make,year,price", ["Ford,2020,9000"]))


def test_miles_are_converted_to_km() -> None:
    data = read_sales(_csv("make,age_months,miles,price", ["Ford,12,10000,9000", "Kia,24,20000,8000"] * 20))
    assert data.frame["mileage_km"].iloc[0] == pytest.approx(16093.4, abs=0.1)
