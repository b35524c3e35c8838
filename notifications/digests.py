"""Digests: whose digest time has come, what goes in it, and one email per (user, period).

A beat tick every few minutes calls `send_due_digests`. A user is due when their local digest time
(daily) or day and time (weekly) has passed in the current period and that period has no Digest
row yet. The row is inserted with ON CONFLICT DO NOTHING before anything is sent, so two ticks at
once, or a tick run twice, send one digest per (user, period). Users on "immediate" get a daily
digest only when deals overflowed their daily cap.

Work goes in batches of users with a fixed number of queries per batch, whatever the batch holds.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts.models import User
from activity.log import Event, Kind, record_many
from dealalerts.db import insert_ignoring_conflicts, update_rows
from dealalerts.encryption import digests as address_keys
from listings.models import Listing, Source

from . import channels, digest_sections, emails, event_log, links
from .content import composed_message
from .models import (
    CHANNEL_LABELS,
    Address,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestPeriod,
    DigestSchedule,
    DigestStatus,
    Frequency,
    Notification,
    NotificationPreferences,
    Weekday,
)
from .policy import first_instant_at

BATCH = 500
TOP_DEALS = 5
MAX_ATTEMPTS = 5
GRACE = timedelta(days=1)
NEW_SOURCES_CACHE_KEY = "notifications:source-first-seen"
LISTING_FIELDS = ("title", "price", "currency", "image_url", "deal_score", "deal_score_explanation")
WINDOW = {DigestPeriod.DAILY: timedelta(days=2), DigestPeriod.WEEKLY: timedelta(days=8)}
PERIOD = {DigestPeriod.DAILY: timedelta(days=1), DigestPeriod.WEEKLY: timedelta(days=7)}  # what "new" means


@dataclass(frozen=True)
class Due:
    user_id: int
    period: str
    period_start: date
    retry: bool = False  # a failed or abandoned digest this tick took over


def current_period(now: datetime, period: str, wall, weekday: int, tz) -> date | None:
    """The local day whose digest time passed within the last day; None when none did.

    The day's grace covers a scheduler that was down for a while; beyond it the period is let go
    (its deals roll into the next digest), so switching to weekly on a Wednesday sends nothing
    until Monday.
    """
    local = now.astimezone(tz).date()
    day = local if period == DigestPeriod.DAILY else local - timedelta(days=(local.weekday() - weekday) % 7)
    at = first_instant_at(day, wall, tz)
    return day if at <= now < at + GRACE else None


def due_digests(now: datetime) -> list[Due]:
    """Everyone whose digest is due now and not yet claimed: one pass over the digest users."""
    defaults = DigestSchedule.current()
    overflowing = Delivery.objects.filter(
        notification__user=OuterRef("user_id"), status=DeliveryStatus.HELD, notification__digest__isnull=True
    )
    rows = (
        NotificationPreferences.objects.filter(user__email_confirmed_at__isnull=False)
        .filter(Q(frequency__in=[Frequency.DAILY, Frequency.WEEKLY]) | Exists(overflowing))
        .values_list(
            "user_id", "user__time_zone", "frequency", "digest_time", "digest_weekday", "channels", "user__email"
        )
    )
    disabled = _disabled_email_keys()
    candidates: list[Due] = []
    for user_id, tz, frequency, digest_time, weekday, chosen, email in rows.iterator(chunk_size=5000):
        if "email" not in chosen:
            continue
        if user_id in disabled and disabled[user_id] & set(address_keys(email.strip().lower())):
            continue  # mail to this address bounced or was reported as spam
        period = DigestPeriod.WEEKLY if frequency == Frequency.WEEKLY else DigestPeriod.DAILY
        wall = digest_time or (defaults.weekly_time if period == DigestPeriod.WEEKLY else defaults.daily_time)
        day = current_period(now, period, wall, defaults.weekly_weekday if weekday is None else weekday, tz)
        if day is not None:
            candidates.append(Due(user_id, period, day))
    return _not_yet_claimed(candidates)


def _disabled_email_keys() -> dict[int, set[str]]:
    """The keys of the email addresses disabled by a bounce or complaint, by user (few: one query)."""
    keys: dict[int, set[str]] = defaultdict(set)
    disabled = Address.objects.filter(channel="email", disabled_at__isnull=False)
    for user_id, key in disabled.values_list("user_id", "key"):
        keys[user_id].add(key)
    return keys


def _not_yet_claimed(candidates: list[Due]) -> list[Due]:
    claimed: set[tuple[int, str, date]] = set()
    for start in range(0, len(candidates), BATCH * 10):
        chunk = candidates[start : start + BATCH * 10]
        claimed.update(
            Digest.objects.filter(
                user_id__in=[d.user_id for d in chunk], period_start__in={d.period_start for d in chunk}
            ).values_list("user_id", "period", "period_start")
        )
    return [d for d in candidates if (d.user_id, d.period, d.period_start) not in claimed]


# --- content ------------------------------------------------------------------------------------


@dataclass
class DigestContent:
    user: User
    period: str
    period_start: date
    deals: list["HeldDeal"] = field(default_factory=list)  # the top ones, best first
    total: int = 0
    new_sources: list[str] = field(default_factory=list)
    sections: list[digest_sections.SectionRows] = field(default_factory=list)  # producers' sections with rows
    notification_ids: list[int] = field(default_factory=list)  # every deal it covers, shown or not

    @property
    def is_empty(self) -> bool:
        """Nothing to tell: no deals and no news section with rows (a moved watched price is news too;
        recommendations alone are not)."""
        return not self.total and not any(s.section.news for s in self.sections)


@dataclass(frozen=True)
class HeldDeal:
    """A held notification as a digest shows it (plain values: a digest run reads hundreds of thousands)."""

    id: int
    created_at: datetime
    sources: list
    title: str
    price: Decimal
    currency: str
    image_url: str
    deal_score: float | None
    deal_score_explanation: str

    @property
    def rank(self) -> tuple[float, datetime]:
        return (self.deal_score if self.deal_score is not None else -1.0, self.created_at)


def gather(dues: list[Due], now: datetime) -> list[DigestContent]:
    """What each due digest holds: three queries for the whole batch, plus each section's fixed few."""
    users = {
        u.id: u
        for u in User.objects.filter(id__in=[d.user_id for d in dues]).select_related("notification_preferences")
    }
    oldest = now - max(WINDOW.values())
    waiting = Delivery.objects.filter(notification=OuterRef("pk"), status=DeliveryStatus.HELD)
    held = (
        Notification.objects.filter(user_id__in=users, digest__isnull=True, created_at__gte=oldest)
        .filter(Exists(waiting))
        .values_list("user_id", "id", "created_at", "sources", *(f"listing__{name}" for name in LISTING_FIELDS))
    )
    by_user: dict[int, list[HeldDeal]] = defaultdict(list)
    for user_id, *fields in held:
        by_user[user_id].append(HeldDeal(*fields))
    sources = new_sources(now - WINDOW[DigestPeriod.WEEKLY])
    sections = digest_sections.gather(
        {d.user_id: digest_sections.Window(now - PERIOD[d.period], now) for d in dues if d.user_id in users}
    )
    contents = []
    for due in dues:
        user = users.get(due.user_id)
        if user is None:
            continue
        window_start = now - WINDOW[due.period]
        mine = [deal for deal in by_user.get(due.user_id, ()) if deal.created_at >= window_start]
        mine.sort(key=lambda deal: deal.rank, reverse=True)
        since = now - PERIOD[due.period]
        contents.append(
            DigestContent(
                user=user,
                period=due.period,
                period_start=due.period_start,
                deals=mine[:TOP_DEALS],
                total=len(mine),
                new_sources=[label for label, first in sources if first >= since],
                notification_ids=[n.id for n in mine],
                sections=sections.get(due.user_id, []),
            )
        )
    return contents


