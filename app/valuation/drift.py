"""Input drift between a model's training data and new data: the population stability index.

A profile (decile bins of each numeric column, level shares of each categorical one) is stored in
the model card at training; retraining compares the new file with it. PSI < 0.1 is read as
stable, 0.1–0.25 as moderate drift, above 0.25 as major drift (the usual credit-risk reading).
The figures are also written as Prometheus text for the metrics pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from app.valuation.design import Design

EPS = 1e-4


def profile(design: Design, frame: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in ["age_months", *[c for c in design.numeric if c in frame and c != "age_months"]]:
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v) == 0:
            continue
        edges = np.unique(np.quantile(v, np.linspace(0.1, 0.9, 9)))
        counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)
        out[col] = {
            "kind": "numeric",
            "edges": [float(e) for e in edges],
            "shares": [float(c) / len(v) for c in counts],
        }
    for col in design.categorical:
        if col not in frame:
            continue
        values = frame[col].astype(str)
        levels = design.levels[col]
        shares = [float((values == lv).mean()) for lv in levels]
        out[col] = {"kind": "categorical", "levels": levels, "shares": [*shares, max(0.0, 1.0 - sum(shares))]}
    return out


def psi(expected: list[float], actual: list[float]) -> float:
    e = np.maximum(np.asarray(expected), EPS)
    a = np.maximum(np.asarray(actual), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def drift(reference: dict[str, Any], frame: pd.DataFrame) -> list[dict[str, Any]]:
    """PSI per profiled column of ``frame`` against the reference profile (missing columns noted)."""
    rows: list[dict[str, Any]] = []
    for col, ref in reference.items():
        if col not in frame:
            rows.append({"feature": col, "psi": None, "status": "missing in the new data"})
            continue
        if ref["kind"] == "numeric":
            v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            if len(v) == 0:
                rows.append({"feature": col, "psi": None, "status": "no values in the new data"})
                continue
            counts = np.bincount(
                np.searchsorted(np.asarray(ref["edges"]), v, side="right"), minlength=len(ref["edges"]) + 1
            )
            actual = [float(c) / len(v) for c in counts]
        else:
            values = frame[col].astype(str)
            shares = [float((values == lv).mean()) for lv in ref["levels"]]
            actual = [*shares, max(0.0, 1.0 - sum(shares))]
        value = psi(ref["shares"], actual)
        status = "stable" if value < 0.1 else "moderate drift" if value < 0.25 else "major drift"
        rows.append({"feature": col, "psi": round(value, 4), "status": status})
    return rows


def prometheus_text(model: str, rows: list[dict[str, Any]]) -> str:
    """The PSI figures as Prometheus exposition text."""
    lines = [
        "# HELP mledger_valuation_input_psi Population stability index of an input vs the champion's data",
        "# TYPE mledger_valuation_input_psi gauge",
    ]
    for row in rows:
        if row["psi"] is not None:
            feature = str(row["feature"]).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'mledger_valuation_input_psi{{model="{model}",feature="{feature}"}} {row["psi"]}')
    return "\n".join(lines) + "\n"
