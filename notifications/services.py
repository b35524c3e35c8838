"""Notifications: the producers' one entry point (`notify`), delivery, the sweep, unsubscribe and tracking.

Producers (alerts, watchlist, recommendations) call `notify` inside the transaction that records
what they found; this module reads preferences, asks the policy, and writes the outbox in that same
transaction. Workers then `deliver` outbox rows: each row is claimed by one conditional UPDATE, so a
retry or a second worker never sends it twice.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import groupby
from time import monotonic

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from dealalerts.db import update_rows
from listings.models import Category, Listing

from . import channels, policy
from .models import (
    CHANNELS,
    Delivery,
    DeliveryStatus,
    DigestSchedule,
    Frequency,
    Kind,
    Notification,
    NotificationPreferences,
    Weekday,
)

MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 3600
DELIVERY_BATCH = 100
SWEEP_LIMIT = 5000

STATUS_OF_ACTION = {
    policy.Action.SEND: DeliveryStatus.PENDING,
    policy.Action.DEFER: DeliveryStatus.DEFERRED,
    policy.Action.HOLD: DeliveryStatus.HELD,
    policy.Action.SKIP: DeliveryStatus.SKIPPED,
}


@dataclass(frozen=True)
class DealEvent:
    """Something a producer found worth telling a user."""

    user_id: int
    listing_id: int
    source: dict  # {"kind": "rule", "id": 7, "name": "Cheap ThinkPads", "why": "…"}
    channels: tuple[str, ...] = ()  # empty: the user's channels
    kind: str = Kind.DEAL_MATCH
    urgent: bool = False


# --- preferences ------------------------------------------------------------------------------


def preferences_for(user: User) -> NotificationPreferences:
    """The user's preferences, read fresh (one query), created with the defaults if missing."""
    prefs, _ = NotificationPreferences.objects.get_or_create(user=user)
    return prefs


def _ensure_preferences(users: list[User]) -> None:
    """Give users without preferences the defaults, in one query (they normally have them from signup)."""
    missing = [u for u in users if not hasattr(u, "notification_preferences") or _prefs_missing(u)]
    if not missing:
        return
    NotificationPreferences.objects.bulk_create(
        [NotificationPreferences(user=u) for u in missing], ignore_conflicts=True
    )
    for u in missing:
        u.notification_preferences = NotificationPreferences(user=u)


def _prefs_missing(user: User) -> bool:
    try:
        user.notification_preferences  # noqa: B018
    except NotificationPreferences.DoesNotExist:
        return True
    return False


def verified_channels(user: User, prefs: NotificationPreferences) -> frozenset[str]:
    """Channels that can reach this user now: set up, confirmed, and not disabled by a bounce or complaint."""
    return frozenset(c for c in channels.available() if not _not_verified_because(user, prefs, c))


def _not_verified_because(user: User, prefs: NotificationPreferences, channel: str) -> str:
    """Why a channel cannot reach the user, as the policy words it after "Email is …"; "" when it can."""
    if channel not in channels.available():
        return "not set up"
    if channel == "email":
        if not user.email:
            return "not set up"
        if prefs.email_suppressed_at is not None:
            return "off because mail to your address bounced or was marked as spam"
        if user.email_confirmed_at is None:
            return "not confirmed yet"
    return ""


def email_awaiting_confirmation(user: User, prefs: NotificationPreferences) -> bool:
    """Email would work but for the confirmation link the user has not followed yet."""
    return bool(user.email) and user.email_confirmed_at is None and prefs.email_suppressed_at is None


def policy_preferences(user: User, prefs: NotificationPreferences) -> policy.Preferences:
    return policy.Preferences(
        time_zone=user.time_zone,
        channels=tuple(prefs.channels),
        verified=verified_channels(user, prefs),
        not_verified_because={c: why for c in CHANNELS if (why := _not_verified_because(user, prefs, c))},
        frequency=prefs.frequency,
        quiet_start=prefs.quiet_hours_start,
        quiet_end=prefs.quiet_hours_end,
        urgent_in_quiet_hours=prefs.urgent_in_quiet_hours,
        category_filters=frozenset(prefs.category_filters),
        max_per_day=prefs.max_per_day,
    )