def new_sources(since: datetime) -> list[tuple[str, datetime]]:
    """Marketplaces whose first listing arrived after `since`: (label, first seen).

    One aggregate over all listings: cached for a few minutes, as every batch of a tick asks.
    """
    labels = dict(Source.choices)
    firsts = cache.get(NEW_SOURCES_CACHE_KEY)
    if firsts is None:
        firsts = list(Listing.objects.values_list("source").annotate(first=Min("first_seen_at")))
        cache.set(NEW_SOURCES_CACHE_KEY, firsts, timeout=300)
    return [(labels.get(source, source), first) for source, first in firsts if first >= since]


def digest_context(content: DigestContent) -> dict:
    prefs = content.user.notification_preferences
    period_label = "daily" if content.period == DigestPeriod.DAILY else "weekly"
    deals = [
        {
            "title": deal.title,
            "price": deal.price,
            "currency": deal.currency,
            "image_url": deal.image_url,
            "deal_score": deal.deal_score,
            "explanation": deal.deal_score_explanation,
            "sources": deal.sources,
            "url": links.click_url(deal.id, "digest"),
        }
        for deal in content.deals
    ]
    quiet = f"{prefs.quiet_hours_start:%H:%M}–{prefs.quiet_hours_end:%H:%M}" if prefs.quiet_hours_start else "none"
    return {
        "period_label": period_label,
        "period_title": f"{content.period_start:%A, %B} {content.period_start.day}",
        "deals": deals,
        "more": content.total - len(deals),
        "total": content.total,
        "new_sources": content.new_sources,
        "sections": content.sections,
        "preferences": {
            "frequency": Frequency(prefs.frequency).label,
            "digest_time": f"{prefs.digest_time:%H:%M}" if prefs.digest_time else "",
            "weekday": Weekday(prefs.digest_weekday).label if prefs.digest_weekday is not None else "",
            "channels": ", ".join(CHANNEL_LABELS[c] for c in prefs.channels) or "none",
            "quiet_hours": quiet,
            "max_per_day": prefs.max_per_day,
            "categories": ", ".join(prefs.category_filters) or "all",
        },
        "history_url": links.history_url(),
        "settings_url": links.settings_url(),
        "unsubscribe_url": links.unsubscribe_url(content.user.id),
    }


