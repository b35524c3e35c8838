from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from listings.models import Listing, PricePoint
from tests.factories import ListingFactory, UserFactory, category, raw_listing

pytestmark = pytest.mark.django_db


def post_listings(client, payload):
    return client.post("/api/listings", payload, format="json")


def test_staff_can_ingest_and_read_back(staff_api):
    response = post_listings(staff_api, [raw_listing()])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["created"] == 1 and body["updated"] == body["repriced"] == body["unchanged"] == 0
    listing_id = body["ids"]["created"][0]

    detail = staff_api.get(f"/api/listings/{listing_id}").json()
    assert detail["title"] == "ThinkPad T14 laptop"
    assert detail["price"] == "249.99"
    assert detail["category"] == "laptops"
    assert detail["latitude"] == pytest.approx(37.77, abs=0.01)
    assert detail["deal_score"] == 0.82
    assert {"id", "longitude", "deal_score_explanation", "first_seen_at", "last_seen_at"} <= detail.keys()


def test_reposting_counts_unchanged_and_repriced(staff_api):
    post_listings(staff_api, [raw_listing(external_id="1"), raw_listing(external_id="2")])
    body = post_listings(staff_api, [raw_listing(external_id="1"), raw_listing(external_id="2", price="199")]).json()
    assert (body["created"], body["repriced"], body["unchanged"]) == (0, 1, 1)


def test_optional_fields_may_be_left_out(staff_api):
    minimal = {k: raw_listing()[k] for k in ("source", "external_id", "url", "title", "price", "category", "zip_code")}
    response = post_listings(staff_api, [minimal])
    assert response.status_code == 200, response.json()
    listing = Listing.objects.get()
    assert (listing.currency, listing.condition, listing.is_active) == ("USD", "", True)


def test_connector_with_ingest_permission_and_token_may_post(api_client):
    from django.contrib.auth.models import Permission

    connector = UserFactory(email="feed@example.com")
    connector.user_permissions.add(Permission.objects.get(codename="ingest_listings"))
    token = Token.objects.create(user=connector)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert post_listings(api_client, [raw_listing()]).status_code == 200


def test_anonymous_ingest_is_401(api_client):
    response = post_listings(api_client, [raw_listing()])
    assert response.status_code == 401
    assert Listing.objects.count() == 0


def test_non_staff_ingest_is_403(api_client, user):
    api_client.force_authenticate(user)
    assert post_listings(api_client, [raw_listing()]).status_code == 403
    assert Listing.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": True}, "price"),
        ({"price": "1.999"}, "price"),
        ({"category": "spaceships"}, "category"),
        ({"condition": "mint"}, "condition"),
        ({"zip_code": "00000"}, "zip_code"),
        ({"zip_code": "9410"}, "zip_code"),
        ({"source": "myspace"}, "source"),
        ({"title": 42}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"deal_score": 1.5}, "deal_score"),
        ({"deal_score": "high"}, "deal_score"),
        ({"is_active": "yes"}, "is_active"),
        ({"posted_at": "yesterday"}, "posted_at"),
        ({"currency": "dollars"}, "currency"),
        ({"external_id": ["7712"]}, "external_id"),
        ({"colour": "red"}, "colour"),
        ({"title": ...}, "title"),
        ({"price": ...}, "price"),
        ({"source": ...}, "source"),
        ({"zip_code": ...}, "zip_code"),
        ({"category": ...}, "category"),
    ],
)
def test_bad_item_is_400_naming_index_and_field_and_writes_nothing(staff_api, overrides, field):
    response = post_listings(
        staff_api, [raw_listing(external_id="ok"), raw_listing(**{"external_id": "bad", **overrides})]
    )
    assert response.status_code == 400
    assert list(response.json()) == ["1"]
    assert field in response.json()["1"]
    assert Listing.objects.count() == 0


def test_duplicate_external_id_in_one_batch_is_400(staff_api):
    response = post_listings(staff_api, [raw_listing(), raw_listing()])
    assert response.status_code == 400
    assert "external_id" in response.json()["1"]
    assert Listing.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [{"not": "a list"}, [], "text", [raw_listing(external_id=str(i)) for i in range(1001)], [1, 2]],
    ids=["object", "empty", "string", "too-many", "not-objects"],
)
def test_malformed_batch_is_400_and_writes_nothing(staff_api, payload):
    response = post_listings(staff_api, payload)
    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert Listing.objects.count() == 0


