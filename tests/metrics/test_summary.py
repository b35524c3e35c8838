"""Each metric computed exactly from a known set of events, through the roll-up and the page's queries."""

from datetime import UTC, datetime, timedelta

import pytest

from activity.log import record
from activity.models import Kind
from alerts.models import DealAlertRule
from metrics import rollup, summary
from metrics.models import DailyCount, DailyUsers
from notifications.models import Address
from tests.factories import UserFactory
from tests.queries import count_queries

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TODAY = NOW - timedelta(hours=1)
LAST_PERIOD = NOW - timedelta(days=40)  # inside the 30-day window before this one


def metric(slug: str, days: int = 30, now: datetime = NOW) -> summary.Metric:
    rollup.roll_up(now=now)
    metrics, _, _ = summary.metrics_for(days, now)
    return next(m for m in metrics if m.slug == slug)


def events(kind: str, n: int, at: datetime = TODAY, **fields) -> None:
    for _ in range(n):
        record(kind, now=at, **fields)


@pytest.mark.django_db
def test_alert_click_through_counts_each_message_once_leaves_machines_out_and_compares_with_the_last_period():
    user = UserFactory()
    for ref in range(1, 11):  # ten messages sent this period
        record(Kind.NOTIFICATION_SENT, now=TODAY, user_id=user.id, ref_id=ref, channel="email")
    # Message 1: a scanner, then the person, then the person again.
    record(Kind.NOTIFICATION_CLICKED, now=TODAY, ref_id=1, channel="email", machine=True, repeat=False)
    record(Kind.NOTIFICATION_CLICKED, now=TODAY, ref_id=1, channel="email", repeat=True, first_human=True)
    record(Kind.NOTIFICATION_CLICKED, now=TODAY, ref_id=1, channel="email", repeat=True)
    # Message 2: the person; message 3: only a scanner.
    record(Kind.NOTIFICATION_CLICKED, now=TODAY, ref_id=2, channel="email", first_human=True)
    record(Kind.NOTIFICATION_CLICKED, now=TODAY, ref_id=3, channel="email", machine=True)
    # The previous period: 1 in 10.
    events(Kind.NOTIFICATION_SENT, 10, at=LAST_PERIOD, channel="sms")
    record(Kind.NOTIFICATION_CLICKED, now=LAST_PERIOD, ref_id=50, channel="sms", first_human=True)

    ctr = metric("alert-click-through")

    assert (ctr.numerator, ctr.denominator) == (2, 10)
    assert ctr.value == pytest.approx(0.2)
    assert ctr.with_machines == pytest.approx(0.3)  # messages 1, 2, 3: first clicks by anyone
    assert ctr.previous == pytest.approx(0.1)
    assert ctr.change == pytest.approx(1.0)
    assert ctr.meets is True  # +100% ≥ +40%
    assert ctr.chart_target == pytest.approx(0.14)


@pytest.mark.django_db
def test_digest_open_rate_is_humans_only_with_the_machine_inclusive_rate_beside_it():
    events(Kind.DIGEST_SENT, 8, channel="email")
    # Digest 1: Apple's proxy on delivery, then the person. Digest 2: the proxy only. Digest 3: the person.
    record(Kind.DIGEST_OPENED, now=TODAY, ref_id=1, machine=True)
    record(Kind.DIGEST_OPENED, now=TODAY, ref_id=1, repeat=True, first_human=True)
    record(Kind.DIGEST_OPENED, now=TODAY, ref_id=2, machine=True)
    record(Kind.DIGEST_OPENED, now=TODAY, ref_id=3, first_human=True)

    opens = metric("digest-open-rate")

    assert opens.value == pytest.approx(2 / 8)
    assert opens.with_machines == pytest.approx(3 / 8)
    assert opens.meets is True  # 25% is the target; "more than" is read as at least


