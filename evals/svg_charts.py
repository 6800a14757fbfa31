"""Small inline SVG charts for the HTML report (no external assets): histograms and horizontal bars."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#3b6fb6"
FAIL = "#c0392b"
AXIS = "#666"
FONT = 'font-family="system-ui, \'Noto Sans KR\', sans-serif" font-size="11"'


def histogram(
    values: Sequence[float],
    *,
    low: float,
    high: float,
    bins: int = 10,
    title: str,
    unit: str = "",
    width: int = 360,
    height: int = 170,
) -> Markup:
    """Counts of ``values`` in ``bins`` equal bins over [low, high] (the top bin includes ``high``)."""
    if high <= low:
        high = low + 1.0
    counts = [0] * bins
    for value in values:
        index = int((min(max(value, low), high) - low) / (high - low) * bins)
        counts[min(index, bins - 1)] += 1
    left, right, top, bottom = 12, 12, 38, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts) or 1
    bar_w = plot_w / bins
    parts = [_open(width, height, title), _text(left, 14, title, weight="600")]
    for index, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + index * bar_w
        y = top + plot_h - h
        start, end = low + index * (high - low) / bins, low + (index + 1) * (high - low) / bins
        label = f"{_num(start)}–{_num(end)}{unit}: {count}"
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{BAR}"><title>{escape(label)}</title></rect>'
        )
        if count:
            parts.append(_text(x + bar_w / 2, y - 3, str(count), anchor="middle"))
    base = top + plot_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="{AXIS}"/>')
    parts.append(_text(left, base + 14, f"{_num(low)}{unit}", anchor="start"))
    parts.append(_text(left + plot_w, base + 14, f"{_num(high)}{unit}", anchor="end"))
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(
    items: Sequence[tuple[str, float, bool]],
    *,
    title: str,
    maximum: float = 1.0,
    width: int = 520,
    row: int = 20,
) -> Markup:
    """Horizontal bars, one per (label, value, ok); a bar that is not ok is drawn in red."""
    label_w, right, top = 190, 50, 24
    height = top + row * len(items) + 8
    plot_w = width - label_w - right
    parts = [_open(width, height, title), _text(0, 14, title, weight="600")]
    for index, (label, value, ok) in enumerate(items):
        y = top + index * row
        w = plot_w * max(0.0, min(value / maximum if maximum else 0.0, 1.0))
        parts.append(_text(label_w - 6, y + row / 2 + 4, label, anchor="end"))
        tip = escape(f"{label}: {_num(value)}")
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{BAR if ok else FAIL}"><title>{tip}</title></rect>'
        )
        parts.append(_text(label_w + w + 4, y + row / 2 + 4, _num(value)))
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", weight: str = "400") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-weight="{weight}" fill="#222" {FONT}>'
        f"{escape(text)}</text>"
    )


def _num(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.0f}"
