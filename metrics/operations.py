"""Is anything wrong right now? Every figure of the operations page and of /metrics, read at once.

`read_operations(now)` returns one frozen `Operations` value: the Celery queues (from the broker),
the outbox, provider failures, beat schedules, email bounce and complaint rates, ingest and matcher
lag (from the database, in a fixed number of queries however many rows there are), and the
warnings a person should read first. The page and the Prometheus collector both render it, so
they cannot disagree.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django_celery_beat.models import PeriodicTask
from kombu import Connection
from kombu.exceptions import KombuError
from kombu.transport import filesystem
from redis.exceptions import RedisError

from activity.models import Event, Kind
from alerts.models import DealAlertMatch
from dealalerts.celery import SENT_AT_HEADER
from dealalerts.celery import app as celery_app
from listings.models import Listing
from notifications.models import Delivery, DeliveryStatus

QUEUES = ("urgent", "notify", "ingest", "default")
# How long a message may wait before the page warns: urgent deals are worth little late.
QUEUE_AGE_LIMITS = {
    "urgent": timedelta(minutes=1),
    "notify": timedelta(minutes=5),
    "ingest": timedelta(minutes=5),
    "default": timedelta(minutes=10),
}
QUEUE_DEPTH_LIMIT = 1000
# A due delivery waiting longer than this means the delivery workers are not keeping up.
OUTBOX_DUE_LIMIT = timedelta(minutes=5)
# Outbox rows still to do are all counted; finished ones only for the last day.
OUTBOX_OPEN = (DeliveryStatus.PENDING, DeliveryStatus.DEFERRED, DeliveryStatus.SENDING, DeliveryStatus.HELD)
OUTBOX_DUE = (DeliveryStatus.PENDING, DeliveryStatus.DEFERRED)
TROUBLE_KINDS = (Kind.NOTIFICATION_FAILED, Kind.NOTIFICATION_RETRIED, Kind.NOTIFICATION_FELL_BACK)
# Beat: an interval task is late past twice its interval and a minute. django-celery-beat's
# scheduler writes last_run_at to the database only when it syncs (celery.beat.Scheduler.sync_every,
# 3 minutes), so the stored time may be that much older than the real last run: allowed for.
BEAT_GRACE = timedelta(minutes=1)
BEAT_SYNC_LAG = timedelta(minutes=3)
# The limits ESPs enforce (Gmail and Yahoo's 2024 sender rules: complaints under 0.1%; ESPs
# suspend senders past about 2% hard bounces). The page warns from half of each.
BOUNCE_LIMIT = Fraction(2, 100)
COMPLAINT_LIMIT = Fraction(1, 1000)
EMAIL_WINDOW = timedelta(days=7)
MATCHER_LAG_LIMIT = timedelta(minutes=2)
# A Redis that stopped answering (rather than refusing) would hang the page without these;
# the folder broker ignores them.
BROKER_READ_TIMEOUTS = {"socket_timeout": 3, "socket_connect_timeout": 3}


@dataclass(frozen=True)
class QueueState:
    name: str
    depth: int
    oldest_age: timedelta | None  # None when empty, or when a message carries no send time


@dataclass(frozen=True)
class Broker:
    kind: str  # "redis" or "filesystem"
    queues: tuple[QueueState, ...]
    error: str = ""  # the broker did not answer: why


@dataclass(frozen=True)
class OutboxCount:
    status: str
    channel: str
    count: int


@dataclass(frozen=True)
class Outbox:
    counts: tuple[OutboxCount, ...]
    due: int  # pending or deferred rows whose time has come
    oldest_due_age: timedelta | None


@dataclass(frozen=True)
class ProviderTrouble:
    channel: str
    provider: str
    failed_hour: int
    failed_day: int
    retried_hour: int
    retried_day: int
    fell_back_hour: int
    fell_back_day: int
    last_error: str
    last_error_at: datetime | None


@dataclass(frozen=True)
class BeatSchedule:
    name: str
    task: str
    schedule: str  # "every 5 minutes", a crontab line
    enabled: bool
    last_run_at: datetime | None
    next_due_at: datetime | None
    late: bool
    state: str  # "on time", "late", "not yet", "off", "not checked"


@dataclass(frozen=True)
class EmailRate:
    name: str  # "bounces", "complaints"
    count: int
    sends: int
    limit: Fraction
    level: str  # "ok", "warning" (from half the limit), "over" (at or past it), "no sends"

    @property
    def rate(self) -> float | None:
        return self.count / self.sends if self.sends else None


@dataclass(frozen=True)
class Ingest:
    first_seen_5m: int
    first_seen_1h: int
    updated_5m: int
    updated_1h: int
    matched_listings_1h: int
    matcher_lag_p50: timedelta | None
    matcher_lag_max: timedelta | None


@dataclass(frozen=True)
class Operations:
    now: datetime
    broker: Broker
    outbox: Outbox
    providers: tuple[ProviderTrouble, ...]
    schedules: tuple[BeatSchedule, ...]
    email_rates: tuple[EmailRate, ...]
    ingest: Ingest
    warnings: tuple[str, ...]


def read_operations(now: datetime, broker: Connection | None = None) -> Operations:
    """Everything the operations page shows, as of `now`: six database queries and one broker read.

    `broker` is the Celery app's own connection unless one is given.
    """
    if broker is None:
        with celery_app.connection_for_read(transport_options=BROKER_READ_TIMEOUTS, connect_timeout=3) as connection:
            queues = read_queues(connection)
    else:
        queues = read_queues(broker)
    outbox = read_outbox(now)
    providers = read_provider_trouble(now)
    schedules = read_schedules(now)
    email_rates = read_email_rates(now)
    ingest = read_ingest(now)
    warnings = warnings_for(now, queues, outbox, providers, schedules, email_rates, ingest)
    return Operations(now, queues, outbox, providers, schedules, email_rates, ingest, warnings)


# --- The broker


def read_queues(connection: Connection) -> Broker:
    """Depth and oldest message of each queue, from Redis or from the embedded filesystem broker."""
    transport = connection.transport
    kind = "filesystem" if isinstance(transport, filesystem.Transport) else transport.driver_type
    try:
        channel = connection.default_channel
        if kind == "filesystem":
            return Broker(kind, _filesystem_queues(channel.data_folder_in))
        if kind == "redis":
            return Broker(kind, _redis_queues(channel))
        return Broker(kind, (), error="this broker's queues cannot be read")
    except (OSError, KombuError, RedisError) as exc:
        return Broker(kind, (), error=str(exc) or type(exc).__name__)


def _redis_queues(channel) -> tuple[QueueState, ...]:
    """kombu keeps a queue as a Redis list named after it (LPUSH to send, BRPOP to take, so the
    oldest message is the last), one list per priority step: `notify`, `notify\\x06\\x163`, …"""
    keys = {name: [channel._q_for_pri(name, pri) for pri in channel.priority_steps] for name in QUEUES}
    with channel.client.pipeline(transaction=False) as pipe:
        for name in QUEUES:
            for key in keys[name]:
                pipe.llen(key)
                pipe.lindex(key, -1)
        answers = iter(pipe.execute())
    now = time.time()
    states = []
    for name in QUEUES:
        depth, sent_times = 0, []
        for _ in keys[name]:
            length, oldest = next(answers), next(answers)
            depth += length or 0
            if oldest is not None:
                sent_times.append(_sent_at(oldest))
        known = [t for t in sent_times if t is not None]
        age = timedelta(seconds=max(0.0, now - min(known))) if known else None
        states.append(QueueState(name, depth, age))
    return tuple(states)


def _sent_at(raw: bytes) -> float | None:
    """The send time a publisher stamped on a message (see dealalerts.celery), if it has one."""
    try:
        sent = json.loads(raw).get("headers", {}).get(SENT_AT_HEADER)
    except (ValueError, AttributeError):
        return None
    return float(sent) if isinstance(sent, int | float) else None


def _filesystem_queues(folder: str) -> tuple[QueueState, ...]:
    """The embedded broker keeps a message as a file `<ms>_<uuid>.<queue>.msg`, where ms is
    `time.monotonic()` in milliseconds when it was sent (the machine's clock since boot, shared by
    every process on it, which is all that shares this folder; a message left from before a reboot
    shows a wrong age). A file being taken is renamed `….msg.claimed` and no longer counts."""
    depths = dict.fromkeys(QUEUES, 0)
    oldest: dict[str, int] = {}
    for filename in os.listdir(folder):
        stamp, _, rest = filename.partition("_")
        queue, dot, suffix = rest.partition(".")[2].rpartition(".")
        if not dot or suffix != "msg" or queue not in depths or not stamp.isdigit():
            continue
        depths[queue] += 1
        oldest[queue] = min(oldest.get(queue, int(stamp)), int(stamp))
    now_ms = time.monotonic() * 1000
    return tuple(
        QueueState(
            name,
            depths[name],
            timedelta(milliseconds=max(0.0, now_ms - oldest[name])) if name in oldest else None,
        )
        for name in QUEUES
    )


# --- The database


def read_outbox(now: datetime) -> Outbox:
    """Deliveries by status and channel (open ones all, finished ones of the last day), and how long
    the oldest due one has waited: due since its not_before, or since it was made if it has none."""
    due = Q(status__in=OUTBOX_DUE) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    rows = (
        Delivery.objects.filter(Q(status__in=OUTBOX_OPEN) | Q(created_at__gte=now - timedelta(days=1)))
        .values("status", "channel")
        .annotate(
            count=Count("id"),
            due=Count("id", filter=due),
            due_since=Min(Coalesce("not_before", "created_at"), filter=due),
        )
        .order_by("status", "channel")
    )
    counts, due_count, due_since = [], 0, None
    for row in rows:
        counts.append(OutboxCount(row["status"], row["channel"], row["count"]))
        due_count += row["due"]
        if row["due_since"] is not None and (due_since is None or row["due_since"] < due_since):
            due_since = row["due_since"]
    age = max(timedelta(0), now - due_since) if due_since is not None else None
    return Outbox(tuple(counts), due_count, age)


def read_provider_trouble(now: datetime) -> tuple[ProviderTrouble, ...]:
    """Failures, retries and fallbacks by channel and provider over the last hour and day, with the
    last error (of a failure or a retry): one query, the last error a subquery per provider."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)

    def counted(kind: str, since: datetime) -> Count:
        return Count("id", filter=Q(kind=kind, created_at__gte=since))

    last_error = Event.objects.filter(
        kind__in=[Kind.NOTIFICATION_FAILED, Kind.NOTIFICATION_RETRIED],
        channel=OuterRef("channel"),
        provider=OuterRef("provider"),
        created_at__gte=day,
        created_at__lte=now,
    ).order_by("-created_at", "-id")
    rows = (
        Event.objects.filter(kind__in=TROUBLE_KINDS, created_at__gte=day, created_at__lte=now)
        .values("channel", "provider")
        .annotate(
            failed_hour=counted(Kind.NOTIFICATION_FAILED, hour),
            failed_day=counted(Kind.NOTIFICATION_FAILED, day),
            retried_hour=counted(Kind.NOTIFICATION_RETRIED, hour),
            retried_day=counted(Kind.NOTIFICATION_RETRIED, day),
            fell_back_hour=counted(Kind.NOTIFICATION_FELL_BACK, hour),
            fell_back_day=counted(Kind.NOTIFICATION_FELL_BACK, day),
            last_error=Subquery(last_error.values("detail")[:1]),
            last_error_at=Subquery(last_error.values("created_at")[:1]),
        )
        .order_by("channel", "provider")
    )
    return tuple(ProviderTrouble(**{**row, "last_error": row["last_error"] or ""}) for row in rows)