@pytest.mark.django_db
def test_rule_share_and_sms_opt_in_count_active_users_only():
    active = UserFactory.create_batch(5)
    UserFactory.create_batch(3)  # never did anything: not in either share
    for user in active:
        record(Kind.LISTING_VIEWED, now=TODAY, user_id=user.id, listing_id=1, session="s")
    record(Kind.LISTING_VIEWED, now=TODAY, user_id=active[0].id, machine=True)  # machines make nobody active
    for user in active[:3]:
        DealAlertRule.objects.create(user=user, name="Bikes", keywords=["bike"])
    DealAlertRule.objects.update(created_at=NOW - timedelta(days=3))  # the day's share counts rules made by then
    Address.objects.create(user=active[0], channel="sms", key="a", verified_at=NOW - timedelta(days=2))
    Address.objects.create(  # said STOP: not opted in
        user=active[1], channel="sms", key="b", verified_at=NOW - timedelta(days=2), opted_out_at=NOW
    )

    rules, sms = metric("users-with-a-rule"), metric("sms-opt-in-rate")

    assert (rules.numerator, rules.denominator, rules.meets) == (3, 5, True)
    assert (sms.numerator, sms.denominator) == (1, 5)
    assert sms.value == pytest.approx(0.2)
    day = dict(rules.series)[TODAY.date()]
    assert day == pytest.approx(0.6)
    assert DailyUsers.objects.get(day=TODAY.date()).active == 5


@pytest.mark.django_db
def test_deals_per_session_and_its_change():
    events(Kind.SESSION_STARTED, 4)
    events(Kind.LISTING_VIEWED, 12)
    events(Kind.SESSION_STARTED, 5, at=LAST_PERIOD)
    events(Kind.LISTING_VIEWED, 10, at=LAST_PERIOD)

    per_session = metric("deals-per-session")

    assert per_session.value == pytest.approx(3.0)
    assert per_session.previous == pytest.approx(2.0)
    assert per_session.change == pytest.approx(0.5)
    assert per_session.meets is True


@pytest.mark.django_db
def test_recommendation_click_through_against_cards_shown():
    events(Kind.RECOMMENDATION_SHOWN, 20, channel="page")
    record(Kind.RECOMMENDATION_CLICKED, now=TODAY, channel="page", first_human=True)
    record(Kind.RECOMMENDATION_CLICKED, now=TODAY, channel="digest", machine=True)

    recs = metric("recommendation-click-through")

    assert recs.value == pytest.approx(1 / 20)
    assert recs.with_machines == pytest.approx(2 / 20)
    assert recs.meets is False


@pytest.mark.django_db
def test_nothing_yet_is_no_value_not_zero_and_no_verdict():
    metrics, _, _ = summary.metrics_for(30, NOW)
    assert all(m.value is None and m.meets is None for m in metrics)


@pytest.mark.django_db
def test_windows_leave_out_older_days():
    events(Kind.DIGEST_SENT, 4, at=NOW - timedelta(days=10))
    record(Kind.DIGEST_OPENED, now=NOW - timedelta(days=10), first_human=True)
    assert metric("digest-open-rate", days=7).value is None
    assert metric("digest-open-rate", days=30).value == pytest.approx(0.25)


@pytest.mark.django_db
def test_a_backdated_event_is_counted_and_a_second_roll_up_changes_nothing():
    rollup.roll_up(now=NOW)
    record(Kind.DIGEST_SENT, now=NOW - timedelta(days=20))
    rollup.roll_up(now=NOW)
    rows = list(DailyCount.objects.values_list("day", "kind", "count"))
    rollup.roll_up(now=NOW)
    assert list(DailyCount.objects.values_list("day", "kind", "count")) == rows
    assert rows == [((NOW - timedelta(days=20)).date(), Kind.DIGEST_SENT, 1)]


@pytest.mark.django_db
def test_the_pages_reads_are_constant_as_events_grow():
    def reads() -> int:
        rollup.roll_up(now=NOW)
        return count_queries(lambda: summary.metrics_for(90, NOW))

    few = reads()
    for day in range(60):
        user = UserFactory()
        at = NOW - timedelta(days=day)
        record(Kind.NOTIFICATION_SENT, now=at, user_id=user.id, ref_id=day, channel="email")
        record(Kind.LISTING_VIEWED, now=at, user_id=user.id)
        record(Kind.DIGEST_OPENED, now=at, ref_id=day, machine=bool(day % 2))
    assert reads() == few == 4


@pytest.mark.django_db
def test_the_roll_up_makes_the_same_queries_however_many_events_a_day_has():
    rollup.roll_up(now=NOW)

    def one_run(n: int) -> int:
        for _ in range(n):
            user = UserFactory()
            record(Kind.LISTING_VIEWED, now=TODAY, user_id=user.id)
            record(Kind.NOTIFICATION_SENT, now=TODAY, user_id=user.id, channel="push")
        return count_queries(lambda: rollup.roll_up(now=NOW))

    assert one_run(2) == one_run(40)
