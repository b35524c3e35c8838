"""`/api/watchlist`: the seed's endpoints, their bad inputs, other users' items, and constant queries."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from listings.models import PricePoint
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries
from watchlist import services
from watchlist.models import MAX_ITEMS_PER_USER, WatchlistItem


@pytest.fixture
def dana(db):
    return UserFactory()


@pytest.fixture
def api(dana) -> APIClient:
    client = APIClient()
    client.force_authenticate(dana)
    return client


def test_watch_a_listing_then_see_it_with_its_change_and_history(api, dana):
    t14 = ListingFactory(title="ThinkPad T14", price=Decimal(380))
    response = api.post("/api/watchlist/items", {"listing_id": t14.pk, "price_alert_threshold": "320"}, format="json")
    assert response.status_code == 201, response.json()
    item = response.json()
    assert (item["listing"]["title"], item["price_alert_threshold"], item["current_price"], item["status"]) == (
        "ThinkPad T14",
        "320.00",
        "380.00",
        "watching",
    )
    # The price falls; the list shows the change since added and the history.
    type(t14).objects.filter(pk=t14.pk).update(price=Decimal(310))
    PricePoint.objects.create(listing=t14, price=Decimal(310), recorded_at=t14.first_seen_at)
    listed = api.get("/api/watchlist").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["change_amount"], row["change_percent"], row["at_or_below_target"]) == ("-70.00", -18.4, True)
    assert [p["price"] for p in row["price_history"]] == ["380.00", "310.00"]
    assert api.get("/api/watchlist/").status_code == 200  # trailing slash optional


def test_watching_again_updates_the_target_and_patch_changes_it(api, dana):
    t14 = ListingFactory(price=Decimal(380))
    first = api.post("/api/watchlist/items/", {"listing_id": t14.pk}, format="json")
    assert first.status_code == 201 and first.json()["price_alert_threshold"] is None
    again = api.post("/api/watchlist/items", {"listing_id": t14.pk, "price_alert_threshold": 300}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["price_alert_threshold"] == "300.00"
    patched = api.patch(f"/api/watchlist/items/{first.json()['id']}", {"price_alert_threshold": None}, format="json")
    assert patched.status_code == 200 and patched.json()["price_alert_threshold"] is None
    assert WatchlistItem.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({}, "listing_id", "required"),
        ({"listing_id": "abc"}, "listing_id", "valid integer"),
        ({"listing_id": True}, "listing_id", "valid integer"),
        ({"listing_id": 1.5}, "listing_id", "valid integer"),
        ({"listing_id": 10**30}, "listing_id", "less than or equal"),
        ({"listing_id": 999999}, "listing_id", "No such listing"),
        ({"listing_id": "LISTING", "price_alert_threshold": "380"}, "price_alert_threshold", "already $380"),
        ({"listing_id": "LISTING", "price_alert_threshold": "400"}, "price_alert_threshold", "already $380"),
        ({"listing_id": "LISTING", "price_alert_threshold": "0"}, "price_alert_threshold", "above $0"),
        ({"listing_id": "LISTING", "price_alert_threshold": "-5"}, "price_alert_threshold", "above $0"),
        ({"listing_id": "LISTING", "price_alert_threshold": "NaN"}, "price_alert_threshold", "valid number"),
        ({"listing_id": "LISTING", "price_alert_threshold": "cheap"}, "price_alert_threshold", "valid number"),
        ({"listing_id": "LISTING", "price_alert_threshold": "1e30"}, "price_alert_threshold", "digits"),
        ({"listing_id": "LISTING", "price_alert_threshold": "3.001"}, "price_alert_threshold", "decimal places"),
        ({"listing_id": "SOLD"}, "listing_id", "sold"),
    ],
)
def test_bad_inputs_are_400s_naming_the_field_and_write_nothing(api, payload, field, words):
    listing = ListingFactory(price=Decimal(380))
    sold = ListingFactory(is_active=False)
    payload = {
        k: {"LISTING": listing.pk, "SOLD": sold.pk}.get(v, v) if k == "listing_id" else v for k, v in payload.items()
    }
    response = api.post("/api/watchlist/items", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert words in " ".join(response.json()[field])
    assert not WatchlistItem.objects.exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"listing_id": 1, "price_alert_threshold": "3\\u0000"}', ""),
        ('{"listing_id": "\\ud800"}', ""),
        ("[" * 200 + "]" * 200, ""),
    ],
)
def test_hostile_bodies_are_400s(api, body, words):
    response = api.generic("POST", "/api/watchlist/items", body, content_type="application/json")
    assert response.status_code == 400
    assert not WatchlistItem.objects.exists()


def test_patch_bad_targets_and_sold_items(api, dana):
    t14 = ListingFactory(price=Decimal(380))
    item, _ = services.watch(dana, t14, None)
    url = f"/api/watchlist/items/{item.pk}"
    assert api.patch(url, {}, format="json").json() == {"price_alert_threshold": ["This field is required."]}
    response = api.patch(url, {"price_alert_threshold": "500"}, format="json")
    assert response.status_code == 400 and "already $380" in response.json()["price_alert_threshold"][0]
    type(t14).objects.filter(pk=t14.pk).update(is_active=False)
    response = api.patch(url, {"price_alert_threshold": "300"}, format="json")
    assert response.status_code == 400 and "sold" in response.json()["price_alert_threshold"][0]
    item.refresh_from_db()
    assert item.price_threshold is None


def test_another_users_item_is_a_404_and_is_left_alone(api, dana):
    sam = UserFactory()
    item, _ = services.watch(sam, ListingFactory(price=Decimal(100)), None)
    url = f"/api/watchlist/items/{item.pk}"
    assert api.get(url).status_code == 404
    assert api.patch(url, {"price_alert_threshold": "50"}, format="json").status_code == 404
    assert api.delete(url).status_code == 404
    assert api.delete("/api/watchlist/items/abc").status_code == 404
    assert WatchlistItem.objects.filter(pk=item.pk, price_threshold=None).exists()
    assert api.get("/api/watchlist").json()["count"] == 0
    mine, _ = services.watch(dana, ListingFactory(price=Decimal(100)), None)
    assert api.delete(f"/api/watchlist/items/{mine.pk}").status_code == 204
    assert not WatchlistItem.objects.filter(pk=mine.pk).exists()


def test_anonymous_is_401(db):
    assert APIClient().get("/api/watchlist").status_code == 401
    assert APIClient().post("/api/watchlist/items", {"listing_id": 1}, format="json").status_code == 401


def test_at_most_500_items(api, dana):
    listings = [ListingFactory.build(price=Decimal(10)) for _ in range(MAX_ITEMS_PER_USER)]
    for i, listing in enumerate(listings):
        listing.external_id = f"cap-{i}"
    saved = type(listings[0]).objects.bulk_create(listings)
    WatchlistItem.objects.bulk_create(
        WatchlistItem(
            user=dana,
            listing=listing,
            created_at=listing.first_seen_at,
            added_price=listing.price,
            lowest_price=listing.price,
            reference_price=listing.price,
        )
        for listing in saved
    )
    response = api.post("/api/watchlist/items", {"listing_id": ListingFactory().pk}, format="json")
    assert response.status_code == 400 and "full (500 items)" in response.json()["listing_id"][0]
    # Re-watching one already there is an update, not a new item.
    assert api.post("/api/watchlist/items", {"listing_id": saved[0].pk}, format="json").status_code == 200


def test_sort_and_filter_as_the_page_does(api, dana):
    laptops, bikes = category("laptops"), category("bikes")
    cheap = ListingFactory(title="cheap", price=Decimal(100), category=laptops)
    dear = ListingFactory(title="dear", price=Decimal(900), category=laptops)
    bike = ListingFactory(title="bike", price=Decimal(300), category=bikes)
    for listing in (cheap, dear, bike):
        services.watch(dana, listing, Decimal(860) if listing is dear else None)
    type(cheap).objects.filter(pk=bike.pk).update(price=Decimal(150))  # −50%
    type(cheap).objects.filter(pk=dear.pk).update(price=Decimal(850))  # −5.6%

    def titles(query: str) -> list[str]:
        response = api.get(f"/api/watchlist?{query}")
        assert response.status_code == 200, response.json()
        return [row["listing"]["title"] for row in response.json()["results"]]

    assert titles("sort=drop") == ["bike", "dear", "cheap"]
    assert titles("sort=price") == ["cheap", "bike", "dear"]
    assert titles("sort=-price") == ["dear", "bike", "cheap"]
    assert titles("") == ["bike", "dear", "cheap"]  # newest added first
    assert titles("category=computers&sort=price") == ["cheap", "dear"]  # a parent includes its children
    assert titles("at_or_below_target=true") == ["dear"]
    for bad, param in (
        ("sort=cheapest", "sort"),
        ("category=nope", "category"),
        ("at_or_below_target=2", "at_or_below_target"),
    ):
        response = api.get(f"/api/watchlist?{bad}")
        assert response.status_code == 400 and list(response.json()) == [param]


def test_the_list_takes_the_same_queries_however_many_items(api, dana):
    def queries() -> int:
        return count_queries(lambda: api.get("/api/watchlist?sort=drop").json())

    services.watch(dana, ListingFactory(price=Decimal(100)), None)
    one = queries()
    for _ in range(8):
        listing = ListingFactory(price=Decimal(200))
        PricePoint.objects.create(listing=listing, price=Decimal(190), recorded_at=listing.first_seen_at)
        services.watch(dana, listing, Decimal(150))
    assert queries() == one