def read_schedules(now: datetime) -> tuple[BeatSchedule, ...]:
    tasks = PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked").order_by("name")
    return tuple(beat_schedule(task, now) for task in tasks)


def beat_schedule(task: PeriodicTask, now: datetime) -> BeatSchedule:
    """Whether a beat schedule's due run was missed.

    Interval: late when now − last run > 2 × interval + a minute. Crontab: late when the first run
    due after the last one (celery's own crontab arithmetic) is more than a minute overdue. Never
    run: "not yet", late only once its first due time (counted from its start time, or from when it
    was last changed) is as overdue. Both allow for beat's delayed write of last_run_at.
    """
    last, next_due, late_after = task.last_run_at, None, None
    since = last or task.start_time or task.date_changed
    if task.interval is not None:
        every = timedelta(**{task.interval.period: task.interval.every})
        schedule = str(task.interval)
        next_due = since + every
        late_after = since + 2 * every + BEAT_GRACE + BEAT_SYNC_LAG
    elif task.crontab is not None:
        schedule = str(task.crontab)
        start, delta, _ = task.crontab.schedule.remaining_delta(since)
        next_due = start + delta
        late_after = next_due + BEAT_GRACE + BEAT_SYNC_LAG
    elif task.clocked is not None:
        schedule = f"once at {task.clocked.clocked_time:%Y-%m-%d %H:%M}"
        if last is None:
            next_due = task.clocked.clocked_time
            late_after = next_due + BEAT_GRACE + BEAT_SYNC_LAG
    else:
        schedule = str(task.solar) if task.solar else "no schedule"

    late = bool(task.enabled and late_after is not None and now > late_after)
    if not task.enabled:
        state = "off"
    elif late:
        state = "late"
    elif last is None:
        state = "not yet"
    elif late_after is None:
        state = "not checked"
    else:
        state = "on time"
    return BeatSchedule(task.name, task.task, schedule, task.enabled, last, next_due, late, state)


