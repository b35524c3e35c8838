"""The digest's "price trends for your watched items": each watched price that moved in the period.

Registered with `notifications.digest_sections` from `WatchlistConfig.ready()`. One query for a
whole batch of digest users: their active items whose listing has a price point inside the user's
window, each with the price it started the window at (the last point before, or the first inside
for a listing new in the window) and its price now.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse

from listings.charts import SPARKLINE_WIDTH
from listings.formatting import money
from listings.models import PricePoint
from notifications import links
from notifications.digest_sections import Section, Window

from .models import WatchlistItem

MAX_TRENDS = 10  # per digest, the biggest moves first


@dataclass(frozen=True)
class PriceTrend:
    """One watched listing's move, as plain values the digest templates read."""

    listing_id: int
    title: str
    currency: str
    was: Decimal
    now: Decimal
    url: str
    sparkline_url: str

    @property
    def change(self) -> Decimal:
        return self.now - self.was

    @property
    def percent(self) -> int:
        """The move in whole percent of the starting price, signed."""
        if not self.was:
            return 0
        return int((self.change / self.was * 100).quantize(Decimal(1), ROUND_HALF_UP))

    @property
    def summary(self) -> str:
        """'down $70 (−18%), $380 → $310'."""
        direction, sign = ("down", "−") if self.change < 0 else ("up", "+")
        return (
            f"{direction} {money(abs(self.change), self.currency)} ({sign}{abs(self.percent)}%), "
            f"{money(self.was, self.currency)} → {money(self.now, self.currency)}"
        )


def price_trends(windows: Mapping[int, Window]) -> dict[int, list[PriceTrend]]:
    """{user id: the user's watched items whose price moved within their window}: one query."""
    by_start: dict = defaultdict(list)
    for user_id, window in windows.items():
        by_start[window.start].append(user_id)
    end = max(w.end for w in windows.values())
    # Daily and weekly users share a batch: each item's window starts where its user's does, or
    # when the item was watched if later (a move before then is not the user's news).
    start = Case(*(When(user_id__in=ids, then=Value(at)) for at, ids in by_start.items()), output_field=DateTimeField())
    points = PricePoint.objects.filter(listing=OuterRef("listing_id"))
    inside = points.filter(recorded_at__gt=OuterRef("since"), recorded_at__lte=end)
    before = points.filter(recorded_at__lte=OuterRef("since")).order_by("-recorded_at", "-id")
    rows = (
        WatchlistItem.objects.filter(user_id__in=windows, sold_at__isnull=True, listing__is_active=True)
        .alias(since=Greatest(start, F("created_at")))
        .filter(Exists(inside))
        .annotate(was=Coalesce(Subquery(before.values("price")[:1]), Subquery(inside.values("price")[:1])))
        .values_list("user_id", "listing_id", "listing__title", "listing__currency", "was", "listing__price")
    )
    detail = reverse("listings:detail", args=[0]).removesuffix("0/")
    trends: dict[int, list[PriceTrend]] = defaultdict(list)
    for user_id, listing_id, title, currency, was, now in rows:
        if was is None or Decimal(was) == now:
            continue  # moved and came back: no trend to tell
        path = f"{detail}{listing_id}/"
        trends[user_id].append(
            PriceTrend(
                listing_id=listing_id,
                title=title,
                currency=currency,
                was=Decimal(was),
                now=now,
                url=links.absolute(path),
                sparkline_url=links.absolute(f"{path}chart.png?w={SPARKLINE_WIDTH}"),
            )
        )
    for user_trends in trends.values():
        user_trends.sort(key=lambda t: (t.percent, t.listing_id))  # the biggest drops first
        del user_trends[MAX_TRENDS:]
    return trends


SECTION = Section(
    key="watchlist.price_trends",
    title="Price trends for your watched items",
    order=10,
    rows=price_trends,
    html_template="watchlist/email/digest_trends.html.jinja",
    text_template="watchlist/email/digest_trends.txt.jinja",
)
