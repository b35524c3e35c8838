"""Watching listings and telling watchers about price drops and sales.

`watch`, `set_threshold` and `unwatch` are what the pages and the API call. `check_listings` runs on
the ingest path (after a batch commits, beside the matcher): it finds the watchers of the batch's
re-priced and sold listings in one query, applies `price_drops.on_price` to each, and hands the news
to `notifications.events.notify` in the same transaction as the items' new state.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import User
from dealalerts.db import update_rows
from listings.formatting import money
from listings.models import Listing
from notifications.events import DealEvent, Kind, WatchSource, notify

from . import links, price_drops
from .models import MAX_ITEMS_PER_USER, WatchlistItem


class WatchError(ValueError):
    """Why a listing cannot be watched this way, naming the field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_threshold(listing: Listing, threshold: Decimal | None) -> None:
    """A target must be positive and below the current price (at or above it is already met)."""
    if threshold is None:
        return
    if threshold <= 0:
        raise WatchError("price_alert_threshold", "Enter a target price above $0.")
    if threshold >= listing.price:
        raise WatchError(
            "price_alert_threshold",
            f"The price is already {money(listing.price, listing.currency)}, at or below your target "
            f"of {money(threshold, listing.currency)}: choose a lower target, or leave it empty for any drop.",
        )


def watch(user: User, listing: Listing | None, threshold: Decimal | None, *, now: datetime | None = None):
    """Watch a listing, or change the target when already watching it: (item, created).

    Raises WatchError for an unknown or sold listing, a target at or above the price, or a full list.
    """
    if listing is None:
        raise WatchError("listing_id", "No such listing.")
    if not listing.is_active:
        raise WatchError("listing_id", "This listing has sold or was taken down; it can't be watched.")
    check_threshold(listing, threshold)
    now = now or timezone.now()
    with transaction.atomic():
        _lock_user(user)
        item = WatchlistItem.objects.filter(user=user, listing=listing).first()
        if item is not None:
            # Relisted since it sold: watch it afresh, as with a new target.
            _retarget(item, listing, threshold, afresh=item.sold_at is not None)
            return item, False
        _check_room(user)
        item = WatchlistItem.objects.create(
            user=user,
            listing=listing,
            price_threshold=threshold,
            created_at=now,
            added_price=listing.price,
            lowest_price=listing.price,
            reference_price=listing.price,
        )
        item.listing = listing
        return item, True