def read_email_rates(now: datetime) -> tuple[EmailRate, ...]:
    """Bounces and complaints over email sends (deal emails and digests) in the last 7 days."""
    since = now - EMAIL_WINDOW
    counts = Event.objects.filter(
        created_at__gte=since,
        created_at__lte=now,
        kind__in=[Kind.EMAIL_BOUNCED, Kind.EMAIL_COMPLAINED, Kind.NOTIFICATION_SENT, Kind.DIGEST_SENT],
    ).aggregate(
        bounced=Count("id", filter=Q(kind=Kind.EMAIL_BOUNCED)),
        complained=Count("id", filter=Q(kind=Kind.EMAIL_COMPLAINED)),
        sends=Count("id", filter=Q(kind=Kind.NOTIFICATION_SENT, channel="email") | Q(kind=Kind.DIGEST_SENT)),
    )
    sends = counts["sends"]
    return tuple(
        EmailRate(name, counts[key], sends, limit, rate_level(counts[key], sends, limit))
        for name, key, limit in (("bounces", "bounced", BOUNCE_LIMIT), ("complaints", "complained", COMPLAINT_LIMIT))
    )


def rate_level(count: int, sends: int, limit: Fraction) -> str:
    """ "over" at or past the limit, "warning" from half of it, exactly (no float rounding)."""
    if not sends:
        return "no sends"
    rate = Fraction(count, sends)
    if rate >= limit:
        return "over"
    if rate >= limit / 2:
        return "warning"
    return "ok"


