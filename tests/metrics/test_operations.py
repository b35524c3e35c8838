"""What `read_operations` finds: each figure from rows the test writes, and the warnings in words."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from kombu import Connection

from activity.models import Event, Kind
from alerts.models import DealAlertMatch, DealAlertRule
from dealalerts.celery import app as celery_app
from metrics import operations
from notifications.models import Delivery, Notification
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries

from .brokers import folder_broker, publish, redis_broker, sent_minutes_ago  # noqa: F401

pytestmark = pytest.mark.django_db


def trouble(kind: str, *, channel: str = "sms", provider: str = "twilio", minutes_ago: float = 1, detail: str = ""):
    Event.objects.create(
        kind=kind,
        channel=channel,
        provider=provider,
        detail=detail,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def deliveries(count: int, now, *, status: str = "pending", channel: str = "email", minutes_ago: float = 0, **fields):
    user = UserFactory()
    for _ in range(count):
        n = Notification.objects.create(user=user, listing=ListingFactory(), local_day=now.date(), created_at=now)
        Delivery.objects.create(
            notification=n,
            channel=channel,
            status=status,
            dedup_key=f"n{n.pk}-{channel}",
            created_at=now - timedelta(minutes=minutes_ago),
            **fields,
        )


def email_events(sends: int, bounces: int = 0, complaints: int = 0, digests: int = 0) -> None:
    now = timezone.now()
    rows = [Event(kind=Kind.NOTIFICATION_SENT, channel="email", created_at=now) for _ in range(sends)]
    rows += [Event(kind=Kind.DIGEST_SENT, channel="email", created_at=now) for _ in range(digests)]
    rows += [Event(kind=Kind.EMAIL_BOUNCED, created_at=now) for _ in range(bounces)]
    rows += [Event(kind=Kind.EMAIL_COMPLAINED, created_at=now) for _ in range(complaints)]
    # Texts and older sends are not email sends of the window.
    rows.append(Event(kind=Kind.NOTIFICATION_SENT, channel="sms", created_at=now))
    rows.append(Event(kind=Kind.NOTIFICATION_SENT, channel="email", created_at=now - timedelta(days=8)))
    Event.objects.bulk_create(rows)


def rates() -> dict[str, operations.EmailRate]:
    return {r.name: r for r in operations.read_email_rates(timezone.now())}


# --- Queues


@pytest.mark.parametrize("broker", ["redis_broker", "folder_broker"])
def test_a_backed_up_queue_shows_its_depth_and_oldest_message(request, broker, monkeypatch):
    connection = request.getfixturevalue(broker)
    with sent_minutes_ago(monkeypatch, 14):
        publish(connection, "notify", 2)
    publish(connection, "notify", 3)
    publish(connection, "urgent", 1)

    queues = {q.name: q for q in operations.read_queues(connection).queues}

    assert queues["notify"].depth == 5
    assert timedelta(minutes=14) <= queues["notify"].oldest_age < timedelta(minutes=15)
    assert queues["urgent"].depth == 1 and queues["urgent"].oldest_age < timedelta(minutes=1)
    assert queues["ingest"].depth == 0 and queues["ingest"].oldest_age is None
    assert "notify queue: 5 waiting, oldest 14 min" in operations.read_operations(timezone.now()).warnings


def test_redis_counts_every_priority_list_of_a_queue(request, monkeypatch):
    # kombu keeps priorities 3, 6 and 9 in lists of their own beside the plain one.
    connection = request.getfixturevalue("redis_broker")
    channel = connection.default_channel
    publish(connection, "ingest", 1)
    with sent_minutes_ago(monkeypatch, 30):
        celery_app.send_task("listings.anything", queue="ingest", priority=9, connection=connection)
    assert channel.client.llen(channel._q_for_pri("ingest", 9)) == 1

    ingest = next(q for q in operations.read_queues(connection).queues if q.name == "ingest")

    assert ingest.depth == 2
    assert ingest.oldest_age >= timedelta(minutes=30)


def test_a_broker_that_does_not_answer_is_a_warning_not_an_error():
    with Connection("redis://127.0.0.1:1/0", connect_timeout=1) as dead:
        broker = operations.read_queues(dead)
    assert broker.error and broker.queues == ()
    assert operations.warnings_for(
        timezone.now(),
        broker,
        operations.Outbox((), 0, None),
        (),
        (),
        (),
        operations.Ingest(0, 0, 0, 0, 0, None, None),
    )[0].startswith("broker (redis) is not answering")


# --- Outbox


def test_outbox_counts_by_status_and_channel_and_ages_the_oldest_due_delivery():
    now = timezone.now()
    deliveries(2, now, status="pending", channel="email", minutes_ago=12)
    deliveries(1, now, status="deferred", channel="sms", not_before=now - timedelta(minutes=3))
    deliveries(1, now, status="deferred", channel="sms", not_before=now + timedelta(hours=2))  # not due yet
    deliveries(3, now, status="sent", channel="push")
    deliveries(1, now, status="failed", channel="push", minutes_ago=60 * 25)  # finished over a day ago

    outbox = operations.read_outbox(now)

    counts = {(c.status, c.channel): c.count for c in outbox.counts}
    assert counts == {("pending", "email"): 2, ("deferred", "sms"): 2, ("sent", "push"): 3}
    assert outbox.due == 3
    assert outbox.oldest_due_age == timedelta(minutes=12)
    assert "outbox: 3 deliveries due, oldest due 12 min ago" in operations.read_operations(now).warnings


# --- Provider trouble


def test_a_failing_provider_shows_its_counts_and_last_error():
    trouble(Kind.NOTIFICATION_FAILED, minutes_ago=200, detail="Twilio 30003: unreachable handset")
    trouble(Kind.NOTIFICATION_FAILED, minutes_ago=5, detail="Twilio 21211: not a valid phone number")
    trouble(Kind.NOTIFICATION_RETRIED, minutes_ago=2, detail="Twilio answered 503")
    trouble(Kind.NOTIFICATION_FELL_BACK, minutes_ago=1, detail="sms → email")
    trouble(Kind.NOTIFICATION_FAILED, minutes_ago=60 * 30)  # older than a day
    trouble(Kind.NOTIFICATION_RETRIED, channel="email", provider="postmark", minutes_ago=90, detail="timeout")

    found = {(p.channel, p.provider): p for p in operations.read_provider_trouble(timezone.now())}

    sms = found["sms", "twilio"]
    assert (sms.failed_hour, sms.failed_day) == (1, 2)
    assert (sms.retried_hour, sms.retried_day) == (1, 1)
    assert (sms.fell_back_hour, sms.fell_back_day) == (1, 1)
    assert sms.last_error == "Twilio answered 503"  # the newest failure or retry, not the fallback
    email = found["email", "postmark"]
    assert (email.failed_day, email.retried_hour, email.retried_day, email.last_error) == (0, 0, 1, "timeout")
    warnings = operations.read_operations(timezone.now()).warnings
    assert "sms via twilio: 1 failed in the last hour; last error: Twilio answered 503" in warnings
    assert not any("postmark" in w for w in warnings)  # retried, never failed: no warning


# --- Beat


def interval_task(name: str, every: int, period: str = "minutes", **fields) -> PeriodicTask:
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    return PeriodicTask.objects.create(name=name, task="metrics.roll_up", interval=interval, **fields)


def schedule_of(name: str, now):
    return next(s for s in operations.read_schedules(now) if s.name == name)


def test_an_interval_schedule_is_late_past_twice_its_interval_and_beats_write_delay():
    now = timezone.now()
    interval_task("on time", 5, last_run_at=now - timedelta(minutes=14))
    interval_task("late", 5, last_run_at=now - timedelta(minutes=15, seconds=1))
    interval_task("late but off", 5, last_run_at=now - timedelta(hours=3), enabled=False)

    assert schedule_of("on time", now).state == "on time"
    late = schedule_of("late", now)
    assert late.late and late.state == "late"
    assert schedule_of("late but off", now).state == "off" and not schedule_of("late but off", now).late
    warnings = operations.read_operations(now).warnings
    assert "beat schedule late (every 5 minutes) is late: last ran 15 min ago" in warnings


def test_a_schedule_that_never_ran_is_not_yet_until_its_first_run_is_overdue():
    now = timezone.now()
    interval_task("new", 1, period="hours")
    interval_task("stuck", 1, period="hours", start_time=now - timedelta(hours=3))

    assert schedule_of("new", now).state == "not yet"
    stuck = schedule_of("stuck", now)
    assert stuck.late and stuck.last_run_at is None
    assert "beat schedule stuck (every hour) is late: has never run" in operations.read_operations(now).warnings


def test_a_crontab_schedule_is_late_when_a_due_run_was_missed():
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    hourly = CrontabSchedule.objects.create(minute="0", hour="*", timezone="UTC")
    PeriodicTask.objects.create(
        name="ran", task="metrics.roll_up", crontab=hourly, last_run_at=now - timedelta(minutes=30)
    )
    PeriodicTask.objects.create(
        name="missed", task="metrics.roll_up", crontab=hourly, last_run_at=now - timedelta(minutes=90)
    )

    ran, missed = schedule_of("ran", now), schedule_of("missed", now)

    assert ran.state == "on time" and ran.next_due_at == now + timedelta(minutes=30)
    assert missed.late and missed.next_due_at == now - timedelta(minutes=30)


# --- Email reputation


def test_bounces_at_the_two_percent_limit_are_over_and_from_one_percent_a_warning():
    email_events(sends=90, digests=10, bounces=2)  # 2 of 100
    assert rates()["bounces"].level == "over"
    Event.objects.filter(kind=Kind.EMAIL_BOUNCED).first().delete()  # 1 of 100: half the limit
    assert rates()["bounces"].level == "warning"
    email_events(sends=1)  # 1 of 101: under half
    assert rates()["bounces"].level == "ok"


def test_complaints_at_a_tenth_of_a_percent_are_over_and_from_half_that_a_warning():
    email_events(sends=2000, complaints=2)  # 0.1%
    found = rates()["complaints"]
    assert (found.count, found.sends, found.level) == (2, 2000, "over")
    assert "email complaints: 0.10% of 2,000 sends in 7 days, at or over the 0.1% limit ESPs enforce" in (
        operations.read_operations(timezone.now()).warnings
    )
    Event.objects.filter(kind=Kind.EMAIL_COMPLAINED).first().delete()  # 0.05%
    assert rates()["complaints"].level == "warning"
    email_events(sends=1)
    assert rates()["complaints"].level == "ok"
    assert not any("complaints" in w for w in operations.read_operations(timezone.now()).warnings)


def test_no_email_sent_is_no_rate():
    assert {r.level for r in rates().values()} == {"no sends"}


# --- Ingest and matcher lag


def test_ingest_counts_and_matcher_lag_from_arrival_to_matches():
    now = timezone.now()
    rule = DealAlertRule.objects.create(user=UserFactory(), name="Laptops", keywords=["laptop"])
    other = DealAlertRule.objects.create(user=UserFactory(), name="More laptops", keywords=["laptop"])
    arrived = now - timedelta(minutes=3)
    quick = ListingFactory(first_seen_at=arrived, last_seen_at=arrived)
    DealAlertMatch.objects.create(rule=rule, listing=quick, matched_at=arrived + timedelta(seconds=2))
    DealAlertMatch.objects.create(rule=other, listing=quick, matched_at=arrived + timedelta(seconds=4))
    # Arrived in the hour, matched 10 minutes on (a matcher that fell behind).
    late = ListingFactory(first_seen_at=now - timedelta(minutes=50), last_seen_at=now - timedelta(minutes=45))
    DealAlertMatch.objects.create(rule=rule, listing=late, matched_at=now - timedelta(minutes=35))
    # Seen again after it matched: which ingest matched it is no longer known, so it is left out
    # (counting from its first arrival said "a month" for a re-posted listing).
    again = ListingFactory(first_seen_at=now - timedelta(days=29), last_seen_at=now - timedelta(minutes=1))
    DealAlertMatch.objects.create(rule=rule, listing=again, matched_at=now - timedelta(minutes=30))
    # An old listing matched by a new rule or the sweep: not the ingest path's lag.
    old = ListingFactory(first_seen_at=now - timedelta(days=3), last_seen_at=now - timedelta(days=3))
    DealAlertMatch.objects.create(rule=rule, listing=old, matched_at=now - timedelta(minutes=5))
    ListingFactory(first_seen_at=now - timedelta(days=2), last_seen_at=now - timedelta(minutes=20))
    ListingFactory(first_seen_at=now - timedelta(days=2), last_seen_at=now - timedelta(days=1))

    ingest = operations.read_ingest(now)

    assert (ingest.first_seen_5m, ingest.first_seen_1h, ingest.updated_5m, ingest.updated_1h) == (1, 2, 2, 4)
    assert ingest.matched_listings_1h == 2
    assert ingest.matcher_lag_p50 == timedelta(seconds=4)
    assert ingest.matcher_lag_max == timedelta(minutes=10)


# --- Queries


def rows_of_every_kind(count: int, batch: str) -> None:
    now = timezone.now()
    deliveries(count, now, status="pending", minutes_ago=1)
    deliveries(count, now, status="sent", channel="sms")
    for i in range(count):
        trouble(Kind.NOTIFICATION_FAILED, provider=f"provider-{batch}-{i}", detail="refused")
        trouble(Kind.NOTIFICATION_FELL_BACK, provider=f"provider-{batch}-{i}")
        interval_task(f"task {batch} {i}", 1, last_run_at=now - timedelta(minutes=i))
    email_events(sends=count, bounces=1, complaints=1)
    rule = DealAlertRule.objects.create(user=UserFactory(), name="Laptops", keywords=["laptop"])
    for _ in range(count):
        DealAlertMatch.objects.create(rule=rule, listing=ListingFactory(), matched_at=now)


@pytest.mark.usefixtures("folder_broker")
def test_queries_stay_the_same_as_rows_grow():
    rows_of_every_kind(1, "a")
    few = count_queries(lambda: operations.read_operations(timezone.now()))
    rows_of_every_kind(12, "b")
    many = count_queries(lambda: operations.read_operations(timezone.now()))
    assert few == many == 6


def test_durations_read_as_words():
    assert [
        operations.duration(timedelta(seconds=s)) for s in (0, 59, 60, 14 * 60 + 59, 3600, 3 * 3600 + 300, 3 * 86400)
    ] == ["0 s", "59 s", "1 min", "14 min", "1 h", "3 h 5 min", "3 days"]