def test_invalid_json_is_400(staff_api):
    response = staff_api.generic("POST", "/api/listings", "[{", content_type="application/json")
    assert response.status_code == 400


def test_trailing_slash_is_optional(api_client):
    ListingFactory()
    assert api_client.get("/api/listings").status_code == 200
    assert api_client.get("/api/listings/").status_code == 200
    assert api_client.get("/api/categories").status_code == 200


def test_categories_list_the_tree(api_client):
    body = api_client.get("/api/categories").json()
    laptops = next(c for c in body if c["slug"] == "laptops")
    assert laptops == {"slug": "laptops", "name": "Laptops", "parent": "computers"}


class TestFilters:
    @pytest.fixture(autouse=True)
    def listings(self):
        self.thinkpad = ListingFactory(title="ThinkPad T14", price=Decimal("300"), deal_score=0.9)
        self.macbook = ListingFactory(title="MacBook Air", price=Decimal("700"), condition="excellent", deal_score=0.4)
        self.bike = ListingFactory(
            title="Trek road bike",
            category=category("bikes"),
            price=Decimal("500"),
            zip_code="10001",
            latitude=40.7506,
            longitude=-73.9972,
            deal_score=None,
        )
        self.sold = ListingFactory(title="ThinkPad X1", is_active=False)

    def titles(self, client, query):
        response = client.get(f"/api/listings?{query}")
        assert response.status_code == 200, response.json()
        return {r["title"] for r in response.json()["results"]}

    def test_keywords(self, api_client):
        assert self.titles(api_client, "q=thinkpad") == {"ThinkPad T14"}

    def test_parent_category_includes_children(self, api_client):
        assert self.titles(api_client, "category=computers") == {"ThinkPad T14", "MacBook Air"}

    def test_condition(self, api_client):
        assert self.titles(api_client, "condition=excellent") == {"MacBook Air"}

    def test_price_range_is_inclusive(self, api_client):
        assert self.titles(api_client, "min_price=300&max_price=500") == {"ThinkPad T14", "Trek road bike"}

    def test_zip_and_radius(self, api_client):
        assert self.titles(api_client, "zip=94110&radius_mi=10") == {"ThinkPad T14", "MacBook Air"}
        assert self.titles(api_client, "zip=07030&radius_mi=10") == {"Trek road bike"}

    def test_distance_is_reported_and_sortable(self, api_client):
        results = api_client.get("/api/listings?zip=10001&radius_mi=500&sort=distance").json()["results"]
        assert results[0]["title"] == "Trek road bike"
        assert results[0]["distance_mi"] == pytest.approx(0, abs=1)

    def test_min_deal_score_excludes_unscored(self, api_client):
        assert self.titles(api_client, "min_deal_score=0.5") == {"ThinkPad T14"}

    def test_sold_listing_is_not_searched_but_readable(self, api_client):
        assert "ThinkPad X1" not in self.titles(api_client, "")
        assert api_client.get(f"/api/listings/{self.sold.pk}").json()["is_active"] is False

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("min_price=-5", "min_price"),
            ("min_price=9&max_price=1", "max_price"),
            ("zip=00000", "zip"),
            ("radius_mi=10", "zip"),
            ("radius_mi=0&zip=94103", "radius_mi"),
            ("min_deal_score=2", "min_deal_score"),
            ("category=nope", "category"),
            ("condition=mint", "condition"),
            ("sort=random", "sort"),
        ],
    )
    def test_bad_filter_is_400_naming_it(self, api_client, query, field):
        response = api_client.get(f"/api/listings?{query}")
        assert response.status_code == 400
        assert field in response.json()


def test_list_queries_are_constant(api_client):
    ListingFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        api_client.get("/api/listings?category=electronics&zip=94103")
    ListingFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        api_client.get("/api/listings?category=electronics&zip=94103")
    assert len(few) == len(many) <= 4


def test_unknown_listing_is_404(api_client):
    assert api_client.get("/api/listings/999999").status_code == 404


def test_price_history_survives_through_api(staff_api):
    post_listings(staff_api, [raw_listing(price="300")])
    post_listings(staff_api, [raw_listing(price="280")])
    assert list(PricePoint.objects.values_list("price", flat=True)) == [Decimal("300"), Decimal("280")]