def channel_preferences(user: User) -> policy.Preferences:
    """The user's preferences as the policy reads them, fresh: for "where would this rule's deals go?"."""
    return policy_preferences(user, preferences_for(user))


def channel_choice(user: User, rule_channels: tuple[str, ...]) -> policy.ChannelChoice:
    """Where a deal for a rule naming these channels would go now, and why: the policy's own answer."""
    return policy.usable_channels(rule_channels, channel_preferences(user))


def category_slug_paths() -> dict[int, frozenset[str]]:
    """Each category id with the slugs of itself and its ancestors (a filter on a parent covers children)."""
    rows = {cid: (slug, parent) for cid, slug, parent in Category.objects.values_list("id", "slug", "parent_id")}
    paths: dict[int, frozenset[str]] = {}
    for cid in rows:
        slugs, current = set(), cid
        while current is not None and current in rows:
            slug, current = rows[current]
            slugs.add(slug)
        paths[cid] = frozenset(slugs)
    return paths


def digest_schedule(prefs: NotificationPreferences, defaults: DigestSchedule | None = None) -> tuple[time, int]:
    """The user's digest wall time and weekly day, falling back to the site defaults staff edit in admin."""
    defaults = defaults or DigestSchedule.current()
    default_time = defaults.weekly_time if prefs.frequency == Frequency.WEEKLY else defaults.daily_time
    weekday = prefs.digest_weekday if prefs.digest_weekday is not None else defaults.weekly_weekday
    return prefs.digest_time or default_time, weekday


def preferences_summary(user: User, now: datetime | None = None) -> dict:
    """Everything about a user's notification settings, as the API's summary and the settings page show it."""
    now = now or timezone.now()
    prefs = preferences_for(user)
    wall, weekday = digest_schedule(prefs)
    frequency = prefs.frequency
    if (
        frequency == Frequency.IMMEDIATE
        and Delivery.objects.filter(notification__user=user, status=DeliveryStatus.HELD).exists()
    ):
        frequency = Frequency.DAILY  # overflow past the cap waits for the next daily digest
    next_digest = policy.next_digest_at(now, frequency, wall, weekday, user.time_zone)
    count = sent_today(user, now)
    reach = policy.usable_channels((), policy_preferences(user, prefs))
    return {
        "channels": list(prefs.channels),
        "verified_channels": sorted(verified_channels(user, prefs)),
        "usable_channels": list(reach.channels),
        "channel_problems": list(reach.notes),
        "frequency": prefs.frequency,
        "digest_time": wall.strftime("%H:%M"),
        "digest_weekday": Weekday(weekday).label.lower(),
        "quiet_hours": {
            "start_time": prefs.quiet_hours_start.strftime("%H:%M") if prefs.quiet_hours_start else None,
            "end_time": prefs.quiet_hours_end.strftime("%H:%M") if prefs.quiet_hours_end else None,
            "urgent_in_quiet_hours": prefs.urgent_in_quiet_hours,
        },
        "category_filters": list(prefs.category_filters),
        "max_per_day": prefs.max_per_day,
        "sent_today": count,
        "remaining_today": max(0, prefs.max_per_day - count),
        "time_zone": str(user.time_zone),
        "next_digest_at": next_digest.astimezone(user.time_zone) if next_digest else None,
        "email": {
            "address": user.email,
            "suppressed_at": prefs.email_suppressed_at,
            "suppressed_reason": prefs.email_suppressed_reason,
            "unsubscribed_at": prefs.email_unsubscribed_at,
            "confirmed_at": user.email_confirmed_at,
        },
    }


def sent_today(user: User, now: datetime | None = None) -> int:
    local_day = (now or timezone.now()).astimezone(user.time_zone).date()
    return Notification.objects.filter(user=user, local_day=local_day, counts_toward_cap=True).count()


# --- notify: events -> outbox -------------------------------------------------------------------


