from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activity.models import Event, Kind
from activity.visits import VISIT_GAP
from listings.models import ListingView, PricePoint
from tests.factories import ListingFactory, category

pytestmark = pytest.mark.django_db


def test_browse_full_page_and_htmx_fragment(client):
    ListingFactory(title="ThinkPad T14")
    full = client.get("/?q=thinkpad")
    fragment = client.get("/?q=thinkpad", headers={"HX-Request": "true"})

    assert full.status_code == fragment.status_code == 200
    assert b"<html" in full.content and b'id="filters"' in full.content
    assert b"<html" not in fragment.content and b'id="filters"' not in fragment.content
    assert b"ThinkPad T14" in fragment.content and b"1 listing" in fragment.content


def test_browse_filters_narrow_results(client):
    ListingFactory(title="ThinkPad T14", price=Decimal("300"))
    ListingFactory(title="Trek road bike", category=category("bikes"), price=Decimal("500"))
    html = client.get("/?category=bikes", headers={"HX-Request": "true"}).content.decode()
    assert "Trek road bike" in html and "ThinkPad" not in html


def test_browse_bad_filter_shows_error_not_500(client):
    response = client.get("/?min_price=-3&zip=00000")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in html
    assert "Unknown US ZIP code" in html


def test_browse_paginates_with_working_urls(client):
    ListingFactory.create_batch(30, title="Monitor")
    page1 = client.get("/?q=monitor").content.decode()
    assert "Page 1 of 2" in page1 and "q=monitor&amp;page=2" in page1
    page2 = client.get("/?q=monitor&page=2").content.decode()
    assert "Page 2 of 2" in page2


def test_browse_queries_are_constant(client):
    ListingFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        client.get("/?category=electronics")
    ListingFactory.create_batch(40)
    with CaptureQueriesContext(connection) as many:
        client.get("/?category=electronics")
    assert len(few) == len(many)


def test_listing_page_shows_chart_and_score_explanation(client):
    listing = ListingFactory(price=Decimal("250"), deal_score_explanation="31% below the median $420.")
    PricePoint.objects.create(listing=listing, price=Decimal("220"), recorded_at=timezone.now() + timedelta(hours=1))
    html = client.get(f"/listings/{listing.pk}/").content.decode()
    assert 'id="price-chart"' in html and "<polyline" in html
    assert "31% below the median $420." in html
    assert html.count("<circle") == 2


def test_signed_in_view_is_recorded(client, user):
    listing = ListingFactory()
    client.force_login(user)
    client.get(f"/listings/{listing.pk}/")
    view = ListingView.objects.get()
    visit_id = client.session["visit"][0]
    assert (view.user, view.listing, view.session_key) == (user, listing, visit_id)
    events = list(Event.objects.order_by("id").values_list("kind", "user_id", "listing_id", "session"))
    assert events == [
        (Kind.SESSION_STARTED, user.pk, None, visit_id),
        (Kind.LISTING_VIEWED, user.pk, listing.pk, visit_id),
    ]


def test_anonymous_view_is_logged_without_a_listing_view(client):
    listing = ListingFactory()
    client.get(f"/listings/{listing.pk}/")
    assert ListingView.objects.count() == 0
    visit_id = client.session["visit"][0]
    events = list(Event.objects.order_by("id").values_list("kind", "user_id", "listing_id", "session"))
    assert events == [
        (Kind.SESSION_STARTED, None, None, visit_id),
        (Kind.LISTING_VIEWED, None, listing.pk, visit_id),
    ]


def test_views_in_one_visit_share_it_and_start_it_once(client):
    first, second = ListingFactory(), ListingFactory()
    client.get(f"/listings/{first.pk}/")
    client.get(f"/listings/{second.pk}/")
    assert Event.objects.filter(kind=Kind.SESSION_STARTED).count() == 1
    viewed = Event.objects.filter(kind=Kind.LISTING_VIEWED).order_by("id")
    assert [e.listing_id for e in viewed] == [first.pk, second.pk]
    assert len({e.session for e in viewed}) == 1


def test_a_view_after_a_long_gap_starts_a_new_visit(client):
    listing = ListingFactory()
    client.get(f"/listings/{listing.pk}/")
    session = client.session
    visit_id, seen = session["visit"]
    session["visit"] = [visit_id, seen - VISIT_GAP.total_seconds() - 1]
    session.save()
    client.get(f"/listings/{listing.pk}/")
    started = list(Event.objects.filter(kind=Kind.SESSION_STARTED).order_by("id").values_list("session", flat=True))
    viewed = list(Event.objects.filter(kind=Kind.LISTING_VIEWED).order_by("id").values_list("session", flat=True))
    assert started == viewed and started[0] == visit_id != started[1]


def test_unknown_listing_page_is_404(client):
    assert client.get("/listings/999999/").status_code == 404


def test_listing_page_queries_are_constant(client, user, django_assert_num_queries):
    listing = ListingFactory()
    client.force_login(user)
    client.get(f"/listings/{listing.pk}/")  # the visit starts: two events in the same one insert
    # 7 before the event log; + the events' insert, + saving the visit's time in the session
    # (savepoint, update, release).
    with django_assert_num_queries(11):
        client.get(f"/listings/{listing.pk}/")
    for hours in range(1, 20):
        PricePoint.objects.create(listing=listing, price=Decimal(300 - hours), recorded_at=timezone.now())
    with django_assert_num_queries(11):
        client.get(f"/listings/{listing.pk}/")


def test_anonymous_listing_page_queries_are_constant(client, django_assert_num_queries):
    listing = ListingFactory()
    # 2 before the event log (listing, price history); + the events' insert, + the session that
    # carries the visit (read it, then save it inside a savepoint).
    with django_assert_num_queries(7):
        client.get(f"/listings/{listing.pk}/")
    with django_assert_num_queries(7):
        client.get(f"/listings/{listing.pk}/")


def test_listing_page_shows_times_in_the_users_time_zone(client, user):
    listing = ListingFactory()
    listing.price_points.update(recorded_at=datetime(2026, 11, 5, 4, 9, tzinfo=UTC))
    client.force_login(user)  # America/Los_Angeles: 04:09 UTC is 20:09 the day before
    assert "Nov 4, 2026 20:09" in client.get(f"/listings/{listing.pk}/").content.decode()


def test_breadcrumb_names_every_ancestor(client):
    listing = ListingFactory(category=category("laptops"))
    html = client.get(f"/listings/{listing.pk}/").content.decode()
    assert html.index(">Electronics<") < html.index(">Computers<") < html.index(">Laptops<")
