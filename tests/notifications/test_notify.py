"""notify: events → notifications and deliveries, in the producer's transaction, with the user's policy."""

from datetime import UTC, datetime, time

import pytest

from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, Notification, NotificationPreferences
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries

NOON_LA = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def rule_event(user, listing, rule_id=1, name="Cheap ThinkPads", **kwargs) -> DealEvent:
    source = RuleSource(rule_id, name, 'mentions "thinkpad"')
    return DealEvent(user_id=user.pk, listing_id=listing.pk, source=source, **kwargs)


def deliveries(user) -> list[tuple[str, str, str]]:
    return [
        (d.channel, d.status, d.reason)
        for d in Delivery.objects.filter(notification__user=user).order_by("notification__created_at", "id")
    ]


@pytest.mark.django_db
def test_every_user_has_default_preferences():
    prefs = UserFactory().notification_preferences
    assert (prefs.channels, prefs.frequency, prefs.max_per_day) == (["email"], "immediate", 10)
    assert prefs.quiet_hours_start is None and prefs.category_filters == []


@pytest.mark.django_db
def test_several_rules_on_one_listing_make_one_notification_naming_them_all(django_capture_on_commit_callbacks):
    user, listing = UserFactory(), ListingFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        created = notify(
            [rule_event(user, listing, 1, "ThinkPads"), rule_event(user, listing, 2, "Laptops")], now=NOON_LA
        )
    assert len(created) == 1 and len(callbacks) == 1  # one enqueue after commit
    notification = Notification.objects.get()
    assert notification.source_names == ["ThinkPads", "Laptops"]
    assert deliveries(user) == [("email", "pending", "sent")]

    # Later that day a third rule matches the same listing: it joins the notification, nothing is sent again.
    assert notify([rule_event(user, listing, 3, "Deals")], now=NOON_LA) == []
    notification.refresh_from_db()
    assert notification.source_names == ["ThinkPads", "Laptops", "Deals"]
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_the_next_local_day_is_a_new_notification():
    user, listing = UserFactory(), ListingFactory()
    notify([rule_event(user, listing)], now=NOON_LA)
    notify([rule_event(user, listing, 2)], now=datetime(2026, 11, 26, 20, 0, tzinfo=UTC))
    assert list(Notification.objects.order_by("id").values_list("local_day", flat=True)) == [
        datetime(2026, 11, 25).date(),
        datetime(2026, 11, 26).date(),
    ]


@pytest.mark.django_db
def test_cap_overflow_is_held_for_the_digest_not_dropped():
    user = UserFactory()
    NotificationPreferences.objects.filter(user=user).update(max_per_day=2)
    listings = [ListingFactory(deal_score=0.5) for _ in range(4)]
    notify([rule_event(user, listing) for listing in listings], now=NOON_LA)
    assert deliveries(user) == [
        ("email", "pending", "sent"),
        ("email", "pending", "sent"),
        ("email", "held", "held for the digest: daily cap of 2 reached"),
        ("email", "held", "held for the digest: daily cap of 2 reached"),
    ]
    assert Notification.objects.filter(counts_toward_cap=True).count() == 2


@pytest.mark.django_db
def test_quiet_hours_frequency_and_categories_apply():
    night_owl, digester, picky = UserFactory(), UserFactory(), UserFactory()
    NotificationPreferences.objects.filter(user=night_owl).update(
        quiet_hours_start=time(11, 0), quiet_hours_end=time(13, 30)
    )
    NotificationPreferences.objects.filter(user=digester).update(frequency="weekly")
    NotificationPreferences.objects.filter(user=picky).update(category_filters=["furniture"])
    listing = ListingFactory(deal_score=0.5)  # a laptop
    notify([rule_event(u, listing) for u in (night_owl, digester, picky)], now=NOON_LA)

    deferred = Delivery.objects.get(notification__user=night_owl)
    assert (deferred.status, deferred.reason) == ("deferred", "deferred to 13:30: quiet hours")
    assert deferred.not_before == datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    assert deliveries(digester) == [("email", "held", "held for the digest: frequency is weekly")]
    assert deliveries(picky) == [("email", "skipped", "skipped: not in your categories")]


@pytest.mark.django_db
def test_urgent_deals_are_marked_and_skip_the_digest_hold():
    user = UserFactory()
    NotificationPreferences.objects.filter(user=user).update(frequency="daily")
    notify([rule_event(user, ListingFactory(deal_score=0.93))], now=NOON_LA)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.urgent, delivery.reason) == ("pending", True, "sent: urgent deal")


@pytest.mark.django_db
def test_notify_queries_are_constant_as_events_grow():
    def queries(users: int, listings: int) -> int:
        people = [UserFactory() for _ in range(users)]
        items = [ListingFactory() for _ in range(listings)]
        events = [rule_event(u, item, rule_id=i) for u in people for i, item in enumerate(items)]
        return count_queries(lambda: notify(events, now=NOON_LA))

    assert queries(1, 1) == queries(4, 6)  # small enough that SQLite needs no second INSERT batch
