"""Derived columns as small arithmetic expressions over other columns, evaluated without ``eval``.

A lender writes ``loan_amount / vehicle_price`` or ``annual_income / 12``; the expression is parsed
with :mod:`ast` and only numbers, column names, ``+ - * /``, unary minus, parentheses and a few pure
functions (log, log1p, sqrt, abs, min, max) are accepted. Anything else (attribute access, calls to
other names, subscripts, lambdas, strings) is refused at spec time with the reason. Division by
zero and logs of non-positive numbers give a missing value, never an error, so a row with a zero
price is scored in its Missing bin instead of being refused.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

_FUNCTIONS = {"log": np.log, "log1p": np.log1p, "sqrt": np.sqrt, "abs": np.abs}
_PAIR_FUNCTIONS = {"min": np.fmin, "max": np.fmax}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
MAX_LENGTH = 200
MAX_NODES = 60


class ExpressionError(ValueError):
    """The expression uses something outside the permitted arithmetic."""


@dataclass(frozen=True)
class Expression:
    text: str
    tree: ast.Expression
    columns: tuple[str, ...]

    def evaluate(self, columns: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """Vectorised evaluation; NaN where an input is missing or the arithmetic is undefined."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.asarray(_eval(self.tree.body, columns), dtype=np.float64)
        return np.where(np.isfinite(out), out, np.nan)

    def evaluate_one(self, values: Mapping[str, float]) -> float:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = float(_eval(self.tree.body, {k: np.float64(v) for k, v in values.items()}))
        return result if math.isfinite(result) else math.nan


@functools.lru_cache(maxsize=256)
def parse_expression(text: str) -> Expression:
    """Parse and check ``text``; raises ExpressionError naming what is not allowed."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not an arithmetic expression ({exc.msg})") from exc
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError(f"more than {MAX_NODES} terms")
    columns: list[str] = []
    for node in nodes:
        _check(node, columns)
    if not columns:
        raise ExpressionError("uses no column")
    return Expression(text.strip(), tree, tuple(dict.fromkeys(columns)))


def _check(node: ast.AST, columns: list[str]) -> None:
    if isinstance(node, (ast.Expression, ast.Load, ast.USub, ast.UAdd, *_BINOPS)):
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINOPS):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed (use + - * /)")
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"constant {node.value!r} is not a number")
        return
    if isinstance(node, ast.Name):
        columns.append(node.id)
        return
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        arity = 1 if name in _FUNCTIONS else 2 if name in _PAIR_FUNCTIONS else None
        if arity is None:
            allowed = ", ".join(sorted({*_FUNCTIONS, *_PAIR_FUNCTIONS}))
            raise ExpressionError(f"function {ast.unparse(node.func)!r} is not allowed (allowed: {allowed})")
        if len(node.args) != arity or node.keywords:
            raise ExpressionError(f"{name}() takes {arity} argument(s)")
        # the function name itself is an ast.Name: do not count it as a column
        columns.extend(n.id for a in node.args for n in ast.walk(a) if isinstance(n, ast.Name))
        for arg in node.args:
            for sub in ast.walk(arg):
                _check(sub, [])
        return
    raise ExpressionError(f"{type(node).__name__} is not allowed in a derived column")


def _eval(node: ast.AST, columns: Mapping[str, np.ndarray | float]) -> np.ndarray | float:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float) or isinstance(node.value, bool):
            raise ExpressionError(f"constant {node.value!r} is not a number")
        return float(node.value)
    if isinstance(node, ast.Name):
        return columns[node.id]
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, columns)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, columns), _eval(node.right, columns)
        if isinstance(node.op, ast.Add):
            return np.add(a, b)
        if isinstance(node.op, ast.Sub):
            return np.subtract(a, b)
        if isinstance(node.op, ast.Mult):
            return np.multiply(a, b)
        return np.divide(a, b)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(a, columns) for a in node.args]
        if node.func.id in _FUNCTIONS:
            return _FUNCTIONS[node.func.id](args[0])
        return _PAIR_FUNCTIONS[node.func.id](args[0], args[1])
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # unreachable after parse_expression
