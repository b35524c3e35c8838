"""`/api/watchlist` and `/api/watchlist/items`: watch, retarget, remove, list sorted and filtered."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from listings.models import PricePoint
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries
from watchlist import services
from watchlist.models import WatchlistItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(client, body, path="/api/watchlist/items"):
    # Encoded here (ASCII escapes), so a lone surrogate reaches the server as a client would send it.
    return client.post(path, json.dumps(body), content_type="application/json")


def test_watch_then_rewatch_updates_the_target_and_the_list_shows_it(shopper, user):
    listing = ListingFactory(title="ThinkPad T14", price=Decimal(380))
    created = post(shopper, {"listing_id": listing.pk, "price_alert_threshold": 320})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["price_alert_threshold"] == "320.00" and body["status"] == "watching"
    assert body["listing"]["title"] == "ThinkPad T14" and body["current_price"] == "380.00"
    assert [p["price"] for p in body["price_history"]] == ["380.00"]

    again = post(shopper, {"listing_id": listing.pk, "price_alert_threshold": 300}, "/api/watchlist/items/")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["price_alert_threshold"] == "300.00"
    assert WatchlistItem.objects.filter(user=user).count() == 1

    Listing = type(listing)
    Listing.objects.filter(pk=listing.pk).update(price=Decimal(342))
    PricePoint.objects.create(listing=listing, price=Decimal(342), recorded_at=timezone.now())
    for path in ("/api/watchlist", "/api/watchlist/"):
        page = shopper.get(path)
        assert page.status_code == 200
        (item,) = page.json()["results"]
        assert item["change_amount"] == "-38.00" and item["change_percent"] == "-10.0"
        assert item["added_price"] == "380.00" and item["lowest_price"] == "380.00"
        assert [p["price"] for p in item["price_history"]] == ["380.00", "342.00"]
    # Not a whole percent: exact on every database (SQLite would divide whole dollars as integers).
    Listing.objects.filter(pk=listing.pk).update(price=Decimal(263))
    (item,) = shopper.get("/api/watchlist?sort=drop").json()["results"]
    assert item["change_percent"] == "-30.8"


def test_no_threshold_means_any_drop_and_patch_sets_and_clears_it(shopper):
    listing = ListingFactory(price=Decimal(380))
    item_id = post(shopper, {"listing_id": listing.pk}).json()["id"]
    url = f"/api/watchlist/items/{item_id}"
    assert shopper.get("/api/watchlist").json()["results"][0]["price_alert_threshold"] is None
    response = shopper.patch(url, {"price_alert_threshold": "250.5"}, format="multipart")  # a form sends text
    assert response.status_code == 200 and response.json()["price_alert_threshold"] == "250.50"
    response = shopper.patch(url + "/", {"price_alert_threshold": None}, format="json")
    assert response.status_code == 200 and response.json()["price_alert_threshold"] is None
    assert shopper.patch(url, {"price_alert_threshold": 400}, format="json").json() == {
        "price_alert_threshold": [
            "The price is already $380, at or below your target of $400: choose a lower target, "
            "or leave it empty for any drop."
        ]
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "listing_id"),
        ({"listing_id": 999999}, "listing_id"),
        ({"listing_id": "LISTING"}, "listing_id"),
        ({"listing_id": "1"}, "listing_id"),
        ({"listing_id": True}, "listing_id"),
        ({"listing_id": 1.5}, "listing_id"),
        ({"listing_id": 10**30}, "listing_id"),
        ({"listing_id": -1}, "listing_id"),
        ({"listing_id": None}, "listing_id"),
        ({"listing_id": [1]}, "listing_id"),
        ({"listing_id": "a\x00b"}, "listing_id"),
        ({"listing_id": "\ud800"}, "listing_id"),
        ({"LISTING": 1, "price_alert_threshold": 300}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": "300"}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": True}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": 0}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": -5}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": 1e300}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": 10**40}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": 12.345}, "price_alert_threshold"),
        ({"LISTING": 1, "price_alert_threshold": {"a": 1}}, "price_alert_threshold"),
        ({"LISTING": 1, "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(shopper, body, field):
    listing = ListingFactory(price=Decimal(380))
    if "LISTING" in body:
        body = {"listing_id": listing.pk, **{k: v for k, v in body.items() if k != "LISTING"}}
        if "price_alert_threshold" in body and body["price_alert_threshold"] == 300:
            body["price_alert_threshold"] = 380  # at the price: already met
    response = post(shopper, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not WatchlistItem.objects.exists()


def test_deep_json_and_a_non_object_body_are_400s(shopper):
    deep: dict = {}
    for _ in range(100):
        deep = {"a": deep}
    assert post(shopper, {"listing_id": deep}).status_code == 400
    assert post(shopper, [1, 2]).status_code == 400
    response = shopper.post("/api/watchlist/items", b"{", content_type="application/json")
    assert response.status_code == 400


def test_a_sold_listing_cannot_be_watched(shopper):
    listing = ListingFactory(is_active=False)
    response = post(shopper, {"listing_id": listing.pk})
    assert response.status_code == 400 and "sold" in response.json()["listing_id"][0]


def test_at_most_500_items(shopper, user, monkeypatch):
    monkeypatch.setattr(services, "MAX_ITEMS_PER_USER", 3)
    listings = [ListingFactory() for _ in range(4)]
    for listing in listings[:3]:
        assert post(shopper, {"listing_id": listing.pk}).status_code == 201
    response = post(shopper, {"listing_id": listings[3].pk})
    assert response.status_code == 400 and "full (3 items)" in response.json()["listing_id"][0]
    # Re-watching a listing already on a full list still changes its target.
    assert post(shopper, {"listing_id": listings[0].pk, "price_alert_threshold": 100}).status_code == 200


def test_the_real_cap_is_500(shopper, user):
    from watchlist.models import MAX_ITEMS_PER_USER

    assert MAX_ITEMS_PER_USER == 500
    listings = [ListingFactory.build(external_id=f"cap-{n}") for n in range(501)]
    saved = type(listings[0]).objects.bulk_create(listings)
    now = timezone.now()
    WatchlistItem.objects.bulk_create(
        WatchlistItem(
            user=user, listing=x, created_at=now, added_price=x.price, lowest_price=x.price, reference_price=x.price
        )
        for x in saved[:500]
    )
    response = post(shopper, {"listing_id": saved[500].pk})
    assert response.status_code == 400 and "full (500 items)" in response.json()["listing_id"][0]


def test_another_users_item_is_a_404(shopper):
    theirs, _ = services.watch(UserFactory(), ListingFactory(price=Decimal(380)), None)
    url = f"/api/watchlist/items/{theirs.pk}"
    assert shopper.get(url).status_code == 405  # there is no single-item GET (the list has them all)
    assert shopper.patch(url, {"price_alert_threshold": 100}, format="json").status_code == 404
    assert shopper.delete(url).status_code == 404
    assert shopper.get("/api/watchlist").json()["results"] == []
    assert WatchlistItem.objects.filter(pk=theirs.pk, price_threshold=None).exists()


def test_delete_removes_only_that_item(shopper, user):
    mine, _ = services.watch(user, ListingFactory(), None)
    other, _ = services.watch(user, ListingFactory(), None)
    assert shopper.delete(f"/api/watchlist/items/{mine.pk}/").status_code == 204
    assert list(WatchlistItem.objects.values_list("pk", flat=True)) == [other.pk]
    assert shopper.delete(f"/api/watchlist/items/{mine.pk}").status_code == 404


def test_anonymous_is_refused():
    client = APIClient()
    assert client.get("/api/watchlist").status_code == 401
    assert client.post("/api/watchlist/items", {"listing_id": 1}, format="json").status_code == 401


def _watch_at(user, price, added, days_ago, threshold=None, **listing):
    item, _ = services.watch(user, ListingFactory(price=Decimal(added), **listing), threshold)
    type(item.listing).objects.filter(pk=item.listing_id).update(price=Decimal(price))
    WatchlistItem.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return item


def titles(client, query=""):
    response = client.get("/api/watchlist" + query)
    assert response.status_code == 200, response.content
    return [item["listing"]["title"] for item in response.json()["results"]]


def test_sorts_and_filters(shopper, user):
    now = timezone.now()
    _watch_at(user, 90, 100, 3, title="small drop", posted_at=now - timedelta(days=1))
    _watch_at(user, 50, 100, 1, threshold=Decimal(60), title="big drop", posted_at=now - timedelta(days=9))
    _watch_at(user, 400, 400, 2, title="bike", category=category("bikes"), posted_at=now - timedelta(days=5))
    assert titles(shopper) == ["big drop", "bike", "small drop"]  # date added, newest first
    assert titles(shopper, "?sort=drop") == ["big drop", "small drop", "bike"]
    assert titles(shopper, "?sort=price") == ["big drop", "small drop", "bike"]
    assert titles(shopper, "?sort=-price") == ["bike", "small drop", "big drop"]
    assert titles(shopper, "?sort=ending") == ["big drop", "bike", "small drop"]  # oldest listing first
    assert titles(shopper, "?category=electronics") == ["big drop", "small drop"]  # laptops is under it
    assert titles(shopper, "?category=bikes") == ["bike"]
    assert titles(shopper, "?at_or_below_target=true") == ["big drop"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?sort=cheapest", "sort"), ("?category=nope", "category"), ("?at_or_below_target=maybe", "at_or_below_target")],
)
def test_bad_sort_or_filter_is_a_400_naming_it(shopper, query, field):
    response = shopper.get("/api/watchlist" + query)
    assert response.status_code == 400 and field in response.json()


def test_the_list_takes_the_same_queries_for_2_items_or_20(shopper, user):
    def add(n):
        for _ in range(n):
            item, _ = services.watch(user, ListingFactory(), None)
            PricePoint.objects.create(listing=item.listing, price=Decimal(250), recorded_at=timezone.now())

    add(2)
    few = count_queries(lambda: shopper.get("/api/watchlist?sort=drop&category=electronics"))
    add(18)
    assert len(shopper.get("/api/watchlist").json()["results"]) == 20
    assert count_queries(lambda: shopper.get("/api/watchlist?sort=drop&category=electronics")) == few