def notify(events: list[DealEvent], *, now: datetime | None = None) -> list[Notification]:
    """Turn events into notifications and deliveries, in the caller's transaction; a fixed number of queries.

    One notification per (user, listing, local day): several rules matching the same listing make
    one notification naming them all, and a later match the same day joins the existing one
    without sending anything again. Due deliveries are enqueued once the transaction commits.
    """
    if not events:
        return []
    now = now or timezone.now()
    grouped: dict[tuple[int, int], list[DealEvent]] = defaultdict(list)
    for event in events:
        grouped[(event.user_id, event.listing_id)].append(event)
    user_ids = {user_id for user_id, _ in grouped}
    listing_ids = {listing_id for _, listing_id in grouped}

    with transaction.atomic():
        users = {u.id: u for u in User.objects.filter(id__in=user_ids).select_related("notification_preferences")}
        _ensure_preferences(list(users.values()))
        listings = {
            row["id"]: row
            for row in Listing.objects.filter(id__in=listing_ids).values("id", "category_id", "deal_score")
        }
        slug_paths = category_slug_paths()
        local_day = {uid: now.astimezone(u.time_zone).date() for uid, u in users.items()}
        days = set(local_day.values())
        existing = {
            (n.user_id, n.listing_id): n
            for n in Notification.objects.filter(user_id__in=users, listing_id__in=listing_ids, local_day__in=days)
            if n.local_day == local_day[n.user_id]
        }
        counts = Counter(
            user_id
            for user_id, day in Notification.objects.filter(
                user_id__in=users, local_day__in=days, counts_toward_cap=True
            ).values_list("user_id", "local_day")
            if day == local_day[user_id]
        )

        created: list[tuple[Notification, policy.Outcome]] = []
        merged: list[Notification] = []
        for (user_id, listing_id), group in grouped.items():
            user, listing = users.get(user_id), listings.get(listing_id)
            if user is None or listing is None:
                continue  # deleted meanwhile
            if (user_id, listing_id) in existing:
                notification = existing[(user_id, listing_id)]
                if _merge_sources(notification, [e.source for e in group]):
                    merged.append(notification)
                continue
            prefs = policy_preferences(user, user.notification_preferences)
            event = policy.Event(
                channels=_union(e.channels or prefs.channels for e in group),
                category_slugs=slug_paths.get(listing["category_id"], frozenset()),
                deal_score=listing["deal_score"],
                urgent=any(e.urgent for e in group),
            )
            outcome = policy.decide(event, prefs, now, counts[user_id])
            if outcome.counts_toward_cap:
                counts[user_id] += 1
            notification = Notification(
                user_id=user_id,
                kind=group[0].kind,
                listing_id=listing_id,
                local_day=local_day[user_id],
                sources=_dedupe_sources([e.source for e in group]),
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
                status=STATUS_OF_ACTION[d.action],
                reason=d.reason,
                urgent=n.urgent,
                not_before=d.not_before,
                dedup_key=dedup_key(n.id, d.channel),
                created_at=now,
            )
            for n, outcome in created
            for d in outcome.decisions
        ]
        Delivery.objects.bulk_create(deliveries)
        due = [d for d in deliveries if d.status == DeliveryStatus.PENDING]
        if due:
            transaction.on_commit(lambda: enqueue(due))
    return [n for n, _ in created]


def dedup_key(notification_id: int, channel: str) -> str:
    return f"n{notification_id}-{channel}"


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


def enqueue(deliveries: list[Delivery]) -> None:
    """Hand due deliveries to workers in batches; urgent ones on their own high-priority queue."""
    from .tasks import deliver_batch

    for urgent in (True, False):
        ids = [d.id for d in deliveries if d.urgent == urgent]
        for start in range(0, len(ids), DELIVERY_BATCH):
            batch = ids[start : start + DELIVERY_BATCH]
            deliver_batch.apply_async(args=[batch], queue="urgent" if urgent else "notify")


# --- delivery -----------------------------------------------------------------------------------


def claim(delivery_ids: list[int], now: datetime) -> list[int]:
    """Atomically mark due rows as sending and return those this caller won; one statement.

    A concurrent claimer of the same row waits for our commit, re-reads the status, and gets
    nothing: exactly one worker ever holds a row.
    """
    if not delivery_ids:
        return []
    table = Delivery._meta.db_table
    marks = ", ".join(["%s"] * len(delivery_ids))
    # As the ORM stores it: on SQLite, a naive UTC text the sweep's `claimed_at=` comparisons match.
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s "
            f"WHERE id IN ({marks}) AND status IN (%s, %s) AND (not_before IS NULL OR not_before <= %s) "
            f"RETURNING id",
            [DeliveryStatus.SENDING, stamp, *delivery_ids, DeliveryStatus.PENDING, DeliveryStatus.DEFERRED, stamp],
        )
        return sorted(row[0] for row in cursor.fetchall())


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0


