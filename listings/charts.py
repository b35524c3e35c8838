"""A price-history chart: its geometry once, drawn as inline SVG (pages) or as a PNG (emails).

No JavaScript and no chart library to vendor: `price_chart` computes the step line, the dots and
the labels' places; the page's SVG and `chart_png` both draw that same geometry, so the two never
disagree.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import BytesIO

from django.utils import timezone

# The PNG charts on offer at /listings/<id>/chart.png?w=…: (width, height, padding, labels). Only these,
# so nobody can make us draw a 50,000-pixel image: the email's chart, and a digest row's sparkline.
EMAIL_CHART_WIDTH = 600
SPARKLINE_WIDTH = 120
CHART_SIZES = {EMAIL_CHART_WIDTH: (600, 220, 36, True), SPARKLINE_WIDTH: (120, 32, 3, False)}


@dataclass(frozen=True)
class PriceChart:
    width: int
    height: int
    path: tuple[tuple[float, float], ...]  # the step line's corners, in order
    dots: list[tuple[float, float, Decimal, datetime]]
    min_price: Decimal
    max_price: Decimal
    start: datetime
    end: datetime
    pad: int

    @property
    def points(self) -> str:
        """The step line as an SVG polyline's points: "x,y x,y …"."""
        return " ".join(f"{x},{y}" for x, y in self.path)

    @property
    def top_y(self) -> int:
        return self.pad - 8

    @property
    def bottom_y(self) -> int:
        return self.height - self.pad + 14

    @property
    def right_x(self) -> int:
        return self.width - self.pad


def price_chart(
    history: list[tuple[datetime, Decimal]], now: datetime, width: int = 640, height: int = 220, pad: int = 36
) -> PriceChart | None:
    """A step chart of (time, price) points up to `now`; None when there is nothing to draw."""
    if not history:
        return None
    start, end = history[0][0], max(now, history[-1][0])
    span = (end - start).total_seconds() or 1.0
    prices = [p for _, p in history]
    low, high = min(prices), max(prices)
    rng = float(high - low) or 1.0

    def x(t: datetime) -> float:
        return round(pad + (width - 2 * pad) * (t - start).total_seconds() / span, 1)

    def y(p: Decimal) -> float:
        if high == low:
            return height / 2
        return round(pad + (height - 2 * pad) * (1 - float(p - low) / rng), 1)

    coords: list[tuple[float, float]] = []
    for i, (t, p) in enumerate(history):
        if i:
            coords.append((x(t), y(history[i - 1][1])))
        coords.append((x(t), y(p)))
    coords.append((x(end), y(history[-1][1])))
    dots = [(x(t), y(p), p, t) for t, p in history]
    return PriceChart(width, height, tuple(coords), dots, low, high, start, end, pad)


# The page's colours (static/css/app.css: --accent, --muted, the chart's background and border).
ACCENT, MUTED, BACKGROUND, BORDER = "#0b6bcb", "#5b6475", "#fafbff", "#dde1ea"
AXIS_FONT_PX = 12  # .chart .axis


def whole_dollars(price: Decimal) -> str:
    """An axis label, as the page's `floatformat:"0g"` writes it: "$1,280"."""
    return f"${price:,.0f}"


def short_date(when: datetime) -> str:
    """An axis label, as the page's `date:"M j"` writes it: "Nov 3", in the site's time zone."""
    local = timezone.localtime(when) if timezone.is_aware(when) else when
    return f"{local:%b} {local.day}"


def chart_png(chart: PriceChart, *, scale: int = 2, labels: bool = True) -> bytes:
    """`chart` as a PNG of `scale` times its size (crisp on high-density screens when shown at its size).

    The same step line, dots and labels (max and min price top and bottom left, start and end
    dates along the bottom) as the page's SVG; `labels=False` draws a bare sparkline.
    """
    from PIL import Image, ImageDraw, ImageFont  # only the chart endpoint needs Pillow loaded

    image = Image.new("RGB", (chart.width * scale, chart.height * scale), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width - 1, image.height - 1), outline=BORDER, width=scale)
    line = [(x * scale, y * scale) for x, y in chart.path]
    draw.line(line, fill=ACCENT, width=2 * scale, joint="curve")
    radius = (4 if labels else 1.5) * scale
    for x, y, _, _ in chart.dots:
        draw.ellipse((x * scale - radius, y * scale - radius, x * scale + radius, y * scale + radius), fill=ACCENT)
    if labels:
        font = ImageFont.load_default(size=AXIS_FONT_PX * scale)
        # SVG places text by its baseline: anchor "ls" (left, baseline), "rs" for the end date.
        draw.text((4 * scale, chart.top_y * scale), whole_dollars(chart.max_price), fill=MUTED, font=font, anchor="ls")
        if chart.max_price != chart.min_price:
            draw.text(
                (4 * scale, chart.bottom_y * scale), whole_dollars(chart.min_price), fill=MUTED, font=font, anchor="ls"
            )
        baseline = (chart.height - 4) * scale
        draw.text((chart.pad * scale, baseline), short_date(chart.start), fill=MUTED, font=font, anchor="ls")
        draw.text((chart.right_x * scale, baseline), short_date(chart.end), fill=MUTED, font=font, anchor="rs")
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