def read_ingest(now: datetime) -> Ingest:
    """Listings first seen and updated lately, and the matcher's lag over the last hour.

    A listing's lag is from its arrival (its last_seen_at: the ingest that matched it) to its last
    match of the hour. Only listings that arrived in the hour and were not seen again after their
    match count: for one seen again since, the ingest that matched it is no longer known (measuring
    from its first_seen_at said "29 days" for a listing re-posted a month on), and a match of an
    older listing comes from a new rule or the safety-net sweep, not from the ingest path. One row
    per matched listing, not per match.
    """
    five, hour = now - timedelta(minutes=5), now - timedelta(hours=1)
    seen = Listing.objects.filter(last_seen_at__gte=hour, last_seen_at__lte=now).aggregate(
        first_5m=Count("id", filter=Q(first_seen_at__gte=five)),
        first_1h=Count("id", filter=Q(first_seen_at__gte=hour)),
        updated_5m=Count("id", filter=Q(last_seen_at__gte=five)),
        updated_1h=Count("id"),
    )
    matched = (
        DealAlertMatch.objects.filter(matched_at__gte=hour, matched_at__lte=now, listing__last_seen_at__gte=hour)
        .values("listing_id")
        .annotate(done=Max("matched_at"), last=F("listing__last_seen_at"))
        .values_list("done", "last")
    )
    lags = sorted(max(timedelta(0), done - last) for done, last in matched.order_by() if last <= done)
    return Ingest(
        first_seen_5m=seen["first_5m"],
        first_seen_1h=seen["first_1h"],
        updated_5m=seen["updated_5m"],
        updated_1h=seen["updated_1h"],
        matched_listings_1h=len(lags),
        matcher_lag_p50=statistics.median_low(lags) if lags else None,
        matcher_lag_max=lags[-1] if lags else None,
    )