def _lock_user(user: User) -> None:
    """Serialises one user's adds (watch, undo), so two at once cannot pass the limit together."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def _check_room(user: User) -> None:
    if WatchlistItem.objects.filter(user=user).count() >= MAX_ITEMS_PER_USER:
        raise WatchError(
            "listing_id", f"Your watchlist is full ({MAX_ITEMS_PER_USER} items): remove one to watch this."
        )


def set_threshold(item: WatchlistItem, threshold: Decimal | None) -> WatchlistItem:
    """Change an item's target (None: any drop); a new target starts armed from today's price."""
    if not item.listing.is_active:
        raise WatchError(
            "price_alert_threshold", "This listing has sold or was taken down: there is no price to watch."
        )
    check_threshold(item.listing, threshold)
    _retarget(item, item.listing, threshold)
    return item


def _retarget(item: WatchlistItem, listing: Listing, threshold: Decimal | None, *, afresh: bool = False) -> None:
    """A new target (or a relisted item) starts armed from today's price: "was" is today's price."""
    if threshold == item.price_threshold and not afresh:
        return
    item.sold_at = None
    item.price_threshold = threshold
    item.alert_sent = False
    item.reference_price = listing.price
    item.save(update_fields=["price_threshold", "alert_sent", "reference_price", "sold_at"])


def unwatch(item: WatchlistItem) -> None:
    item.delete()


def restore(user: User, snapshot: dict) -> WatchlistItem | None:
    """Undo a removal: put the item back as it was (its history of alerts included).

    None when the listing is gone; WatchError when the list filled up meanwhile.
    """
    listing = Listing.objects.filter(pk=snapshot["listing_id"]).first()
    if listing is None:
        return None
    fields = {k: v for k, v in snapshot.items() if k not in ("id", "user_id", "listing_id")}
    with transaction.atomic():
        _lock_user(user)
        item = WatchlistItem.objects.filter(user=user, listing=listing).first()
        if item is None:
            _check_room(user)
            item = WatchlistItem.objects.create(user=user, listing=listing, **fields)
    return item


# --- the ingest path ------------------------------------------------------------------------------

ITEM_FIELDS = (
    "price_threshold",
    "alert_sent",
    "added_price",
    "lowest_price",
    "reference_price",
    "last_alert_price",
    "last_alerted_at",
    "sold_at",
)


@dataclass(frozen=True)
class Checked:
    items: int
    drops: int
    sold: int


@dataclass(slots=True)
class _Watcher:
    """An item as the ingest path reads it: plain values, no model instances (a batch reads thousands)."""

    id: int
    user_id: int
    listing_id: int
    price_threshold: Decimal | None
    alert_sent: bool
    added_price: Decimal
    lowest_price: Decimal
    reference_price: Decimal
    last_alert_price: Decimal | None
    last_alerted_at: datetime | None
    sold_at: datetime | None
    created_at: datetime
    time_zone: object
    title: str
    price: Decimal
    currency: str
    is_active: bool


def check_listings(listing_ids: list[int], *, now: datetime | None = None) -> Checked:
    """Apply a batch of re-priced, sold or relisted listings to their watchers: three queries plus `notify`'s.

    The items are locked (in id order, so two batches never deadlock) and read with their users'
    zones, then their listings' current prices by primary key; running it twice, or for a stale
    batch, finds nothing new to say. Not one join: joined, PostgreSQL hashed the whole listing and
    user tables for every batch (100 ms of 130 at a million items). Rows are read as values, not
    model instances, which were most of a batch's time in Python.
    """
    if not listing_ids:
        return Checked(0, 0, 0)
    now = now or timezone.now()
    with transaction.atomic():
        # The zone's name, not the field's conversion of it (that cost more per row than the rest),
        # looked up per row by primary key: as a join, PostgreSQL hashed the whole user table.
        zone = User.objects.filter(pk=OuterRef("user_id")).annotate(name=Cast("time_zone", CharField()))
        rows = list(
            WatchlistItem.objects.filter(listing_id__in=listing_ids)
            .order_by("id")
            .select_for_update()
            .annotate(zone_name=Subquery(zone.values("name")))
            .values_list("id", "user_id", "listing_id", *ITEM_FIELDS, "created_at", "zone_name")
        )
        listings = {
            pk: fields
            for pk, *fields in Listing.objects.filter(id__in={r[2] for r in rows}).values_list(
                "id", "title", "price", "currency", "is_active"
            )
        }
        items = [_Watcher(*row[:-1], ZoneInfo(row[-1]), *listings[row[2]]) for row in rows]
        days: dict = {}  # the local day, by time zone: a batch's users share a handful of zones
        changed, sold, events = [], [], []
        for item in items:
            if not item.is_active:
                if item.sold_at is None:  # told once: the row lock keeps two batches from both telling
                    item.sold_at = now
                    changed.append(item)
                    sold.append(item)
                    events.append(_sold_event(item))
                continue
            if item.sold_at is not None:  # relisted: watched afresh from today's price, as a new target is
                item.sold_at, item.alert_sent, item.reference_price = None, False, item.price
                changed.append(item)
                continue
            today = days.get(item.time_zone)
            if today is None:
                today = days[item.time_zone] = now.astimezone(item.time_zone).date()
            before = _state(item)
            after, drop = price_drops.on_price(before, item.price, today)
            if after == before:
                continue
            _apply(item, after, now if drop else item.last_alerted_at)
            changed.append(item)
            if drop:
                events.append(_drop_event(item, drop))
        update_rows(WatchlistItem, [_row(i) for i in changed], ITEM_FIELDS)
        notify(events, now=now)
    return Checked(len(items), sum(1 for e in events if e.kind == Kind.PRICE_DROP), len(sold))


RECHECK_WINDOW = timedelta(hours=36)


def recheck_recent_alerts(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Tell the drops the one-a-day limit held back: re-apply today's price to items alerted lately.

    An item alerted this morning whose price fell to a new low by noon says nothing then; with no
    later price change, nothing would ever tell it. Run hourly, this tells it once the user's next
    local day starts. Only items alerted within `RECHECK_WINDOW` can be held, so it reads few rows.
    """
    now = now or timezone.now()
    listing_ids = sorted(
        set(
            WatchlistItem.objects.filter(last_alerted_at__gte=now - RECHECK_WINDOW, sold_at__isnull=True).values_list(
                "listing_id", flat=True
            )
        )
    )
    for start in range(0, len(listing_ids), batch):
        check_listings(listing_ids[start : start + batch], now=now)
    return len(listing_ids)


