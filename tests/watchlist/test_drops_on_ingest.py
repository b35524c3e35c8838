"""Price drops found on the ingest path: a re-priced listing's watchers, in one query per batch."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alerts import services as alerts
from notifications.models import Delivery, Kind, Notification
from tests.factories import ListingFactory, UserFactory, raw_listing
from tests.queries import count_queries
from watchlist import services
from watchlist.models import Status, WatchlistItem

NOON_LA = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


@pytest.fixture
def post(staff_api, eager_tasks, django_capture_on_commit_callbacks):
    """Post one listing through the ingest API; what it announces runs at once (matcher, watchlist)."""

    def post(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_api.post("/api/listings", [raw_listing(**fields)], format="json")
        assert response.status_code in (200, 201), response.content
        return response

    return post


def news(user) -> list[tuple[str, str, str, bool]]:
    return [
        (n.kind, n.news, n.headline, n.urgent)
        for n in Notification.objects.filter(user=user).order_by("created_at", "id")
    ]


@pytest.mark.django_db
def test_a_drop_below_the_target_posted_through_ingest_reaches_the_watcher_once(post):
    post(external_id="t14", title="ThinkPad T14", price="380.00", deal_score=0.2)
    listing_id = WatchlistItem._meta.get_field("listing").related_model.objects.get(external_id="t14").pk
    dana, sam = UserFactory(), UserFactory()
    services.watch(dana, ListingFactory._meta.model.objects.get(pk=listing_id), Decimal("320"))
    services.watch(sam, ListingFactory._meta.model.objects.get(pk=listing_id), None)

    post(external_id="t14", title="ThinkPad T14", price="310.00", deal_score=0.2)

    assert news(dana) == [
        (Kind.PRICE_DROP, "drop:310.00", "ThinkPad T14 dropped to $310 (−18%, was $380) — below your $320 target", True)
    ]
    assert news(sam) == [(Kind.PRICE_DROP, "drop:310.00", "ThinkPad T14 dropped to $310 (−18%, was $380)", False)]
    item = WatchlistItem.objects.get(user=dana)
    assert (item.alert_sent, item.last_alert_price, item.lowest_price, item.status) == (
        True,
        Decimal("310.00"),
        Decimal("310.00"),
        Status.ALERTED,
    )
    assert Delivery.objects.filter(notification__user=dana, channel="email").count() == 1

    # The same price again (a connector re-sending it) is no news; a nudge up and down neither.
    post(external_id="t14", title="ThinkPad T14", price="310.00", deal_score=0.2)
    post(external_id="t14", title="ThinkPad T14", price="312.00", deal_score=0.2)
    post(external_id="t14", title="ThinkPad T14", price="309.00", deal_score=0.2)
    assert len(news(dana)) == 1 and len(news(sam)) == 1


@pytest.mark.django_db
def test_a_sold_listing_is_told_once_and_stays_in_the_list_marked_sold(post):
    post(external_id="bike", title="Trek bike", price="400.00", category="bikes")
    listing = WatchlistItem._meta.get_field("listing").related_model.objects.get(external_id="bike")
    dana = UserFactory()
    services.watch(dana, listing, None)

    post(external_id="bike", title="Trek bike", price="400.00", category="bikes", is_active=False)
    post(external_id="bike", title="Trek bike", price="350.00", category="bikes", is_active=False)

    assert [(k, n) for k, n, _, _ in news(dana)] == [(Kind.LISTING_SOLD, "sold")]
    item = WatchlistItem.objects.get()
    assert item.sold_at is not None and item.status == Status.SOLD


@pytest.mark.django_db
def test_a_match_and_a_price_drop_of_one_listing_on_one_day_both_reach_the_user(django_capture_on_commit_callbacks):
    dana = UserFactory()
    alerts.create_rule(dana, name="ThinkPads", keywords=["thinkpad"], max_price=Decimal(500))
    t14 = ListingFactory(title="ThinkPad T14", price=Decimal(380), deal_score=0.2)
    with django_capture_on_commit_callbacks(execute=True):
        alerts.match_listings([t14.pk], now=NOON_LA)
    services.watch(dana, t14, Decimal(320), now=NOON_LA)
    type(t14).objects.filter(pk=t14.pk).update(price=Decimal(300))
    with django_capture_on_commit_callbacks(execute=True):
        services.check_listings([t14.pk], now=NOON_LA + timedelta(hours=1))

    assert [(k, n) for k, n, _, _ in news(dana)] == [(Kind.DEAL_MATCH, "match"), (Kind.PRICE_DROP, "drop:300.00")]
    assert Delivery.objects.filter(notification__user=dana).count() == 2
    # The same drop told again (a retried batch) is merged, never sent twice.
    WatchlistItem.objects.update(alert_sent=False, last_alerted_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.check_listings([t14.pk], now=NOON_LA + timedelta(hours=2))
    assert Delivery.objects.filter(notification__user=dana).count() == 2


@pytest.mark.django_db
def test_finding_the_watchers_of_a_batch_takes_the_same_queries_however_many_there_are():
    def batch(size: int, watchers: int) -> int:
        listings = [ListingFactory(price=Decimal(200)) for _ in range(size)]
        users = [UserFactory() for _ in range(watchers)]
        for listing in listings:
            for user in users:
                services.watch(user, listing, Decimal(150))
        type(listings[0]).objects.filter(pk__in=[x.pk for x in listings]).update(price=Decimal(140))
        return count_queries(lambda: services.check_listings([x.pk for x in listings], now=NOON_LA))

    small = batch(1, 1)
    assert small == batch(6, 3)
    assert Notification.objects.filter(kind=Kind.PRICE_DROP).count() == 1 + 18


@pytest.mark.django_db
def test_a_new_low_held_back_by_the_one_a_day_limit_is_told_the_next_day(django_capture_on_commit_callbacks):
    from django_celery_beat.models import PeriodicTask

    dana = UserFactory(time_zone="America/Los_Angeles")
    t14 = ListingFactory(title="ThinkPad T14", price=Decimal(380))
    services.watch(dana, t14, Decimal(320), now=NOON_LA)
    Listing = type(t14)
    with django_capture_on_commit_callbacks(execute=True):
        Listing.objects.filter(pk=t14.pk).update(price=Decimal(310))
        services.check_listings([t14.pk], now=NOON_LA)
        Listing.objects.filter(pk=t14.pk).update(price=Decimal(250))
        services.check_listings([t14.pk], now=NOON_LA + timedelta(hours=2))  # same local day: held
        assert [n for _, n, _, _ in news(dana)] == ["drop:310.00"]
        services.recheck_recent_alerts(now=NOON_LA + timedelta(hours=3))  # still the same day
        assert len(news(dana)) == 1
        services.recheck_recent_alerts(now=NOON_LA + timedelta(hours=13))  # 01:00 the next day in LA
    assert [n for _, n, _, _ in news(dana)] == ["drop:310.00", "drop:250.00"]
    assert news(dana)[1][2] == "ThinkPad T14 dropped to $250 (−19%, was $310) — below your $320 target, a new low"
    task = PeriodicTask.objects.get(task="watchlist.recheck_recent_alerts")
    assert task.enabled and task.interval.period == "hours"


@pytest.mark.django_db
def test_a_relisted_listing_is_watched_afresh(post):
    post(external_id="bike", title="Trek bike", price="400.00", category="bikes")
    listing = WatchlistItem._meta.get_field("listing").related_model.objects.get(external_id="bike")
    dana = UserFactory()
    services.watch(dana, listing, Decimal("300"))
    post(external_id="bike", title="Trek bike", price="400.00", category="bikes", is_active=False)
    assert WatchlistItem.objects.get().status == Status.SOLD
    # The seller lists it again, cheaper: the item is watched again from that price, not told "sold" again.
    post(external_id="bike", title="Trek bike", price="380.00", category="bikes")
    item = WatchlistItem.objects.get()
    assert (item.sold_at, item.status, item.reference_price) == (None, Status.WATCHING, Decimal("380.00"))
    post(external_id="bike", title="Trek bike", price="290.00", category="bikes")
    assert [k for k, _, _, _ in news(dana)] == [Kind.LISTING_SOLD, Kind.PRICE_DROP]


@pytest.mark.django_db
def test_undo_cannot_pass_the_limit(monkeypatch):
    from watchlist import models as watch_models

    monkeypatch.setattr(services, "MAX_ITEMS_PER_USER", 1)
    monkeypatch.setattr(watch_models, "MAX_ITEMS_PER_USER", 1)
    dana = UserFactory()
    first, _ = services.watch(dana, ListingFactory(price=Decimal(100)), None)
    snapshot = {
        "listing_id": first.listing_id,
        **{f: getattr(first, f) for f in ("created_at", "added_price", "lowest_price", "reference_price")},
    }
    services.unwatch(first)
    services.watch(dana, ListingFactory(price=Decimal(100)), None)
    with pytest.raises(services.WatchError, match="full"):
        services.restore(dana, snapshot)
    assert WatchlistItem.objects.filter(user=dana).count() == 1
