"""A metric's chart as an SVG image: its daily values as a line, its target as a dashed line.

Drawn here rather than by a chart library: one line, one target and a few labels are some thirty
lines of geometry, and an SVG served as an image needs no JavaScript and passes the site's CSP.
Every label is a number or a date we format, so nothing in it needs escaping beyond `escape`.
"""

from datetime import date
from html import escape

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 18, 34
LINE, TARGET, GRID, INK = "#4f46e5", "#12b76a", "#e4e7ec", "#475467"


def format_value(value: float | None, fmt: str) -> str:
    """ "23%", "0.4%" (small rates keep a decimal), "3.2" (a count per session); "–" for no value."""
    if value is None:
        return "–"
    if fmt == "percent":
        return f"{value:.1%}" if 0 < value < 0.1 else f"{value:.0%}"
    return f"{value:.1f}"


def line_chart(series: list[tuple[date, float | None]], target: float | None, fmt: str, label: str) -> str:
    """The SVG document: days along, values up from zero; a day with no value breaks the line."""
    values = [v for _, v in series if v is not None]
    top = max([*values, target or 0, 0.0001]) * 1.15
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(series) - 1, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top), 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(label)}" font-family="system-ui, sans-serif" font-size="14">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    for fraction in (0, 0.5, 1):
        value = top / 1.15 * fraction
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value)}" y2="{y(value)}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4}" text-anchor="end" fill="{INK}">{format_value(value, fmt)}</text>'
        )
    runs: list[list[str]] = [[]]
    for i, (_, value) in enumerate(series):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(f"{round(LEFT + i * step, 1)},{y(value)}")
    for run in runs:
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
        elif run:
            x, y_ = run[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y_}" r="3" fill="{LINE}"/>')
    if target is not None:
        ty = y(target)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}" stroke="{TARGET}" stroke-width="2" '
            f'stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{ty - 6}" text-anchor="end" fill="{TARGET}" font-weight="600">'
            f"target {format_value(target, fmt)}</text>"
        )
    if series:
        first, last = series[0][0], series[-1][0]
        base = HEIGHT - 10
        parts.append(f'<text x="{LEFT}" y="{base}" fill="{INK}">{first:%b %-d}</text>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{base}" text-anchor="end" fill="{INK}">{last:%b %-d}</text>')
    if not values:
        parts.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="{INK}">'
            "No data in this window yet</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
