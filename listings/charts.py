"""A price-history chart as inline SVG geometry: no JavaScript, no chart library to vendor."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class PriceChart:
    width: int
    height: int
    points: str  # SVG polyline "x,y x,y …"
    dots: list[tuple[float, float, Decimal, datetime]]
    min_price: Decimal
    max_price: Decimal
    start: datetime
    end: datetime
    pad: int

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

    coords: list[str] = []
    for i, (t, p) in enumerate(history):
        if i:
            coords.append(f"{x(t)},{y(history[i - 1][1])}")
        coords.append(f"{x(t)},{y(p)}")
    coords.append(f"{x(end)},{y(history[-1][1])}")
    dots = [(x(t), y(p), p, t) for t, p in history]
    return PriceChart(width, height, " ".join(coords), dots, low, high, start, end, pad)
