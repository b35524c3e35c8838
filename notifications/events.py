"""The producers' entry point: what they found (`DealEvent`, saying where from) and `notify`.

Producers (alerts, watchlist; later recommendations) import only this module (`Kind` included). They call `notify`
inside the transaction that records what they found; it reads preferences, asks the policy, and
writes the outbox (notifications and their deliveries) in that same transaction. Workers then
`delivery.deliver` the outbox rows.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from listings.models import Listing

from . import delivery, policy
from .channels import DAILY_CAPS
from .models import CHANNELS, ChannelDayCount, Delivery, DeliveryStatus, Kind, Notification
from .preferences import category_slug_paths, ensure_preferences, policy_preferences, stored_addresses


@dataclass(frozen=True)
class RuleSource:
    """A user's alert rule matched the listing; stored on the notification so history and emails say why."""

    rule_id: int
    name: str
    why: str = ""  # the matcher's sentence at match time, e.g. 'mentions "thinkpad", $300 is at most $500'
    kind: ClassVar[str] = "rule"

    def as_dict(self) -> dict:
        """As `Notification.sources` stores it (JSON): several producers' sources share the shape."""
        return {"kind": self.kind, "id": self.rule_id, "name": self.name, "why": self.why}


@dataclass(frozen=True)
class WatchSource:
    """A watched listing's price fell (or it sold): the item, the one-line news and its figures."""

    item_id: int
    headline: str  # "ThinkPad T14 dropped to $310 (−18%, was $380) — below your $320 target"
    facts: tuple[tuple[str, str], ...] = ()  # ("Was", "$380"), ("Your target", "$320"), …
    # The signed "Stop watching" link the messages carry; made by the watchlist (whose page it is),
    # read by `content`, so notifications never imports the watchlist.
    stop_url: str = ""
    name: str = "Your watchlist"
    kind: ClassVar[str] = "watch"

    def as_dict(self) -> dict:
        source = {
            "kind": self.kind,
            "id": self.item_id,
            "name": self.name,
            "why": self.headline,
            "headline": self.headline,
            "facts": [list(fact) for fact in self.facts],
        }
        if self.stop_url:
            source["stop_url"] = self.stop_url
        return source


@dataclass(frozen=True)
class DealEvent:
    """Something a producer found worth telling a user.

    `news` says what kind of news it is ("match", "drop:310.00", "sold"): one notification per
    (user, listing, local day, news), so different news about one listing all reach the user and
    the same news twice never does.
    """

    user_id: int
    listing_id: int
    source: RuleSource | WatchSource
    channels: tuple[str, ...] = ()  # empty: the user's channels
    kind: str = Kind.DEAL_MATCH
    urgent: bool = False
    news: str = "match"


