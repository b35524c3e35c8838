"""`/api/recommendations`, `/reason`, `/dismissals` and `/api/purchases`, over the real services."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from activity.models import Event, Kind
from listings.models import ListingView
from notifications.models import Notification
from recommendations import services, tasks
from recommendations.models import Dismissal, Purchase, UserRecommendations
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries
from watchlist.models import WatchlistItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def history(user, count=4, title="ASUS ROG gaming laptop", slug="laptops", days_ago=1):
    """`count` listings the user viewed (sold since, so they are not candidates themselves)."""
    for n in range(count):
        listing = ListingFactory(title=f"{title} {n}", category=category(slug), is_active=False)
        ListingView.objects.create(user=user, listing=listing, viewed_at=timezone.now() - timedelta(days=days_ago))


def laptops(count, **fields):
    return [ListingFactory(title=f"MSI gaming laptop {n}", **fields) for n in range(count)]


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["listing"]["id"] for item in response.json()]


def test_ten_deals_each_with_score_reason_and_signals(client, user):
    history(user)
    laptops(6)
    for slug in ("monitors", "bikes", "sofas"):
        for n in range(3):
            ListingFactory(title=f"thing {n}", category=category(slug))
    body = client.get("/api/recommendations").json()
    assert len(body) == 10
    first = body[0]
    assert first["rank"] == 1 and first["score"] > 0
    assert first["reason"].startswith("You viewed 4 gaming laptops this week")
    assert {s["signal"] for s in first["signals"]} >= {"browsing", "deal"}
    assert set(first["listing"]) >= {"id", "title", "price", "category", "url", "deal_score"}
    assert sum(1 for item in body if item["listing"]["category"] == "laptops") == 3, "diversified"
    shown = Event.objects.filter(user=user, kind=Kind.RECOMMENDATION_SHOWN, channel="api")
    assert sorted(shown.values_list("rank", flat=True)) == list(range(1, 11))
    assert client.get("/api/recommendations/").status_code == 200, "with or without a trailing slash"


def test_never_sold_stale_bought_dismissed_watched_viewed_or_alerted_today(client, user):
    history(user)
    keep = ListingFactory(title="MSI gaming laptop keep")
    sold = ListingFactory(title="MSI gaming laptop sold", is_active=False)
    stale = ListingFactory(title="MSI gaming laptop stale", first_seen_at=timezone.now() - timedelta(days=22))
    bought, dismissed, watched, viewed, alerted = laptops(5)
    Purchase.objects.create(user=user, listing=bought, created_at=timezone.now())
    Dismissal.objects.create(user=user, listing=dismissed, created_at=timezone.now())
    WatchlistItem.objects.create(
        user=user,
        listing=watched,
        created_at=timezone.now(),
        added_price=watched.price,
        lowest_price=watched.price,
        reference_price=watched.price,
    )
    ListingView.objects.create(user=user, listing=viewed)
    Notification.objects.create(
        user=user,
        listing=alerted,
        local_day=timezone.now().astimezone(user.time_zone).date(),
        created_at=timezone.now(),
    )
    assert ids(client.get("/api/recommendations")) == [keep.id]
    del sold, stale


def test_a_list_cached_before_a_sale_or_an_alert_still_leaves_them_out(client, user):
    history(user)
    first, second, third = laptops(3)
    services.refresh([user.id])
    first.is_active = False
    first.save()
    Notification.objects.create(
        user=user,
        listing=second,
        local_day=timezone.now().astimezone(user.time_zone).date(),
        created_at=timezone.now(),
    )
    assert ids(client.get("/api/recommendations")) == [third.id]


def test_a_new_user_gets_good_deals_near_home_in_popular_categories(client, user):
    someone = UserFactory()
    for n in range(5):
        ListingView.objects.create(
            user=someone, listing=ListingFactory(title=f"monitor {n}", category=category("monitors"), is_active=False)
        )
    near = ListingFactory(title="Dell monitor", category=category("monitors"), deal_score=0.8)
    far = ListingFactory(
        title="LG monitor", category=category("monitors"), deal_score=0.8, latitude=40.7, longitude=-74
    )
    sofa = ListingFactory(title="sofa", category=category("sofas"), deal_score=0.8)
    body = client.get("/api/recommendations").json()
    assert [item["listing"]["id"] for item in body] == [near.id, far.id, sofa.id]
    assert body[0]["reason"].startswith("Popular in Monitors this week")


def test_not_interested_removes_the_card_and_undo_brings_it_back(client, user):
    history(user)
    first, second = laptops(2)
    assert set(ids(client.get("/api/recommendations"))) == {first.id, second.id}
    assert post(client, "/api/recommendations/dismissals", {"listing_id": first.id}).status_code == 201
    assert post(client, "/api/recommendations/dismissals", {"listing_id": first.id}).status_code == 200
    assert ids(client.get("/api/recommendations")) == [second.id], "the stale list was recomputed"
    assert client.delete(f"/api/recommendations/dismissals/{first.id}").status_code == 204
    assert client.delete(f"/api/recommendations/dismissals/{first.id}").status_code == 404
    assert set(ids(client.get("/api/recommendations"))) == {first.id, second.id}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"listing_id": "12"},
        {"listing_id": True},
        {"listing_id": 0},
        {"listing_id": 2**63},
        {"listing_id": 1, "x": 1},
    ],
)
def test_bad_dismissals_and_purchases_name_the_field(client, body):
    for path in ("/api/recommendations/dismissals", "/api/purchases"):
        response = post(client, path, body)
        assert response.status_code == 400, (path, body)
        assert set(response.json()) <= {"listing_id", "x"} and response.json()


def test_an_unknown_listing_is_a_400_naming_it(client):
    for path in ("/api/recommendations/dismissals", "/api/purchases"):
        response = post(client, path, {"listing_id": 987654})
        assert response.status_code == 400 and "listing_id" in response.json()


def test_purchases_mark_list_and_unmark(client, user):
    listing = ListingFactory(is_active=False)  # bought, so sold: still markable
    created = post(client, "/api/purchases", {"listing_id": listing.id})
    assert created.status_code == 201 and created.json()["listing"]["id"] == listing.id
    assert post(client, "/api/purchases", {"listing_id": listing.id}).status_code == 200
    assert [p["listing"]["id"] for p in client.get("/api/purchases").json()["results"]] == [listing.id]
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert other.delete(f"/api/purchases/{listing.id}").status_code == 404, "another user's purchase"
    assert client.delete(f"/api/purchases/{listing.id}").status_code == 204
    assert not Purchase.objects.exists()
    assert client.delete(f"/api/purchases/{2**70}").status_code == 404


def test_reason_for_any_active_listing(client, user):
    history(user)
    listing = ListingFactory(title="MSI gaming laptop", deal_score_explanation="38% below the median")
    body = client.get(f"/api/recommendations/reason?listing_id={listing.id}").json()
    assert body["reason"].startswith("You viewed 4 gaming laptops this week · 38% below similar listings")
    assert {s["signal"] for s in body["signals"]} >= {"browsing", "deal"}
    assert all(isinstance(s["weight"], float) and s["label"] for s in body["signals"])


def test_reason_of_a_listed_recommendation_is_the_one_shown(client, user):
    history(user)
    laptops(2)
    shown = client.get("/api/recommendations").json()[0]
    body = client.get(f"/api/recommendations/reason?listing_id={shown['listing']['id']}").json()
    assert body == {"reason": shown["reason"], "signals": shown["signals"]}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?listing_id=",
        "?listing_id=abc",
        "?listing_id=1.5",
        "?listing_id=0",
        f"?listing_id={2**64}",
        "?listing_id=1&x=2",
    ],
)
def test_reason_bad_inputs_are_400_naming_the_field(client, query):
    response = client.get(f"/api/recommendations/reason{query}")
    assert response.status_code == 400
    assert set(response.json()) & {"listing_id", "x"}


def test_reason_of_an_unknown_or_sold_listing_is_404(client):
    assert client.get("/api/recommendations/reason?listing_id=987654").status_code == 404
    sold = ListingFactory(is_active=False)
    assert client.get(f"/api/recommendations/reason?listing_id={sold.id}").status_code == 404


def test_anonymous_is_refused():
    assert APIClient().get("/api/recommendations").status_code == 401
    assert APIClient().get("/api/recommendations/reason?listing_id=1").status_code == 401


def test_queries_stay_constant_as_history_grows(client, user):
    history(user, count=2)
    laptops(12)
    services.refresh([user.id])
    small = count_queries(lambda: client.get("/api/recommendations"))
    history(user, count=30, title="Trek road bike", slug="bikes")
    laptops(12)
    services.refresh([user.id])
    assert count_queries(lambda: client.get("/api/recommendations")) == small


def test_a_refresh_batch_takes_the_same_queries_for_more_users_and_more_history():
    laptops(12)
    few = [UserFactory() for _ in range(2)]
    for shopper in few:
        history(shopper, count=1)
    services.refresh([u.id for u in few])  # the pool and the similar-users model are built once a while
    small = count_queries(lambda: services.refresh([u.id for u in few]))
    many = [UserFactory() for _ in range(8)]
    for shopper in many:
        history(shopper, count=6)
        WatchlistItem.objects.create(
            user=shopper,
            listing=ListingFactory(title="ThinkPad"),
            created_at=timezone.now(),
            added_price=1,
            lowest_price=1,
            reference_price=1,
        )
    assert count_queries(lambda: services.refresh([u.id for u in many])) == small
    assert UserRecommendations.objects.count() == 10


def test_the_beat_task_refreshes_missing_stale_and_old_lists(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    laptops(3)
    fresh, stale, old, missing = (UserFactory() for _ in range(4))
    services.refresh([fresh.id, stale.id, old.id])
    services.mark_stale(stale)
    UserRecommendations.objects.filter(user=old).update(computed_at=timezone.now() - services.LIST_MAX_AGE)
    assert set(services.users_due(100)) == {stale.id, old.id, missing.id}
    tasks.refresh_batch([stale.id, old.id, missing.id])
    assert services.users_due(100) == []


def test_browsing_since_a_list_was_made_refreshes_it_after_a_few_minutes(client, user):
    laptops(2)
    ListingFactory(title="Trek road bike", category=category("bikes"))
    services.refresh([user.id])
    history(user, count=3, title="Trek road bike", slug="bikes", days_ago=0)
    cached = UserRecommendations.objects.get(user=user)
    client.get("/api/recommendations")
    assert UserRecommendations.objects.get(user=user).computed_at == cached.computed_at, "within the grace"
    UserRecommendations.objects.filter(user=user).update(computed_at=timezone.now() - timedelta(minutes=6))
    body = client.get("/api/recommendations").json()
    assert body[0]["listing"]["title"] == "Trek road bike"
    assert body[0]["reason"].startswith("You viewed 3 Trek bikes this week")