def deliver(delivery_ids: list[int], *, now: datetime | None = None) -> BatchResult:
    """Claim, send and settle a batch. Queries: one claim, one load, then the settles.

    Where the provider can be asked whether it has a message (`Channel.can_find_sent`), the
    batch's sends are recorded together at the end: if the worker dies first, those rows stay
    `sending` and the sweep finds them at the provider. Elsewhere each row is settled before the
    next send, so a crash leaves at most the row being sent in doubt.

    Rows still unsent when half of NOTIFICATIONS_SENDING_TIMEOUT has passed since the claim are
    handed back (pending, enqueued again): past the timeout the sweep takes claimed rows back and
    re-enqueues them, and we must not be sending them then as well.
    """
    result = BatchResult()
    claimed = claim(delivery_ids, now or timezone.now())
    result.claimed = len(claimed)
    if not claimed:
        return result
    hand_back_at = monotonic() + settings.NOTIFICATIONS_SENDING_TIMEOUT / 2
    rows = list(
        Delivery.objects.filter(id__in=claimed)
        .select_related("notification__listing", "notification__user__notification_preferences")
        .order_by("channel", "id")
    )
    done = 0
    for channel_name, group in groupby(rows, key=lambda d: d.channel):
        channel = channels.get(channel_name)
        sent: list[dict] = []  # recorded together, when the provider can be asked after a crash
        try:
            with channel.session():
                for delivery in group:
                    if monotonic() >= hand_back_at:
                        break
                    done += 1
                    blocked = _blocked_reason(delivery)
                    if blocked:
                        _settle_skipped(delivery, blocked)
                        result.skipped += 1
                        continue
                    outcome = channel.send(delivery)
                    if isinstance(outcome, channels.Sent) and channel.can_find_sent():
                        sent.append(_sent_row(delivery, outcome))
                        result.sent += 1
                        continue
                    settled = settle(delivery, outcome)
                    setattr(result, settled, getattr(result, settled) + 1)
        finally:
            update_rows(
                Delivery, sent, ("status", "sent_at", "provider_id", "last_error"), only_where={"status": "sending"}
            )
        if monotonic() >= hand_back_at:
            break
    if done < len(rows):
        result.released = release(rows[done:])
    return result


def _sent_row(delivery: Delivery, outcome: channels.Sent) -> dict:
    return {
        "id": delivery.pk,
        "status": DeliveryStatus.SENT,
        "sent_at": timezone.now(),
        "provider_id": outcome.provider_id[:200],
        "last_error": "",
    }


def release(deliveries: list[Delivery]) -> int:
    """Give claimed rows back unsent: pending again, their claim's attempt undone, and enqueued."""
    released = Delivery.objects.filter(pk__in=[d.pk for d in deliveries], status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.PENDING, attempts=F("attempts") - 1
    )
    transaction.on_commit(lambda: enqueue(deliveries))  # a row no longer ours is not claimed again
    return released


def _blocked_reason(delivery: Delivery) -> str:
    """Why a claimed row must not go out after all: the user changed their mind since it was queued."""
    user = delivery.notification.user
    prefs = user.notification_preferences if not _prefs_missing(user) else preferences_for(user)
    if delivery.channel not in prefs.channels:
        return f"skipped: you turned {delivery.channel} off"
    if delivery.channel == "email" and prefs.email_suppressed_at is not None:
        return "skipped: email to this address bounced or was reported as spam"
    if delivery.channel == "email" and user.email_confirmed_at is None:
        return "skipped: your email address changed and is not confirmed yet: use the link we sent"
    return ""


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0)