# --- What to read first


def warnings_for(
    now: datetime,
    broker: Broker,
    outbox: Outbox,
    providers: tuple[ProviderTrouble, ...],
    schedules: tuple[BeatSchedule, ...],
    email_rates: tuple[EmailRate, ...],
    ingest: Ingest,
) -> tuple[str, ...]:
    """Plain sentences, worst news first: "notify queue: 1,240 waiting, oldest 14 min"."""
    warnings = []
    if broker.error:
        warnings.append(f"broker ({broker.kind}) is not answering: {broker.error}")
    for queue in broker.queues:
        too_old = queue.oldest_age is not None and queue.oldest_age > QUEUE_AGE_LIMITS[queue.name]
        if too_old or queue.depth >= QUEUE_DEPTH_LIMIT:
            oldest = f", oldest {duration(queue.oldest_age)}" if queue.oldest_age is not None else ""
            warnings.append(f"{queue.name} queue: {queue.depth:,} waiting{oldest}")
    if outbox.oldest_due_age is not None and outbox.oldest_due_age > OUTBOX_DUE_LIMIT:
        warnings.append(f"outbox: {outbox.due:,} deliveries due, oldest due {duration(outbox.oldest_due_age)} ago")
    for p in providers:
        if p.failed_hour:
            last = f"; last error: {p.last_error}" if p.last_error else ""
            warnings.append(
                f"{p.channel} via {p.provider or 'unknown provider'}: {p.failed_hour:,} failed in the last hour{last}"
            )
    for rate in email_rates:
        if rate.level in ("warning", "over"):
            where = "at or over" if rate.level == "over" else "nearing"
            warnings.append(
                f"email {rate.name}: {rate.rate:.2%} of {rate.sends:,} sends in 7 days, "
                f"{where} the {float(rate.limit):.1%} limit ESPs enforce"
            )
    for s in schedules:
        if s.late:
            ran = f"last ran {duration(now - s.last_run_at)} ago" if s.last_run_at else "has never run"
            warnings.append(f"beat schedule {s.name} ({s.schedule}) is late: {ran}")
    if ingest.matcher_lag_p50 is not None and ingest.matcher_lag_p50 > MATCHER_LAG_LIMIT:
        warnings.append(
            f"matcher lag: median {duration(ingest.matcher_lag_p50)}, worst {duration(ingest.matcher_lag_max)}"
        )
    return tuple(warnings)


def duration(span: timedelta | None) -> str:
    """A short span in words: "45 s", "14 min", "3 h 5 min", "2 days"."""
    if span is None:
        return "—"
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} days"
