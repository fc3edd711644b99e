"""Errors the valuation engine raises; each names the field (and row) at fault and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad value: where it is (field, optional 1-based data row) and what is wrong."""

    field: str
    reason: str
    row: int | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}, column {self.field!r}" if self.row is not None else f"field {self.field!r}"
        shown = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.reason}{shown}"


class ValuationError(Exception):
    """Base class for valuation failures."""


class InputError(ValuationError):
    """The caller's input is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (+{len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"invalid input: {shown}{more}")

    @classmethod
    def single(cls, field: str, reason: str, value: object | None = None) -> InputError:
        return cls([FieldProblem(field, reason, None, None if value is None else str(value))])

    def as_dicts(self) -> list[dict[str, object]]:
        return [
            {
                k: v
                for k, v in (("field", p.field), ("reason", p.reason), ("row", p.row), ("value", p.value))
                if v is not None
            }
            for p in self.problems
        ]


class AccessDenied(ValuationError):
    """The caller's org or role may not use this valuation or risk action (403)."""


class ModelNotFoundError(ValuationError):
    """No registered model matches the requested name/version."""


class ReproductionMismatchError(ValuationError):
    """A recomputed valuation differs from the recorded one."""
