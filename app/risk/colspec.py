"""The column spec: how a lender's loan book is read (types, special values, derived columns,
the outcome and its bad labels, protected attributes, training options).

Given as a JSON/YAML file to ``mledger risk train --spec`` or as the ``spec`` form field of
``POST /risk/scorecard/train``. Only the outcome is required: every other column is a candidate
feature, its type inferred when the spec does not say it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.risk.expressions import ExpressionError, parse_expression
from app.valuation.errors import FieldProblem, InputError

ColumnType = Literal["numeric", "ordinal", "categorical", "date", "id", "ignore"]
Group = Literal["borrower", "loan", "vehicle"]

# Protected attributes excluded by default (fair lending): matched on the words of a column name.
DEFAULT_PROTECTED: dict[str, tuple[str, ...]] = {
    "sex": ("sex", "gender"),
    "marital status": (
        "marital",
        "marriage",
        "personal_status",
        "married",
        "spouse",
        "family_status",
        "civil_status",
    ),
    "ethnicity": ("ethnic", "ethnicity", "race", "nationality", "foreign_worker", "citizenship"),
    "religion": ("religion", "religious", "faith"),
}
AGE_WORDS = ("age", "age_years", "birth", "dob", "date_of_birth", "birth_year")
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "missing", "#n/a"})
VEHICLE_WORDS = ("vehicle", "car", "mileage", "odometer", "ltv", "maintenance", "model_year", "vin")
LOAN_WORDS = ("loan", "term", "amount", "rate", "installment", "instalment", "down_payment", "price")


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: ColumnType | None = Field(default=None, description="inferred when omitted")
    special: list[float | str] = Field(default_factory=list, description="codes scored in a Special bin")
    min: float | None = Field(default=None, description="values below are impossible: refused")
    max: float | None = Field(default=None, description="values above are impossible: refused")
    plausible: tuple[float, float] | None = Field(default=None, description="outside: flagged in the report")
    order: list[str] | None = Field(default=None, description="ordinal levels, best to worst or any order")
    group: Group | None = Field(default=None, description="borrower / loan / vehicle (inferred from name)")


def _default_bad() -> list[str | float]:
    return [1]


class OutcomeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str = Field(min_length=1, max_length=200)
    bad: list[str | float] = Field(
        default_factory=_default_bad, description="labels meaning bad: text, 1, or a list of statuses"
    )
    good: list[str | float] | None = Field(
        default=None, description="labels meaning good; default: every label not listed as bad"
    )
    exclude: list[str | float] = Field(
        default_factory=list, description="labels of loans not yet matured (e.g. 'Current'): dropped, counted"
    )


class CvSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folds: int = Field(default=5, ge=2, le=10)
    repeats: int = Field(default=2, ge=1, le=10)
    time_ordered_min_months: float = Field(
        default=24, ge=1, description="application dates spanning at least this long give time-ordered folds"
    )
    seed: int = 7


class ChallengerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    lightgbm_max_rounds: int = Field(default=400, ge=10, le=5000)
    inner_folds: int = Field(default=3, ge=2, le=5)


class ScorecardSpec(BaseModel):
    """Everything that shapes a training run; recorded verbatim in the model card."""

    model_config = ConfigDict(extra="forbid")
    outcome: OutcomeSpec
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    derived: dict[str, str] = Field(default_factory=dict, description="name -> expression, e.g. 'a / b'")
    date_column: str | None = Field(default=None, description="application date (time-ordered CV, report)")
    protected: list[str] | None = Field(
        default=None, description="columns never used; default: sex, marital status, ethnicity, religion"
    )
    exclude_age: bool = Field(default=False, description="the lender's rules forbid age as a feature")
    exclude: list[str] = Field(default_factory=list, description="further columns not to use")
    long_run_default_rate: float | None = Field(default=None, gt=0, lt=1)
    bands: int = Field(default=7, ge=2, le=20)
    min_band_share: float = Field(default=0.03, gt=0, le=0.3)
    min_iv: float = Field(default=0.02, ge=0, le=1)
    max_correlation: float = Field(default=0.8, gt=0, le=1)
    max_variables: int = Field(default=20, ge=1, le=60)
    rare_share: float = Field(default=0.02, ge=0, le=0.2, description="categorical levels below are pooled")
    cv: CvSpec = Field(default_factory=CvSpec)
    challengers: ChallengerSpec = Field(default_factory=ChallengerSpec)

    @field_validator("derived")
    @classmethod
    def _expressions(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
                raise ValueError(f"derived column name {name!r}: use letters, digits and '_'")
            try:
                parse_expression(text)
            except ExpressionError as exc:
                raise ValueError(f"derived column {name!r} = {text!r}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScorecardSpec:
        for name, col in self.columns.items():
            if col.type == "ordinal" and not col.order:
                raise ValueError(f"columns.{name}: an ordinal column needs 'order'")
            if col.min is not None and col.max is not None and col.min > col.max:
                raise ValueError(f"columns.{name}: min is above max")
        return self

    def protected_columns(self, names: list[str]) -> dict[str, str]:
        """{column: why} for every column that is a protected attribute under this spec."""
        out: dict[str, str] = {}
        if self.protected is not None:
            wanted = {p.lower() for p in self.protected}
            for name in names:
                if name.lower() in wanted:
                    out[name] = "protected attribute (configured list)"
        else:
            for name in names:
                words = _words(name)
                for what, keys in DEFAULT_PROTECTED.items():
                    if any(k in words or k == name.lower() for k in keys):
                        out[name] = f"protected attribute ({what}; default fair-lending list)"
                        break
        if self.exclude_age:
            for name in names:
                borrower = self.group_of(name) == "borrower"
                if borrower and (name.lower() in AGE_WORDS or bool(set(AGE_WORDS) & _words(name))):
                    out[name] = "protected attribute (age; excluded by the lender's rules)"
        return out

    def group_of(self, name: str) -> Group:
        col = self.columns.get(name)
        if col is not None and col.group is not None:
            return col.group
        words, low = _words(name), name.lower()
        if any(w in words or w in low for w in VEHICLE_WORDS):
            return "vehicle"
        if any(w in words for w in LOAN_WORDS):
            return "loan"
        return "borrower"


def _words(name: str) -> set[str]:
    low = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()  # camelCase -> camel_case
    parts = [p for p in re.split(r"[^a-z0-9]+", low) if p]
    return {*parts, *("_".join(parts[i : i + 2]) for i in range(len(parts) - 1))}


def parse_spec(data: Any, field: str = "spec") -> ScorecardSpec:
    """A spec from a dict / JSON text / YAML text; errors name the spec field at fault."""
    if isinstance(data, str | bytes):
        text = data.decode() if isinstance(data, bytes) else data
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise InputError.single(field, f"neither JSON nor YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError.single(field, "must be an object with at least 'outcome'")
    try:
        return ScorecardSpec.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [
                FieldProblem(
                    ".".join([field, *(str(p) for p in e["loc"])]), e["msg"].removeprefix("Value error, ")
                )
                for e in exc.errors()
            ]
        ) from exc


def load_spec(path: Path) -> ScorecardSpec:
    return parse_spec(path.read_text(encoding="utf-8"), field=str(path.name))
