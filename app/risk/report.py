"""The training report a risk committee reads and signs: one self-contained HTML file.

Plots are inline SVG drawn here (ROC of every candidate on the same folds, KS separation, the
calibration curve, WoE per variable), so the file opens offline, carries no script and needs no
plotting library on the server. Every figure comes from the model card or the out-of-fold
predictions of the cross-validation; the model card itself is embedded verbatim at the end.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import roc_curve

from app.risk.metrics import curve_points

if TYPE_CHECKING:
    from app.risk.training import TrainingResult

W, H, PAD = 420, 300, 40
SVG = "http://www.w3.org/2000/svg"
COLOURS = ("#1f4e79", "#c0392b", "#27ae60", "#8e44ad", "#d68910")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _xy(x: float, y: float) -> str:
    return f"{PAD + x * (W - 2 * PAD):.1f},{H - PAD - y * (H - 2 * PAD):.1f}"


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    x_label: str,
    y_label: str,
    diagonal: bool = False,
) -> str:
    """Lines on [0,1]x[0,1] with a legend; ``diagonal`` draws y = x."""
    parts = [
        f'<svg xmlns="{SVG}" width="{W}" height="{H}" role="img" aria-label="{_e(title)}">',
        f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="none" stroke="#999"/>',
        f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13">{_e(title)}</text>',
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" font-size="11">{_e(x_label)}</text>',
        f'<text x="12" y="{H / 2}" font-size="11" transform="rotate(-90 12 {H / 2})" text-anchor="middle">'
        f"{_e(y_label)}</text>",
    ]
    for t in (0, 0.5, 1):
        parts.append(
            f'<text x="{PAD - 4}" y="{H - PAD - t * (H - 2 * PAD) + 4}" font-size="9" '
            f'text-anchor="end">{t}</text>'
        )
        parts.append(
            f'<text x="{PAD + t * (W - 2 * PAD)}" y="{H - PAD + 12}" font-size="9" '
            f'text-anchor="middle">{t}</text>'
        )
    if diagonal:
        parts.append(
            f'<polyline points="{_xy(0, 0)} {_xy(1, 1)}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>'
        )
    for i, (name, xs, ys) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        pts = " ".join(
            _xy(float(np.clip(x, 0, 1)), float(np.clip(y, 0, 1))) for x, y in zip(xs, ys, strict=True)
        )
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
        parts.append(
            f'<text x="{PAD + 8}" y="{PAD + 14 + 13 * i}" font-size="10" fill="{colour}">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float]) -> str:
    """Horizontal bars around zero (WoE: right = riskier than the book)."""
    n = max(len(values), 1)
    height = 40 + 18 * n
    span = max(max((abs(v) for v in values), default=1.0), 1e-6)
    mid, half = 260, 140
    parts = [
        f'<svg xmlns="{SVG}" width="480" height="{height}" role="img" aria-label="{_e(title)}">',
        f'<text x="240" y="16" font-size="12" text-anchor="middle">{_e(title)}</text>',
        f'<line x1="{mid}" y1="24" x2="{mid}" y2="{height - 6}" stroke="#999"/>',
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = 28 + 18 * i
        w = abs(v) / span * half
        x = mid if v >= 0 else mid - w
        colour = "#c0392b" if v > 0 else "#27ae60"
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="13" fill="{colour}"/>')
        parts.append(f'<text x="4" y="{y + 10}" font-size="9">{_e(label[:38])}</text>')
        parts.append(
            f'<text x="{mid + half + 8 if v >= 0 else mid + 4}" y="{y + 10}" font-size="9">{v:+.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_f(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _roc(y: np.ndarray, p: np.ndarray) -> tuple[list[float], list[float]]:
    fpr, tpr, _ = roc_curve(y, p)
    step = max(1, len(fpr) // 200)
    return [*list(fpr[::step]), 1.0], [*list(tpr[::step]), 1.0]


def _ks(y: np.ndarray, p: np.ndarray) -> list[tuple[str, list[float], list[float]]]:
    order = np.argsort(-p, kind="stable")  # riskiest first
    ys = y[order]
    share = np.arange(1, len(ys) + 1) / len(ys)
    bad = np.cumsum(ys) / max(ys.sum(), 1)
    good = np.cumsum(1 - ys) / max((1 - ys).sum(), 1)
    step = max(1, len(ys) // 200)
    return [
        ("bads captured", list(share[::step]), list(bad[::step])),
        ("goods captured", list(share[::step]), list(good[::step])),
    ]


def render_report(result: TrainingResult, ref: str) -> str:
    mc = result.model_card
    book, cv, card, compiled = result.book, result.cv, result.card, result.compiled
    y = book.y
    out: list[str] = []
    add = out.append
    data = mc["data"]
    add(f"<h1>Scorecard report — {_e(ref)}</h1>")
    add(
        f"<p>Book <code>{_e(data['source'])}</code>, sha256 <code>{_e(data['sha256'])}</code>: "
        f"{data['loans']} loans, {data['bad']} bad ({data['bad_rate']:.2%}). "
        f"Outcome: {_e(json.dumps(data['outcome']))}."
        f" Cross-validation: {_e(cv.folds.description)}. Model card sha256 "
        f"<code>{_e(result.model_card_sha256)}</code>.</p>"
    )
    if result.warnings:
        add("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in result.warnings) + "</ul>")
    if data.get("notes"):
        add("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in data["notes"]) + "</ul>")

    add("<h2>Candidates on the same folds</h2>")
    rows = []
    for name, s in mc["cross_validation"]["candidates"].items():
        rows.append(
            [
                name,
                s.get("auc_mean"),
                s.get("auc_sd"),
                s.get("ks_mean"),
                s.get("brier_mean"),
                s.get("calibration_slope"),
                s.get("calibration_intercept"),
                s.get("ece"),
                s.get("seconds"),
            ]
        )
    add(
        _table(
            ["candidate", "AUC", "AUC sd", "KS", "Brier", "cal. slope", "cal. intercept", "ECE", "seconds"],
            rows,
        )
    )
    add("<ul>" + "".join(f"<li><strong>{_e(s)}</strong></li>" for s in cv.statements) + "</ul>")
    comp = mc["cross_validation"]["comparisons"]
    if comp:
        add(
            _table(
                ["candidate", "AUC − card", "corrected SE", "beats the card beyond noise", "within 0.015"],
                [
                    [
                        c["candidate"],
                        c["auc_minus_card"],
                        c["corrected_se"],
                        c["beats_card_beyond_noise"],
                        c["within_tolerance"],
                    ]
                    for c in comp
                ],
            )
        )

    charts = []
    series = []
    for name, cand in cv.candidates.items():
        mask = ~np.isnan(cand.oof)  # type: ignore[arg-type]
        if mask.any() and 0 < y[mask].sum() < mask.sum():
            fx, ty = _roc(y[mask], cand.oof[mask])  # type: ignore[index]
            series.append((f"{name} (AUC {cv.pooled[name]['auc']:.3f})", fx, ty))
    charts.append(line_chart("ROC, out-of-fold", series, "false positive rate", "true positive rate", True))
    oof = cv.candidates["scorecard"].oof
    mask = np.zeros(0, dtype=bool) if oof is None else ~np.isnan(oof)
    if oof is not None and mask.any():
        charts.append(
            line_chart(
                f"KS separation (KS {cv.pooled['scorecard']['ks']:.3f})",
                _ks(y[mask], oof[mask]),
                "share of applicants, riskiest first",
                "share captured",
            )
        )  # type: ignore[index]
        pts = curve_points(y[mask], oof[mask])  # type: ignore[index]
        top = max(max(p for p, _, _ in pts), max(o for _, o, _ in pts), 1e-6)
        charts.append(
            line_chart(
                f"Calibration, out-of-fold (axes to {top:.2f})",
                [("observed vs predicted", [p / top for p, _, _ in pts], [o / top for _, o, _ in pts])],
                "mean predicted PD",
                "observed default rate",
                True,
            )
        )
    add("<div class='charts'>" + "".join(charts) + "</div>")
    cal = mc["calibration"]
    add(
        f"<p>PDs calibrated to {cal['target_default_rate']:.2%}. Cross-validated calibration slope "
        f"{_f(cal['cross_validated']['calibration_slope'])}, "
        f"intercept {_f(cal['cross_validated']['calibration_intercept'])}, "
        f"ECE {_f(cal['cross_validated']['ece'])}.</p>"
    )

    add("<h2>Master scale (bands from this book)</h2>")
    add(
        _table(
            [
                "band",
                "PD below",
                "points above",
                "mean PD",
                "observed rate",
                "share",
                "loans",
                "bads",
                "binomial p",
            ],
            [
                [
                    b.name,
                    b.pd_upper,
                    b.points_lower,
                    b.pd,
                    b.observed_rate,
                    b.share,
                    b.loans,
                    b.bads,
                    b.p_value,
                ]
                for b in compiled.bands
            ],
        )
    )

    add("<h2>Variables</h2>")
    for var in compiled.variables:
        b = var.bins
        shown = [i for i, c in enumerate(b.counts) if c > 0]
        add(f"<h3>{_e(b.name)} — IV {b.iv:.3f}, {_e(b.trend)}, weight {var.coefficient:.3f}</h3>")
        add(
            bar_chart(
                f"WoE of {b.name} (right = riskier)", [b.labels[i] for i in shown], [b.woe[i] for i in shown]
            )
        )
        add(
            _table(
                ["bin", "loans", "bads", "bad rate", "WoE", "points"],
                [
                    [
                        b.labels[i],
                        b.counts[i],
                        b.bads[i],
                        b.bads[i] / b.counts[i] if b.counts[i] else None,
                        b.woe[i],
                        var.points[i],
                    ]
                    for i in range(len(b.labels))
                ],
            )
        )
    add("<h2>Variable decisions</h2>")
    add(_table(["variable", "decision"], [[n, d] for n, d in card.decisions.items()]))
    add("<h2>Excluded columns</h2>")
    excl = mc["exclusions"]
    add(_table(["column", "why"], [[n, r] for n, r in {**excl["protected"], **excl["other"]}.items()]))
    if book.implausible:
        add("<h2>Implausible values (flagged, kept)</h2>")
        add(
            _table(
                ["column", "count", "reason", "first rows"],
                [
                    [f["column"], f["count"], f["reason"], ", ".join(map(str, f["rows"]))]
                    for f in book.implausible
                ],
            )
        )
    add("<h2>Model card</h2><pre>" + _e(json.dumps(mc, indent=2, ensure_ascii=False)) + "</pre>")
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.6em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}"
        "pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:11px}.charts svg{margin:4px}"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Scorecard report {_e(ref)}</title>"
        f"<style>{style}</style></head><body>" + "\n".join(out) + "</body></html>"
    )