def _state(item: _Watcher) -> price_drops.Watch:
    last_day = item.last_alerted_at.astimezone(item.time_zone).date() if item.last_alerted_at else None
    return price_drops.Watch(
        added_price=item.added_price,
        reference_price=item.reference_price,
        lowest_price=item.lowest_price,
        threshold=item.price_threshold,
        alert_sent=item.alert_sent,
        last_alert_price=item.last_alert_price,
        last_alert_day=last_day,
    )


def _apply(item: _Watcher, state: price_drops.Watch, alerted_at: datetime | None) -> None:
    item.alert_sent = state.alert_sent
    item.reference_price = state.reference_price
    item.lowest_price = state.lowest_price
    item.last_alert_price = state.last_alert_price
    item.last_alerted_at = alerted_at


def _row(item: _Watcher) -> dict:
    return {"id": item.id, **{name: getattr(item, name) for name in ITEM_FIELDS}}


def drop_headline(title: str, drop: price_drops.PriceDrop, currency: str = "USD") -> str:
    """'ThinkPad T14 dropped to $310 (−18%, was $380) — below your $320 target'."""
    text = f"{title} dropped to {money(drop.price, currency)} (−{drop.percent}%, was {money(drop.was, currency)})"
    if drop.threshold is not None and drop.price <= drop.threshold:
        where = "at" if drop.price == drop.threshold else "below"
        text += f" — {where} your {money(drop.threshold, currency)} target"
        if drop.new_low:
            text += ", a new low"
    elif drop.new_low:
        text += " — a new low"
    return text


def _drop_event(item: _Watcher, drop: price_drops.PriceDrop) -> DealEvent:
    currency = item.currency
    facts = [("Was", money(drop.was, currency)), ("Now", money(drop.price, currency))]
    if drop.threshold is not None:
        facts.append(("Your target", money(drop.threshold, currency)))
    facts.append(("Lowest since you watched", money(item.lowest_price, currency)))
    return DealEvent(
        user_id=item.user_id,
        listing_id=item.listing_id,
        source=WatchSource(
            item_id=item.id,
            headline=drop_headline(item.title, drop, currency),
            facts=tuple(facts),
            stop_url=links.stop_url(item.id, item.created_at),
        ),
        kind=Kind.PRICE_DROP,
        urgent=drop.urgent,
        news=drop.news,
    )


def _sold_event(item: _Watcher) -> DealEvent:
    headline = f"{item.title} has sold or was taken down; it stays in your watchlist, marked sold"
    return DealEvent(
        user_id=item.user_id,
        listing_id=item.listing_id,
        source=WatchSource(item_id=item.id, headline=headline, stop_url=links.stop_url(item.id, item.created_at)),
        kind=Kind.LISTING_SOLD,
        news="sold",
    )


def snapshot(item: WatchlistItem) -> dict:
    """The item's fields as JSON-ready values, for `restore` (an Undo token carries them)."""
    fields = {"listing_id": item.listing_id, "created_at": item.created_at.isoformat()}
    for name in ITEM_FIELDS:
        value = getattr(item, name)
        fields[name] = value.isoformat() if isinstance(value, datetime) else (str(value) if value is not None else None)
    fields["alert_sent"] = item.alert_sent
    return fields