def compose(content: DigestContent, digest_id: int | None = None) -> emails.Composed:
    """The digest email; a sent one (`digest_id`) carries its open pixel, a preview none."""
    context = digest_context(content)
    context["open_pixel_url"] = links.open_url(digest_id) if digest_id is not None else ""
    return emails.compose("digest", context)


# --- sending ------------------------------------------------------------------------------------


@dataclass
class DigestRun:
    due: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    batches: int = 0


def send_due_digests(now: datetime | None = None) -> DigestRun:
    """Claim and send every due digest, batch by batch; retry failed or abandoned ones."""
    now = now or timezone.now()
    run = DigestRun()
    dues = due_digests(now) + take_over_retryable(now)
    run.due = len(dues)
    with channels.get("email").session():
        for start in range(0, len(dues), BATCH):
            send_batch(dues[start : start + BATCH], now, run)
            run.batches += 1
    return run


def take_over_retryable(now: datetime) -> list[Due]:
    """Failed digests, and ones claimed by a tick that died, taken over by this tick (a conditional update)."""
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT)
    retry = Q(status=DigestStatus.FAILED, attempts__lt=MAX_ATTEMPTS)
    retry |= Q(status=DigestStatus.CLAIMED, claimed_at__lt=stale)
    taken = Digest.objects.filter(retry).update(status=DigestStatus.CLAIMED, claimed_at=now, attempts=F("attempts") + 1)
    if not taken:
        return []
    rows = Digest.objects.filter(status=DigestStatus.CLAIMED, claimed_at=now, attempts__gt=1)
    return [Due(*row, retry=True) for row in rows.values_list("user_id", "period", "period_start")]


