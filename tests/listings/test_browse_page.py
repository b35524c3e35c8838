"""The browse page never shows a blank: empty searches, filter errors in words, and the home ZIP."""

import html
import re
from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from tests.factories import ListingFactory, UserFactory, category

pytestmark = pytest.mark.django_db

NYC = {"zip_code": "10001", "latitude": 40.7506, "longitude": -73.9972}


def results(client, **params) -> str:
    return client.get("/", params, headers={"HX-Request": "true"}).content.decode()


def links(page: str) -> dict[str, str]:
    """Link text -> href, for the simple one-line links of the results fragment."""
    return {
        html.unescape(text.strip()): html.unescape(href)
        for href, text in re.findall(r'<a[^>]*href="([^"]*)"[^>]*>(?:<svg.*?</svg>)?([^<]*)</a>', page)
    }


def test_empty_search_says_what_was_searched_and_offers_the_alert(client, django_assert_max_num_queries):
    ListingFactory(title="Trek road bike", category=category("bikes"))
    with django_assert_max_num_queries(6):
        page = results(client, q="unicycle", category="bikes", max_price="200", zip="94103")

    assert "0 listings" in page
    assert "No listings match “unicycle” in Bikes, under $200, within 25 miles of 94103" in page
    found = links(page)
    alert = parse_qs(found["Alert me on this search"].split("?", 1)[1])
    assert found["Alert me on this search"].startswith("/alerts/new/?")
    assert alert == {"q": ["unicycle"], "category": ["bikes"], "max_price": ["200"], "zip": ["94103"]}
    # Each suggestion widens one filter and keeps the rest.
    assert parse_qs(found["Search within 50 miles"][1:])["radius_mi"] == ["50"]
    assert "zip" not in parse_qs(found["Search everywhere"][1:])  # zip= (empty) stays explicit
    assert "zip=&" in found["Search everywhere"] or found["Search everywhere"].endswith("zip=")
    assert "max_price" not in parse_qs(found["Any price"][1:])
    assert "category" not in parse_qs(found["All categories"][1:])
    assert "q" not in parse_qs(found["Clear the keywords"][1:])
    assert found["Clear all filters"] == "/?zip="


def test_a_suggestion_finds_what_the_search_missed(client):
    ListingFactory(title="Trek road bike", price=Decimal("450"), category=category("bikes"))
    page = results(client, q="bike", max_price="200")
    assert "No listings match “bike” under $200" in page
    widened = client.get("/" + links(page)["Any price"]).content.decode()
    assert "Trek road bike" in widened


def test_full_page_empty_state_is_shown_without_htmx(client):
    ListingFactory(title="Trek road bike")
    page = client.get("/?q=unicycle").content.decode()
    assert 'id="filters"' in page and "No listings match “unicycle”" in page and "Alert me on this search" in page


def test_empty_database_says_no_listings_yet(client):
    page = results(client)
    assert "No listings yet" in page and "No listings match" not in page
    assert "Alert me on this search" not in page  # nothing searched: nothing to alert on


def test_a_search_of_an_empty_database_still_offers_the_alert(client):
    page = results(client, q="unicycle")
    assert "No listings yet" in page and "none matches “unicycle” so far" in page
    assert links(page)["Alert me on this search"] == "/alerts/new/?q=unicycle"


def test_results_show_the_alert_link_once_and_no_empty_state(client):
    ListingFactory(title="Trek road bike")
    page = results(client, q="bike")
    assert page.count("Alert me on this search") == 1 and "No listings" not in page


def test_filter_errors_name_fields_by_their_labels(client):
    page = client.get("/?min_price=5&max_price=1&min_deal_score=3&zip=00000").content.decode()
    assert "<strong>Maximum price</strong>: Must be at least the minimum price." in page
    assert "<strong>Minimum deal score</strong>: Ensure this value is less than or equal to 1." in page
    assert "<strong>ZIP code</strong>: Unknown US ZIP code" in page
    for raw in ("Max_price", "Min_deal_score", "<strong>Zip</strong>"):
        assert raw not in page


# --- a signed-in user's home ZIP ---------------------------------------------------------------------


@pytest.fixture
def near_and_far(db):
    ListingFactory(title="Bike in San Francisco")  # 94103
    ListingFactory(title="Bike in New York", **NYC)


def test_home_zip_prefills_the_search_of_a_signed_in_user(client, near_and_far):
    client.force_login(UserFactory(home_zip="94103"))
    page = client.get("/").content.decode()
    assert 'value="94103"' in page  # the ZIP field shows it
    assert "Bike in San Francisco" in page and "Bike in New York" not in page
    # The alert link carries the ZIP the results were searched with.
    assert "zip=94103" in links(page)["Alert me on this search"]


def test_an_empty_zip_in_the_url_stays_empty(client, near_and_far):
    client.force_login(UserFactory(home_zip="94103"))
    page = client.get("/?zip=").content.decode()
    assert "Bike in San Francisco" in page and "Bike in New York" in page
    assert 'value="94103"' not in page


def test_an_explicit_zip_wins_over_the_home_zip(client, near_and_far):
    client.force_login(UserFactory(home_zip="94103"))
    page = results(client, zip="10001")
    assert "Bike in New York" in page and "Bike in San Francisco" not in page


def test_no_home_zip_for_anonymous_visitors_or_users_without_one(client, near_and_far):
    assert "Bike in New York" in results(client)
    client.force_login(UserFactory(home_zip=""))
    assert "Bike in New York" in results(client)


def test_the_api_does_not_prefill_the_home_zip(api_client, near_and_far):
    api_client.force_authenticate(UserFactory(home_zip="94103"))
    assert api_client.get("/api/listings").json()["count"] == 2
