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


def ltv_projection_chart(
    title: str,
    desc: str,
    points: Sequence[tuple[int, float, float, float]],
    threshold: float,
    breach_month: int | None,
    *,
    labels: dict[str, str],
    chart_id: str = "ltv-projection",
    width: int = 640,
    height: int = 280,
) -> Markup:
    """Projected LTV per month (line) in its interval band, the threshold line and the breach mark.

    ``points``: (month, LTV, band low, band high); ``labels``: legend words (``ltv``, ``band``,
    ``threshold``, ``breach``, ``month``) in the page's language.
    """
    pad_l, pad_r, pad_t, pad_b = 44, 14, 34, 34
    last = max((m for m, *_ in points), default=1) or 1
    top = max([threshold, *(h for *_, h in points)]) * 1.08
    step = 0.25 if top <= 1.6 else 0.5 if top <= 3.2 else 1.0

    def x(month: float) -> float:
        return pad_l + (width - pad_l - pad_r) * month / last

    def y(ltv: float) -> float:
        return height - pad_b - (height - pad_b - pad_t) * min(ltv, top) / top

    t_id, d_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{t_id} {d_id}"'
        f' xmlns="http://www.w3.org/2000/svg" data-testid="ltv-projection-chart">'
        f'<title id="{t_id}">{escape(title)}</title><desc id="{d_id}">{escape(desc)}</desc>'
    ]
    for k in range(int(top / step) + 1):
        gy = y(k * step)
        parts.append(
            f'<line x1="{pad_l}" y1="{gy:.1f}" x2="{width - pad_r}" y2="{gy:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{pad_l - 4}" y="{gy + 4:.1f}" text-anchor="end" class="lbl">{k * step:.2f}</text>'
        )
    tick = 1 if last <= 12 else 6 if last <= 48 else 12
    for m in range(0, last + 1, tick):
        parts.append(
            f'<text x="{x(m):.1f}" y="{height - pad_b + 16}" text-anchor="middle" class="lbl">{m}</text>'
        )
    parts.append(
        f'<text x="{width - pad_r}" y="{height - 4}" text-anchor="end" class="lbl">'
        f"{escape(labels['month'])}</text>"
    )
    band = [f"{x(m):.1f},{y(lo):.1f}" for m, _, lo, _ in points]
    band += [f"{x(m):.1f},{y(hi):.1f}" for m, _, _, hi in reversed(points)]
    line = " ".join(f"{x(m):.1f},{y(v):.1f}" for m, v, _, _ in points)
    ty = y(threshold)
    parts.append(
        f'<polygon points="{" ".join(band)}" fill="{PALETTE[0]}" fill-opacity="0.18" data-testid="ltv-band"/>'
        f'<polyline points="{line}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
        f'<line x1="{pad_l}" y1="{ty:.1f}" x2="{width - pad_r}" y2="{ty:.1f}" stroke="{PALETTE[3]}"'
        f' stroke-dasharray="6 4" stroke-width="1.5" data-testid="ltv-threshold"/>'
    )
    legend = (
        (labels["ltv"], f'<line x1="0" y1="6" x2="14" y2="6" stroke="{PALETTE[0]}" stroke-width="2"/>'),
        (labels["band"], f'<rect width="14" height="12" fill="{PALETTE[0]}" fill-opacity="0.18"/>'),
        (
            f"{labels['threshold']} {threshold:.2f}",
            f'<line x1="0" y1="6" x2="14" y2="6" stroke="{PALETTE[3]}" stroke-dasharray="4 2"/>',
        ),
    )
    lx = pad_l
    for text, swatch in legend:
        parts.append(
            f'<g transform="translate({lx},8)">{swatch}'
            f'<text x="18" y="11" class="lbl">{escape(text)}</text></g>'
        )
        lx += 30 + 7 * len(text)
    hit = next((p for p in points if p[0] == breach_month), None)
    if hit is not None:
        bx, by = x(hit[0]), y(hit[3])
        note = f"{labels['breach']}: {hit[0]} ({hit[3]:.2f})"
        anchor = "end" if bx > width * 0.7 else "start"
        parts.append(
            f'<g data-testid="ltv-breach" data-month="{hit[0]}">'
            f'<line x1="{bx:.1f}" y1="{pad_t}" x2="{bx:.1f}" y2="{height - pad_b}" stroke="{PALETTE[3]}"'
            f' stroke-width="1"/><circle cx="{bx:.1f}" cy="{by:.1f}" r="5" fill="{PALETTE[3]}">'
            f"<title>{escape(note)}</title></circle>"
            f'<text x="{bx + (-6 if anchor == "end" else 6):.1f}" y="{pad_t + 12}" text-anchor="{anchor}"'
            f' class="val">{escape(note)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