def notify(events: list[DealEvent], *, now: datetime | None = None) -> list[Notification]:
    """Turn events into notifications and deliveries, in the caller's transaction; a fixed number of queries.

    One notification per (user, listing, local day, news): several rules matching the same listing
    make one notification naming them all, and a later match the same day joins the existing one
    without sending anything again; a price drop of that listing is other news and is told.
    Due deliveries are enqueued once the transaction commits.
    """
    if not events:
        return []
    now = now or timezone.now()
    grouped: dict[tuple[int, int, str], list[DealEvent]] = defaultdict(list)
    for event in events:
        grouped[(event.user_id, event.listing_id, event.news)].append(event)
    user_ids = {user_id for user_id, _, _ in grouped}
    listing_ids = {listing_id for _, listing_id, _ in grouped}
    news = {news for _, _, news in grouped}

    with transaction.atomic():
        users = {u.id: u for u in User.objects.filter(id__in=user_ids).select_related("notification_preferences")}
        ensure_preferences(list(users.values()))
        listings = {
            row["id"]: row
            for row in Listing.objects.filter(id__in=listing_ids).values("id", "category_id", "deal_score")
        }
        slug_paths = category_slug_paths()
        local_day = {uid: now.astimezone(u.time_zone).date() for uid, u in users.items()}
        days = set(local_day.values())
        existing = {
            (n.user_id, n.listing_id, n.news): n
            for n in Notification.objects.filter(
                user_id__in=users, listing_id__in=listing_ids, local_day__in=days, news__in=news
            )
            if n.local_day == local_day[n.user_id]
        }
        counts = Counter(
            user_id
            for user_id, day in Notification.objects.filter(
                user_id__in=users, local_day__in=days, counts_toward_cap=True
            ).values_list("user_id", "local_day")
            if day == local_day[user_id]
        )
        channel_counts = _capped_channel_counts(users, local_day)
        addresses = stored_addresses(users)

        created: list[tuple[Notification, policy.Outcome]] = []
        merged: list[Notification] = []
        for (user_id, listing_id, news_key), group in grouped.items():
            user, listing = users.get(user_id), listings.get(listing_id)
            if user is None or listing is None:
                continue  # deleted meanwhile
            if (user_id, listing_id, news_key) in existing:
                notification = existing[(user_id, listing_id, news_key)]
                if _merge_sources(notification, [e.source.as_dict() for e in group]):
                    merged.append(notification)
                continue
            prefs = policy_preferences(user, user.notification_preferences, addresses[user_id])
            event = policy.Event(
                channels=_union(e.channels or prefs.channels for e in group),
                category_slugs=slug_paths.get(listing["category_id"], frozenset()),
                deal_score=listing["deal_score"],
                urgent=any(e.urgent for e in group),
            )
            outcome = policy.decide(event, prefs, now, counts[user_id], channel_counts[user_id])
            if outcome.counts_toward_cap:
                counts[user_id] += 1
            for decision in outcome.decisions:
                if decision.channel in DAILY_CAPS and decision.action == policy.Action.SEND:
                    channel_counts[user_id][decision.channel] += 1
            notification = Notification(
                user_id=user_id,
                kind=group[0].kind,
                listing_id=listing_id,
                local_day=local_day[user_id],
                news=news_key,
                sources=_dedupe_sources([e.source.as_dict() for e in group]),
                urgent=event.is_urgent,
                counts_toward_cap=outcome.counts_toward_cap,
                reason=outcome.summary,
                created_at=now,
            )
            created.append((notification, outcome))

        Notification.objects.bulk_create([n for n, _ in created])
        if merged:
            Notification.objects.bulk_update(merged, ["sources"])
        deliveries = [
            Delivery(
                notification=n,
                channel=d.channel,
                status=delivery.STATUS_OF_ACTION[d.action],
                reason=d.reason,
                urgent=n.urgent,
                not_before=d.not_before,
                dedup_key=delivery.dedup_key(n.id, d.channel),
                created_at=now,
            )
            for n, outcome in created
            for d in outcome.decisions
        ]
        Delivery.objects.bulk_create(deliveries)
        due = [d for d in deliveries if d.status == DeliveryStatus.PENDING]
        if due:
            transaction.on_commit(lambda: delivery.enqueue(due))
    return [n for n, _ in created]


def _capped_channel_counts(users: dict, local_day: dict) -> dict[int, Counter]:
    """Today's messages on each capped channel (SMS), per user: those sent today (the counter the
    send-time reservation keeps) and those queued to go now. Two queries.

    What the policy plans with; the cap itself is enforced when a message leaves
    (`delivery.reserve`, per local day of sending), exactly, whatever two producers planning at
    once may have thought. Messages deferred to later count on the day they go.
    """
    counts: dict[int, Counter] = defaultdict(Counter)
    if not DAILY_CAPS:
        return counts
    sent = ChannelDayCount.objects.filter(
        user_id__in=users, channel__in=list(DAILY_CAPS), local_day__in=set(local_day.values())
    ).values_list("user_id", "local_day", "channel", "count")
    for user_id, day, channel, count in sent:
        if day == local_day[user_id]:
            counts[user_id][channel] += count
    queued = Delivery.objects.filter(
        notification__user_id__in=users,
        channel__in=list(DAILY_CAPS),
        status__in=(DeliveryStatus.PENDING, DeliveryStatus.SENDING),
    ).values_list("notification__user_id", "channel")
    for user_id, channel in queued:
        counts[user_id][channel] += 1
    return counts


def _union(channel_lists) -> tuple[str, ...]:
    wanted = {c for channels_ in channel_lists for c in channels_}
    return tuple(c for c in CHANNELS if c in wanted)


def _source_key(source: dict) -> tuple:
    return (source.get("kind"), source.get("id"))


def _dedupe_sources(sources: list[dict]) -> list[dict]:
    return list({_source_key(s): s for s in sources}.values())


def _merge_sources(notification: Notification, sources: list[dict]) -> bool:
    known = {_source_key(s) for s in notification.sources}
    added = [s for s in _dedupe_sources(sources) if _source_key(s) not in known]
    notification.sources = notification.sources + added
    return bool(added)


__all__ = ["DealEvent", "Kind", "RuleSource", "WatchSource", "notify"]
