"""When a watched price is news. Pure: a watch's state and a new price in, the new state and any news out.

The three things people hate about price alerts elsewhere, and the rule here against each:

- Alerts on every ±$0.01 nudge. A drop is news only when it is a real one: at least
  `MIN_DROP_FRACTION` (2%) *and* `MIN_DROP_AMOUNT` ($1) under "was", the highest price since the
  user last heard (the price when they watched, at first). With a target, the price must also be at
  or below it; without one, any real drop is news.
- Alerts that fire once and never again. After an alert the item is not dead: a new low at least
  `NEW_LOW_FRACTION` (5%, and $1) under the last alerted price is news again, and so is a real drop
  after the price rose back past the target (without one: past the last alerted price) by
  `REARM_FRACTION` (5%, at least $1): the item re-arms.
- Alerts that flap when a seller moves the price around the target. Between the target and the
  re-arm line nothing happens, whichever way the price goes; and never two alerts for one item on
  one local day.
"""

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

MIN_DROP_FRACTION = Decimal("0.02")
MIN_DROP_AMOUNT = Decimal("1.00")
NEW_LOW_FRACTION = Decimal("0.05")
REARM_FRACTION = Decimal("0.05")
REARM_AMOUNT = Decimal("1.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Watch:
    """What the rules remember of one watch item."""

    added_price: Decimal
    reference_price: Decimal
    lowest_price: Decimal
    threshold: Decimal | None = None
    alert_sent: bool = False
    last_alert_price: Decimal | None = None
    last_alert_day: date | None = None

    @property
    def alert_line(self) -> Decimal:
        """An armed item alerts at or below this price: a real drop from "was", and the target if any."""
        line = (self.reference_price - minimum_drop(self.reference_price)).quantize(CENT)
        return min(line, self.threshold) if self.threshold is not None else line

    @property
    def rearm_line(self) -> Decimal:
        """An alerted item re-arms above this price: the target, or the last alerted price, plus a margin."""
        base = self.threshold if self.threshold is not None else (self.last_alert_price or self.added_price)
        return base + max(base * REARM_FRACTION, REARM_AMOUNT)

    @property
    def new_low_line(self) -> Decimal | None:
        """An alerted item alerts again at or below this price (a new low)."""
        if self.last_alert_price is None:
            return None
        return (self.last_alert_price * (1 - NEW_LOW_FRACTION)).quantize(CENT)


@dataclass(frozen=True)
class PriceDrop:
    """A drop worth telling: the price, what it was, and whether it reached the user's target."""

    price: Decimal
    was: Decimal
    threshold: Decimal | None
    new_low: bool  # a further drop after an earlier alert

    @property
    def percent(self) -> int:
        """How much it fell, in whole percent (a real drop is at least 2%)."""
        if not self.was:
            return 0
        return int(((self.was - self.price) / self.was * 100).quantize(Decimal(1), ROUND_HALF_UP))

    @property
    def urgent(self) -> bool:
        """Below the user's own target: tell them now (the policy lets urgent news through more)."""
        return self.threshold is not None and self.price <= self.threshold

    @property
    def news(self) -> str:
        """The notification identity's news: this drop, to this price."""
        return f"drop:{self.price}"


def minimum_drop(price: Decimal) -> Decimal:
    return max(price * MIN_DROP_FRACTION, MIN_DROP_AMOUNT)


def on_price(watch: Watch, price: Decimal, today: date) -> tuple[Watch, PriceDrop | None]:
    """The state after the listing's price became `price` on the user's local day `today`, and the news if any."""
    state = replace(
        watch, lowest_price=min(watch.lowest_price, price), reference_price=max(watch.reference_price, price)
    )
    if state.alert_sent and price > state.rearm_line:
        return replace(state, alert_sent=False), None
    if not state.alert_sent:
        due = price <= state.alert_line
        new_low = False
    else:
        line = state.new_low_line
        due = line is not None and price <= line and state.last_alert_price - price >= MIN_DROP_AMOUNT
        new_low = True
    if not due or state.last_alert_day == today:
        return state, None
    drop = PriceDrop(price=price, was=state.reference_price, threshold=state.threshold, new_low=new_low)
    return (
        replace(state, alert_sent=True, last_alert_price=price, last_alert_day=today, reference_price=price),
        drop,
    )
