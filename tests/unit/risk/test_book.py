"""Reading a lender's book as it comes: outcome labels, types, derived columns, missing values kept,
impossible values named by row and column, implausible ones flagged, protected columns left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.risk.book import read_book
from app.risk.books import BookShape, book_csv, generate_book
from app.risk.colspec import parse_spec
from app.risk.expressions import ExpressionError, parse_expression
from app.valuation.errors import InputError


def _german_like(n: int = 400, bad_share: float = 0.3, seed: int = 3) -> pd.DataFrame:
    """A book like the public German credit data: text good/bad, categoricals, no vehicle fields."""
    rng = np.random.default_rng(seed)
    bad = rng.uniform(size=n) < bad_share
    return pd.DataFrame(
        {
            "checking_status": rng.choice(["<0", "0<=X<200", "no checking"], n),
            "duration": rng.integers(6, 60, n),
            "credit_amount": rng.integers(500, 15000, n),
            "purpose": rng.choice(["radio/tv", "new car", "used car", "education"], n),
            "personal_status": rng.choice(["male single", "female div/dep/mar", "male mar/wid"], n),
            "job": rng.choice(["skilled", "unskilled resident", "high qualif"], n),
            "age": rng.integers(19, 75, n),
            "class": np.where(bad, "bad", "good"),
        }
    )


def test_text_good_bad_outcome_and_no_required_columns() -> None:
    # issue 21: "row 1, column 'bad': not a finite number (value 'good')" and 12 fixed features required
    book = read_book(book_csv(_german_like()), parse_spec({"outcome": {"column": "class", "bad": ["bad"]}}))
    assert len(book.y) == 400 and 0.2 < book.bad_rate < 0.4
    assert {"checking_status", "duration", "credit_amount", "purpose", "job", "age"} <= set(book.features)
    assert "personal_status" in book.excluded and "marital status" in book.excluded["personal_status"]
    assert "personal_status" not in book.features


def test_status_list_outcome_with_immature_loans_dropped() -> None:
    frame, raw = generate_book(BookShape(600, 0.3, text_outcome=True, seed=5))
    book = read_book(book_csv(frame), parse_spec(raw))
    current = int((frame["loan_status"] == "Current").sum())
    assert current > 0 and len(book.y) == 600 - current
    assert any("excluded (immature)" in n for n in book.notes)
    assert book.y.sum() == frame["loan_status"].isin(["Charged Off", "Default"]).sum()


def test_unknown_outcome_label_names_row_and_column() -> None:
    frame = _german_like()
    frame.loc[4, "class"] = "maybe"
    spec = parse_spec({"outcome": {"column": "class", "bad": ["bad"], "good": ["good"]}})
    with pytest.raises(InputError) as err:
        read_book(book_csv(frame), spec)
    assert "row 5, column 'class'" in str(err.value) and "maybe" in str(err.value)


def test_missing_income_kept_and_derived_ratio_missing_not_refused() -> None:
    frame, raw = generate_book(BookShape(1000, 0.3, missing_income=True, seed=9))
    book = read_book(book_csv(frame), parse_spec(raw))
    blank = (frame["monthly_income"] == "").to_numpy()
    assert len(book.y) == 1000 and blank.sum() == 100  # no row thrown away
    assert np.isnan(book.frame["monthly_income"].to_numpy()[blank]).all()
    assert np.isnan(book.frame["debt_to_income"].to_numpy()[blank]).all()
    # the issue's finding: the missing-income group is the riskiest; it must stay in the book
    assert book.y[blank].mean() > book.y[~blank].mean() + 0.1


def test_special_codes_and_declared_numeric_text_refused_with_row() -> None:
    frame, raw = generate_book(BookShape(500, 0.3, seed=4))
    book = read_book(book_csv(frame), parse_spec(raw))
    assert (book.frame["employment_years"] == -1).any()  # special code kept for its own bin
    frame.loc[6, "monthly_income"] = "lots"
    frame.loc[9, "age"] = 7  # below the declared minimum 14
    with pytest.raises(InputError) as err:
        read_book(book_csv(frame), parse_spec(raw))
    text = str(err.value)
    assert "row 7, column 'monthly_income': not a number" in text
    assert "row 10, column 'age': below the possible minimum 14" in text


def test_implausible_values_flagged_not_refused() -> None:
    frame, raw = generate_book(BookShape(500, 0.3, seed=4))
    frame["age"] = frame["age"].astype(int)
    frame.loc[3, "age"] = 110  # possible (max 120) but implausible
    book = read_book(book_csv(frame), parse_spec(raw))
    flag = next(f for f in book.implausible if f["column"] == "age")
    assert 4 in flag["rows"] and 110.0 in flag["values"]


def test_derived_unit_change_and_ratio() -> None:
    frame = _german_like()
    spec = parse_spec(
        {
            "outcome": {"column": "class", "bad": ["bad"]},
            "derived": {"amount_per_month": "credit_amount / duration", "years": "duration / 12"},
        }
    )
    book = read_book(book_csv(frame), spec)
    assert np.allclose(book.frame["years"], frame["duration"] / 12)
    assert np.allclose(book.frame["amount_per_month"], frame["credit_amount"] / frame["duration"])


@pytest.mark.parametrize(
    "text", ["__import__('os').system('id')", "a.b", "a[0]", "'x' + a", "lambda: 1", "a ** 2"]
)
def test_expressions_refuse_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_bad_spec_names_the_field() -> None:
    with pytest.raises(InputError) as err:
        parse_spec({"outcome": {"column": "class"}, "derived": {"x": "open('f')"}})
    assert err.value.problems[0].field.startswith("spec.derived")
    with pytest.raises(InputError) as err:
        read_book(book_csv(_german_like()), parse_spec({"outcome": {"column": "status"}}))
    assert err.value.problems[0].field == "status"


def test_protected_attributes_defaults_configured_and_age() -> None:
    frame, raw = generate_book(BookShape(500, 0.3, seed=4))
    book = read_book(book_csv(frame), parse_spec(raw))
    assert set(book.excluded) >= {"sex", "marital_status"} and "age" in book.features
    book = read_book(book_csv(frame), parse_spec({**raw, "exclude_age": True}))
    assert "age" in book.excluded and "age" not in book.features
    book = read_book(book_csv(frame), parse_spec({**raw, "protected": ["purpose"]}))
    assert "purpose" in book.excluded and "sex" in book.features  # the lender's own list replaces the default
    derived = parse_spec({**raw, "exclude_age": True, "derived": {**raw["derived"], "age_x": "age * 12"}})
    assert "derived from protected" in read_book(book_csv(frame), derived).excluded["age_x"]


def test_size_limits() -> None:
    frame, raw = generate_book(BookShape(1000, 0.3, seed=8))
    spec = parse_spec(raw)
    ok = pd.concat([frame[frame["default"] == 1].head(30), frame[frame["default"] == 0].head(270)])
    book = read_book(book_csv(ok), spec)
    assert any("small book (300 loans, 30 bad)" in w for w in book.warnings)
    with pytest.raises(InputError) as err:
        read_book(
            book_csv(
                pd.concat([frame[frame["default"] == 1].head(29), frame[frame["default"] == 0].head(400)])
            ),
            spec,
        )
    assert "need at least 300 loans with 30 bad" in str(err.value) and "29 bad" in str(err.value)


def test_constant_and_id_columns_left_out_with_reason() -> None:
    frame = _german_like()
    frame["branch"] = "HQ"
    frame["loan_id"] = [f"X{i:05d}" for i in range(len(frame))]
    book = read_book(book_csv(frame), parse_spec({"outcome": {"column": "class", "bad": ["bad"]}}))
    assert book.excluded["branch"].startswith("constant") and book.excluded["loan_id"].startswith(
        "identifier"
    )


def _lending_club_like(n: int = 900, seed: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rate = rng.uniform(6, 26, n)
    bad = rng.uniform(size=n) < 1 / (1 + np.exp(-(rate - 20) / 3))
    months = rng.integers(0, 40, n)
    issue = pd.to_datetime("2014-01-01") + pd.to_timedelta(months * 30.5, unit="D")
    status = np.where(bad, "Charged Off", "Fully Paid").astype(object)
    status[rng.uniform(size=n) < 0.03] = "Does not meet the credit policy. Status:Charged Off"
    status[rng.uniform(size=n) < 0.05] = "Current"
    return pd.DataFrame(
        {
            "id": np.arange(100000, 100000 + n),
            "issue_d": issue.strftime("%b-%Y"),
            "int_rate": [f"{r:.2f}%" for r in rate],
            "term": rng.choice([" 36 months", " 60 months"], n),
            "emp_length": rng.choice(["< 1 year", "1 year", "5 years", "10+ years", "n/a"], n),
            "annual_inc": [f"{v:,.0f}" for v in rng.lognormal(11, 0.5, n)],
            "loan_status": status,
        }
    )


def test_lending_club_shapes_percent_rates_dates_and_status_lists() -> None:
    from app.risk.validation import make_folds

    frame = _lending_club_like()
    spec = parse_spec(
        {
            "outcome": {
                "column": "loan_status",
                "bad": ["Charged Off", "Does not meet the credit policy. Status:Charged Off"],
                "good": ["Fully Paid"],
                "exclude": ["Current"],
            }
        }
    )
    book = read_book(book_csv(frame), spec)
    assert book.kinds["int_rate"] == "numeric" and book.frame["int_rate"].between(6, 26).all()
    assert book.kinds["annual_inc"] == "numeric" and book.kinds["emp_length"] == "categorical"
    assert book.excluded["id"].startswith("identifier") and "issue_d" in book.excluded
    assert book.dates is not None and book.dates.notna().all()
    folds = make_folds(book.y, book.dates, spec.cv)
    assert folds.kind == "time-ordered"
    for train, test in folds.splits:  # every test block is later than its training rows
        assert book.dates.iloc[train].max() <= book.dates.iloc[test].min()


def test_protected_names_as_public_books_spell_them() -> None:
    spec = parse_spec({"outcome": {"column": "y"}})
    names = [
        "SEX",
        "MARRIAGE",
        "NAME_FAMILY_STATUS",
        "CODE_GENDER",
        "foreign_worker",
        "ReligionCode",
        "race",
        "personal_status",
        "LIMIT_BAL",
        "PAY_0",
        "usage",
        "purpose",
        "AGE",
    ]
    assert set(spec.protected_columns(names)) == set(names[:8])


def test_semicolon_decimal_comma_and_tab_separated_books() -> None:
    frame = _german_like()
    spec = parse_spec({"outcome": {"column": "class", "bad": ["bad"]}})
    euro = frame.assign(
        credit_amount=[
            f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") for v in frame["credit_amount"]
        ]
    )
    book = read_book(euro.to_csv(index=False, sep=";").encode(), spec)
    assert np.allclose(book.frame["credit_amount"], frame["credit_amount"])
    book = read_book(frame.to_csv(index=False, sep="\t").encode(), spec)
    assert book.kinds["duration"] == "numeric" and len(book.y) == len(frame)


def test_ordinal_levels_and_special_labels() -> None:
    frame = _german_like()
    frame["grade"] = np.random.default_rng(1).choice(["A", "B", "C", "not rated"], len(frame))
    spec = parse_spec(
        {
            "outcome": {"column": "class", "bad": ["bad"]},
            "columns": {"grade": {"type": "ordinal", "order": ["A", "B", "C"], "special": ["not rated"]}},
        }
    )
    book = read_book(book_csv(frame), spec)
    coded = book.frame["grade"].to_numpy()
    assert set(np.unique(coded)) == {-1.0, 0.0, 1.0, 2.0}
    assert book.readers["grade"].special_numbers == {-1.0}
    frame.loc[2, "grade"] = "Z"
    with pytest.raises(InputError) as err:
        read_book(book_csv(frame), spec)
    assert "row 3, column 'grade': level 'Z' is not in the ordinal order" in str(err.value)
