"""Small inline SVG charts drawn on the server: no JavaScript library, nothing fetched at runtime."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#64748b")
SEVERITY_COLOURS = {"low": "#64748b", "medium": "#d97706", "high": "#dc2626", "critical": "#7f1d1d"}


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    colours: Sequence[str] | None = None,
    width: int = 480,
    bar_height: int = 26,
) -> Markup:
    """Horizontal bars with their value written beside them (readable on a phone, scales with CSS)."""
    label_w, gap = 150, 6
    height = len(bars) * (bar_height + gap) + gap
    top = max((v for _, v in bars), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(bars):
        y = gap + i * (bar_height + gap)
        w = (width - label_w - 60) * (value / top)
        colour = colours[i % len(colours)] if colours else PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.68:.1f}" text-anchor="end" class="lbl">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" rx="3" fill="{colour}">'
            f"<title>{escape(label)}: {value:g}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.68:.1f}" class="val">{value:g}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def grouped_columns(
    title: str,
    groups: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    *,
    width: int = 480,
    height: int = 220,
) -> Markup:
    """Vertical grouped columns (e.g. liens recorded and released per month) with a legend."""
    pad_l, pad_b, pad_t = 30, 40, 44
    top = max((v for _, values in groups for v in values), default=0) or 1
    n = max(len(groups), 1)
    slot = (width - pad_l - 10) / n
    col = slot * 0.8 / max(len(series), 1)
    plot_h = height - pad_b - pad_t
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - 5}" y2="{height - pad_b}" stroke="#94a3b8"/>'
    ]
    for s, name in enumerate(series):
        parts.append(
            f'<rect x="{pad_l + s * 110}" y="4" width="12" height="12" fill="{PALETTE[s]}"/>'
            f'<text x="{pad_l + s * 110 + 16}" y="15" class="lbl">{escape(name)}</text>'
        )
    for g, (label, values) in enumerate(groups):
        x0 = pad_l + g * slot + slot * 0.1
        for s, value in enumerate(values):
            h = plot_h * value / top
            x = x0 + s * col
            y = height - pad_b - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{col - 2:.1f}" height="{h:.1f}" fill="{PALETTE[s]}">'
                f"<title>{escape(label)} {escape(series[s])}: {value:g}</title></rect>"
                f'<text x="{x + col / 2 - 1:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="val">'
                f"{value:g}</text>"
            )
        parts.append(
            f'<text x="{x0 + slot * 0.4:.1f}" y="{height - pad_b + 16}" text-anchor="middle" class="lbl">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