def settle(delivery: Delivery, outcome: channels.Result, *, now: datetime | None = None) -> str:
    """Record a send's outcome on a row we hold; returns 'sent', 'retrying' or 'failed'."""
    now = now or timezone.now()
    mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING)
    if isinstance(outcome, channels.Sent):
        mine.update(status=DeliveryStatus.SENT, sent_at=now, provider_id=outcome.provider_id[:200], last_error="")
        return "sent"
    if isinstance(outcome, channels.Transient) and delivery.attempts < MAX_ATTEMPTS:
        not_before = now + timedelta(seconds=backoff_seconds(delivery.attempts, outcome.retry_after))
        mine.update(status=DeliveryStatus.DEFERRED, not_before=not_before, last_error=outcome.error)
        return "retrying"
    error = outcome.error
    if isinstance(outcome, channels.Transient):
        error = f"gave up after {delivery.attempts} attempts: {error}"
    mine.update(status=DeliveryStatus.FAILED, last_error=error)
    if isinstance(outcome, channels.Permanent) and outcome.address_dead and delivery.channel == "email":
        suppress_email(delivery.notification.user_id, f"the address was refused: {outcome.error}"[:200], now)
    elif delivery.channel != "email":
        fall_back_to_email(delivery, now)
    return "failed"


def _settle_skipped(delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SKIPPED, reason=reason
    )


def fall_back_to_email(delivery: Delivery, now: datetime) -> Delivery | None:
    """One email instead of a channel that failed for good, unless the notification already has one."""
    user = delivery.notification.user
    prefs = preferences_for(user)
    if "email" not in verified_channels(user, prefs):
        return None
    fallback, created = Delivery.objects.get_or_create(
        dedup_key=dedup_key(delivery.notification_id, "email"),
        defaults={
            "notification_id": delivery.notification_id,
            "channel": "email",
            "urgent": delivery.urgent,
            "reason": f"sent by email instead: {delivery.channel} failed",
            "created_at": now,
        },
    )
    if created:
        transaction.on_commit(lambda: enqueue([fallback]))
    return fallback if created else None


# --- the sweep: deferred rows that are due, and rows stuck in `sending` ---------------------------


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Enqueue due deferred (and never-enqueued) rows; resolve rows whose worker died mid-send."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT)
    stuck = list(
        Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stale)
        .select_related("notification")
        .order_by("id")[:SWEEP_LIMIT]
    )
    recovered: list[Delivery] = []
    already_sent = 0
    for delivery in stuck:
        try:
            provider_id = channels.get(delivery.channel).find_sent(delivery)
        except Exception:  # the provider cannot be asked now; the next sweep will
            continue
        mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=delivery.claimed_at)
        if provider_id:
            already_sent += mine.update(status=DeliveryStatus.SENT, sent_at=now, provider_id=provider_id[:200])
        elif mine.update(status=DeliveryStatus.PENDING, last_error="worker stopped mid-send; retried"):
            recovered.append(delivery)
    # Pending rows older than a minute were never picked up (their message was lost with a broker).
    due = list(
        Delivery.objects.filter(
            Q(status=DeliveryStatus.DEFERRED, not_before__lte=now)
            | Q(status=DeliveryStatus.PENDING, created_at__lte=now - timedelta(minutes=1))
        ).order_by("id")[:SWEEP_LIMIT]
    )
    recovered_ids = {d.id for d in recovered}
    enqueue(recovered + [d for d in due if d.id not in recovered_ids])
    return {"due": len(due), "stuck_resent": len(recovered), "stuck_already_sent": already_sent}


# --- unsubscribe and what the ESP tells us --------------------------------------------------------


def unsubscribe_email(user_id: int, now: datetime | None = None) -> bool:
    """Turn email off for a user (RFC 8058 one-click); True when it was on."""
    now = now or timezone.now()
    with transaction.atomic():
        prefs = NotificationPreferences.objects.select_for_update().filter(user_id=user_id).first()
        if prefs is None:
            user = User.objects.filter(pk=user_id).first()
            if user is None:
                return False
            prefs = preferences_for(user)
        if "email" not in prefs.channels:
            return False
        prefs.channels = [c for c in prefs.channels if c != "email"]
        prefs.email_unsubscribed_at = now
        prefs.save(update_fields=["channels", "email_unsubscribed_at", "updated_at"])
    return True


def suppress_email(user_id: int, reason: str, now: datetime | None = None) -> None:
    NotificationPreferences.objects.filter(user_id=user_id, email_suppressed_at__isnull=True).update(
        email_suppressed_at=now or timezone.now(), email_suppressed_reason=reason[:200]
    )


def record_click(notification_id: int, now: datetime | None = None) -> Notification | None:
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is not None and notification.clicked_at is None:
        Notification.objects.filter(pk=notification_id, clicked_at__isnull=True).update(
            clicked_at=now or timezone.now()
        )
    return notification
