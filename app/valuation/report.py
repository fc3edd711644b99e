"""The training report (one self-contained HTML file with inline SVG plots) and the model card file.

Plots: predicted vs actual (out-of-fold, so honest), residuals by age and by mileage, interval
coverage by segment node, the depreciation curve per segment, feature importance; then the CV
table of every candidate on the same folds, the columns used and how, and the flagged rows.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from app.valuation.candidates import Boosting, Linear
from app.valuation.model import TrainingResult, ValuationModel


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _oof(result: TrainingResult) -> tuple[np.ndarray, np.ndarray]:
    frame = result.data.frame
    return np.exp(result.cv.oof[result.cv.chosen][0]), frame["price"].to_numpy(dtype=np.float64)


def plots(result: TrainingResult) -> dict[str, str]:
    pred, actual = _oof(result)
    frame = result.data.frame
    out: dict[str, str] = {}
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(actual, pred, s=6, alpha=0.5)
    lo, hi = float(min(actual.min(), pred.min())), float(max(actual.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("actual price")
    ax.set_ylabel("predicted (out of fold)")
    ax.set_title(f"Predicted vs actual — {result.cv.chosen}")
    out["predicted vs actual"] = _svg(fig)

    resid = np.log(pred / actual)
    for col, label in (("age_months", "age (months)"), ("mileage_km", "mileage (km)")):
        if col not in frame:
            continue
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.scatter(x, resid, s=6, alpha=0.5)
        ax.axhline(0, color="black", lw=1)
        ax.set_xlabel(label)
        ax.set_ylabel("log(predicted / actual)")
        ax.set_title(f"Residuals by {label}")
        out[f"residuals by {col}"] = _svg(fig)

    model = result.model
    keys = model.design.hierarchy_keys(frame)
    top = keys[1] if len(keys) > 1 else keys[0]
    half = model.half_width(frame)
    covered = np.abs(resid) <= half
    cov = pd.DataFrame({"node": top, "covered": covered}).groupby("node")["covered"].agg(["mean", "size"])
    cov = cov.sort_values("size", ascending=False).head(15)
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(cov) + 1))
    ax.barh([str(i)[2:] or "*" for i in cov.index], cov["mean"])
    ax.axvline(result.model.coverage, color="red", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of sales inside the interval (out of fold; refit interval width)")
    ax.set_title("Interval coverage by segment")
    out["interval coverage"] = _svg(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ages = np.linspace(0, max(float(frame["age_months"].max()), 12.0), 40)
    nodes = pd.Series(top).value_counts().head(8).index
    for node in nodes:
        row = frame[top == node].iloc[[0]]
        grid = pd.concat([row] * len(ages), ignore_index=True)
        grid["age_months"] = ages
        if "mileage_km" in grid:
            grid["mileage_km"] = ages * model.km_per_month
        ratio = np.exp(
            model.curve.predict(model.design, grid) - model.curve.predict(model.design, grid.iloc[[0]])
        )
        ax.plot(ages / 12.0, ratio, label=str(node)[2:] or "all")
    ax.set_xlabel("age (years), typical mileage")
    ax.set_ylabel("value relative to age 0")
    ax.set_title("Depreciation curve per segment")
    ax.legend(fontsize=7)
    out["depreciation curves"] = _svg(fig)

    imp = importance(model)
    if imp:
        items = sorted(imp.items(), key=lambda kv: kv[1])[-15:]
        fig, ax = plt.subplots(figsize=(5, 0.3 * len(items) + 1))
        ax.barh([k for k, _ in items], [v for _, v in items])
        ax.set_title("Feature importance")
        out["feature importance"] = _svg(fig)
    return out


def importance(model: ValuationModel) -> dict[str, float]:
    """Share of gain (boosting), or of |coefficient| × spread (linear), by input column."""
    m = model.model
    parts = m.parts.items() if model.family == "blend" else [(model.family, m)]
    weights = m.weights if model.family == "blend" else {model.family: 1.0}
    total: dict[str, float] = {}
    for name, part in parts:
        if isinstance(part, Boosting):
            imp = part.importance(model.design)
        elif isinstance(part, Linear):
            raw: dict[str, float] = {}
            for feat, c in zip(model.design.linear_features(), part.coef, strict=True):
                col = "age_months" if feat in ("age_squared", "age_sqrt") else feat.split("=", 1)[0]
                raw[col] = raw.get(col, 0.0) + abs(c)
            s = sum(raw.values()) or 1.0
            imp = {k: v / s for k, v in raw.items()}
        else:
            cols = ["age_months", *(["mileage_km"] if "mileage_km" in model.design.numeric else [])]
            imp = {c: 1.0 / (len(cols) + 1) for c in [*cols, "segment"]}
        for k, v in imp.items():
            total[k] = total.get(k, 0.0) + weights.get(name, 0.0) * v
    return total


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for c in cols:
            v = row.get(c, "")
            cells.append(f"<td>{v:.4f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_html(result: TrainingResult, card: dict[str, Any], ref: str) -> str:
    figs = plots(result)
    cv_rows = [
        {
            **{k: v for k, v in r.items() if k != "fold_mape"},
            "chosen": "yes" if r["family"] == result.cv.chosen else "",
        }
        for r in result.cv.table
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Valuation training report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}"
        ".figs{display:flex;flex-wrap:wrap;gap:12px}"
        ".figs div{width:520px}svg{max-width:100%;height:auto}</style></head><body>",
        f"<h1>Valuation training report — {html.escape(ref)}</h1>",
        f"<p>{int(card['training']['rows'])} sales; data sha256 "
        f"<code>{card['training']['data_sha256']}</code>; "
        f"folds: {html.escape(json.dumps(card['folds']))}. Chosen: <b>{html.escape(result.cv.chosen)}</b> "
        f"(CV MAPE {result.metrics['mape']:.4f} ± {result.metrics['mape_se']:.4f}; the selection procedure "
        f"itself, nested: {result.metrics['selection_mape']:.4f}). Best simple reference: "
        f"{html.escape(str(result.baseline_metrics['family']))} "
        f"{float(result.baseline_metrics['mape']):.4f}.</p>",
        f"<p>Interval: target {result.intervals['target']:.0%}, CV coverage "
        f"<b>{result.intervals['cv_coverage']:.3f}</b>, mean width "
        f"{result.intervals['cv_mean_width_pct']:.3f} "
        "of the value.</p>",
    ]
    parts += [f"<p class='warn'><b>Warning:</b> {html.escape(w)}</p>" for w in result.warnings]
    parts.append("<h2>Candidates on the same folds</h2>")
    parts.append(
        _table(
            cv_rows,
            [
                "family",
                "chosen",
                "cv_mape",
                "cv_mape_se",
                "vs_chosen_se",
                "within_8pct",
                "within_15pct",
                "median_error",
                "cpu_seconds",
            ],
        )
    )
    parts.append("<h2>Plots</h2><div class='figs'>")
    parts += [f"<div><h3>{html.escape(k)}</h3>{v}</div>" for k, v in figs.items()]
    parts.append("</div><h2>Columns used</h2>")
    parts.append(
        _table(
            [{**c, "levels": len(c.get("levels", []))} for c in card["columns"]],
            ["name", "source", "kind", "levels", "pooled_levels", "missing", "note"],
        )
    )
    flags = result.data.flags
    parts.append(f"<h2>Flagged rows ({len({f['row'] for f in flags})})</h2>")
    parts.append(_table(flags[:200], ["row", "column", "reason", "value"]) if flags else "<p>none</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir: Path, result: TrainingResult, card: dict[str, Any], ref: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "report.html"
    report.write_text(render_html(result, card, ref), encoding="utf-8")
    card_path = out_dir / "model-card.json"
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
    return {"report": report, "card": card_path}