def send_batch(dues: list[Due], now: datetime, run: DigestRun) -> None:
    """Claim and send a batch of digests, inside the email channel's `session()`."""
    fresh = [d for d in dues if not d.retry]
    claimed = insert_ignoring_conflicts(
        Digest,
        [
            {
                "user_id": d.user_id,
                "period": d.period,
                "period_start": d.period_start,
                "created_at": now,
                "claimed_at": now,
            }
            for d in fresh
        ],
        unique=("user", "period", "period_start"),
        returning=("id", "user_id", "period", "period_start"),
    )
    ids = {(user_id, period, start): digest_id for digest_id, user_id, period, start in claimed}
    retried = [d for d in dues if d.retry]
    if retried:
        ids.update(
            {
                (u, p, s): i
                for i, u, p, s in Digest.objects.filter(
                    user_id__in=[d.user_id for d in retried], status=DigestStatus.CLAIMED, claimed_at=now
                ).values_list("id", "user_id", "period", "period_start")
            }
        )
    mine = [d for d in dues if (d.user_id, d.period, d.period_start) in ids]
    if not mine:
        return
    updates: list[dict] = []
    digested: dict[int, int] = {}
    delivered: dict[int, list[digest_sections.SectionRows]] = {}  # the sections of each digest sent
    email = channels.get("email")
    provider = event_log.email_provider()
    events: list[Event] = []
    for content in gather(mine, now):
        digest = {
            "id": ids[(content.user.id, content.period, content.period_start)],
            "status": DigestStatus.EMPTY,
            "deal_count": content.total,
            "sent_at": None,
            "provider_id": "",
            "last_error": "",
        }
        updates.append(digest)
        if content.is_empty:
            run.empty += 1
            continue
        message = composed_message(
            "digest", compose(content, digest["id"]), user_id=content.user.id, metadata={"digest_id": str(digest["id"])}
        )
        outcome = email.send(email.addresses(content.user, [])[0], message, f"digest-{digest['id']}")
        if isinstance(outcome, channels.Sent):
            digest.update(status=DigestStatus.SENT, sent_at=now, provider_id=outcome.provider_id[:200])
            digested.update(dict.fromkeys(content.notification_ids, digest["id"]))
            delivered[content.user.id] = content.sections
            run.sent += 1
            events.append(
                Event(
                    kind=Kind.DIGEST_SENT,
                    user_id=content.user.id,
                    channel="email",
                    provider=provider,
                    ref_id=digest["id"],
                    created_at=now,
                )
            )
        else:
            digest.update(status=DigestStatus.FAILED, last_error=outcome.error)
            run.failed += 1
    with transaction.atomic():  # one commit for the batch's bookkeeping
        update_rows(Digest, updates, ("status", "deal_count", "sent_at", "provider_id", "last_error"))
        if digested:
            update_rows(Notification, [{"id": nid, "digest": did} for nid, did in digested.items()], ("digest",))
            Delivery.objects.filter(notification_id__in=list(digested), status=DeliveryStatus.HELD).update(
                status=DeliveryStatus.SENT, sent_at=now, reason=Concat(F("reason"), Value("; sent in the digest"))
            )
        record_many(events)  # the batch's digests sent, in one write
    digest_sections.report_sent(delivered)


def preview(user: User, now: datetime | None = None) -> tuple[DigestContent, emails.Composed]:
    """The next digest as it stands now, for the preview page: nothing claimed, nothing sent."""
    now = now or timezone.now()
    prefs = NotificationPreferences.objects.get_or_create(user=user)[0]
    period = DigestPeriod.WEEKLY if prefs.frequency == Frequency.WEEKLY else DigestPeriod.DAILY
    [content] = gather([Due(user.id, period, now.astimezone(user.time_zone).date())], now)
    return content, compose(content)
