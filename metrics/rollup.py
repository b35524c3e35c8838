"""Counting the event log into the daily roll-ups the metrics page reads (see `models`).

Each run recounts, from the events themselves, every UTC day that got an event since the last run
(by event id, so backdated events — an import, the demo's history — are counted too) and always
today and yesterday, which covers events whose transactions committed after a later id was
counted. Recounting a whole day is idempotent, so two runs at once or a crash midway leave
nothing wrong that the next run does not put right.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from activity.models import Event, Kind
from alerts.models import DealAlertRule
from notifications.models import Address

from .models import ActiveUser, DailyCount, DailyUsers, RollupState

# What a person does (not what we send them, nor what a machine fetches): "active" means one of these.
ACTIVE_KINDS = (
    Kind.SESSION_STARTED,
    Kind.LISTING_VIEWED,
    Kind.NOTIFICATION_CLICKED,
    Kind.DIGEST_OPENED,
    Kind.DIGEST_CLICKED,
    Kind.RECOMMENDATION_CLICKED,
    Kind.RULE_CREATED,
    Kind.SMS_OPTED_IN,
    Kind.USER_SIGNED_UP,
)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def roll_up(now: datetime | None = None) -> dict:
    """Recount the days with new events; returns what it did (for the task's result and the tests)."""
    now = now or timezone.now()
    today = utc_day(now)
    state = RollupState.objects.order_by("pk").first() or RollupState()
    last_id = Event.objects.aggregate(last=Max("id"))["last"] or 0
    since = today - timedelta(days=1)
    if last_id > state.last_event_id:
        # Bounded on both sides, so PostgreSQL reads the new ids' range rather than walking the
        # time index until it meets one (tens of seconds over millions of events, when there is none).
        new = Event.objects.filter(id__gt=state.last_event_id, id__lte=last_id)
        first = new.aggregate(first=Min("created_at"))["first"]
        since = min(since, utc_day(first)) if first else since
    with transaction.atomic():
        counted = _count_events(since)
        days = _count_users(since, today)
        _note_active_users(since)
        state.last_event_id = max(state.last_event_id, last_id)
        state.rolled_up_at = now
        state.save()
    return {"since": since.isoformat(), "days": days, "rows": counted}


def _count_events(since: date) -> int:
    DailyCount.objects.filter(day__gte=since).delete()
    rows = (
        Event.objects.filter(created_at__gte=day_start(since))
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "kind", "channel", "machine", "repeat", "first_human")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = [
        DailyCount(
            day=row["day"],
            kind=row["kind"],
            channel=row["channel"],
            machine=row["machine"],
            repeat=row["repeat"],
            first_human=row["first_human"],
            count=row["n"],
        )
        for row in rows
    ]
    DailyCount.objects.bulk_create(counts, batch_size=2000)
    return len(counts)


def _active_events(start: datetime, end: datetime | None = None):
    events = Event.objects.filter(created_at__gte=start, kind__in=ACTIVE_KINDS, machine=False, user__isnull=False)
    return events.filter(created_at__lt=end) if end else events


def with_rule_by(end: datetime | None) -> Exists:
    """The user (an outer `user_id`) had an alert rule by `end`, or now when None (a deleted one is not seen)."""
    rules = DealAlertRule.objects.filter(user_id=OuterRef("user_id"))
    return Exists(rules.filter(created_at__lt=end) if end else rules)


def sms_on_at(end: datetime | None) -> Exists:
    """The user (an outer `user_id`) had a verified phone that had not said STOP, at `end`, or now when None."""
    phones = Address.objects.filter(user_id=OuterRef("user_id"), channel="sms", verified_at__isnull=False)
    if end is None:
        return Exists(phones.filter(opted_out_at__isnull=True, disabled_at__isnull=True))
    return Exists(
        phones.filter(verified_at__lt=end).filter(
            Q(opted_out_at__isnull=True) | Q(opted_out_at__gte=end),
            Q(disabled_at__isnull=True) | Q(disabled_at__gte=end),
        )
    )


def _count_users(since: date, today: date) -> int:
    """One query per day recounted (two, normally): who was active, and of them who had a rule and SMS then."""
    DailyUsers.objects.filter(day__gte=since).delete()
    rows = []
    day = since
    while day <= today:
        start, end = day_start(day), day_start(day + timedelta(days=1))
        users = _active_events(start, end).values("user_id").distinct()
        figures = (
            users.annotate(has_rule=with_rule_by(end), has_sms=sms_on_at(end))
            .order_by()
            .aggregate(
                active=Count("user_id"),
                with_rule=Count("user_id", filter=Q(has_rule=True)),
                sms_on=Count("user_id", filter=Q(has_sms=True)),
            )
        )
        if figures["active"]:
            rows.append(DailyUsers(day=day, **figures))
        day += timedelta(days=1)
    DailyUsers.objects.bulk_create(rows)
    return len(rows)


def _note_active_users(since: date) -> None:
    last_days = (
        _active_events(day_start(since))
        .values("user_id")
        .annotate(last=Max(TruncDate("created_at", tzinfo=UTC)))
        .order_by()
    )
    ActiveUser.objects.bulk_create(
        [ActiveUser(user_id=row["user_id"], last_active_on=row["last"]) for row in last_days],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["last_active_on"],
        batch_size=5000,
    )
