"""Settings and history pages, one-click unsubscribe and tracked clicks."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from notifications import links
from notifications.models import Notification, NotificationPreferences
from notifications.services import DealEvent, notify
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def browser(shopper) -> Client:
    client = Client()
    client.force_login(shopper)
    return client


def prefs(user) -> NotificationPreferences:
    return NotificationPreferences.objects.get(user=user)


def test_settings_page_shows_every_section(browser):
    page = browser.get("/notifications/settings/").content.decode()
    for heading in ("Channels", "When", "Quiet hours", "Categories", "Daily limit"):
        assert f"<h2>{heading}</h2>" in page
    assert 'name="channels" value="email" checked' in page
    assert "America/Los_Angeles" in page


def test_a_section_saves_through_htmx_and_comes_back_saved(browser, shopper):
    response = browser.post(
        "/notifications/settings/quiet-hours/",
        {"quiet_hours": "on", "start_time": "22:00", "end_time": "07:00"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="section-quiet-hours"' in body and "Saved." in body
    assert "<html" not in body  # just the section
    p = prefs(shopper)
    assert (p.quiet_hours_start.hour, p.quiet_hours_end.hour) == (22, 7)

    browser.post("/notifications/settings/quiet-hours/", {"start_time": "22:00", "end_time": "07:00"}, **HTMX)
    assert prefs(shopper).quiet_hours_start is None  # unticked: quiet hours off


def test_errors_come_back_inline_with_what_was_typed_and_nothing_saved(browser, shopper):
    response = browser.post(
        "/notifications/settings/quiet-hours/",
        {"quiet_hours": "on", "start_time": "08:00", "end_time": "08:00"},
        **HTMX,
    )
    body = response.content.decode()
    assert "The end must differ from the start." in body and 'value="08:00"' in body
    assert prefs(shopper).quiet_hours_start is None

    response = browser.post("/notifications/settings/max-per-day/", {"max_per_day": "500"}, **HTMX)
    assert "Ensure this value is less than or equal to 100." in response.content.decode()
    assert 'value="500"' in response.content.decode()
    response = browser.post("/notifications/settings/channels/", {"channels": ["email", "sms"]}, **HTMX)
    assert "SMS is not set up" in response.content.decode()
    assert prefs(shopper).channels == ["email"] and prefs(shopper).max_per_day == 10


def test_every_section_saves_without_htmx_too(browser, shopper):
    assert (
        browser.post(
            "/notifications/settings/frequency/", {"frequency": "weekly", "time": "08:15", "weekday": "friday"}
        ).status_code
        == 200
    )
    assert (
        browser.post("/notifications/settings/categories/", {"category_filters": ["bikes", "furniture"]}).status_code
        == 200
    )
    assert browser.post("/notifications/settings/max-per-day/", {"max_per_day": "3"}).status_code == 200
    assert browser.post("/notifications/settings/channels/", {}).status_code == 200  # all off
    assert browser.post("/notifications/settings/max-per-day/", {"max_per_day": "x"}).status_code == 400
    assert browser.post("/notifications/settings/nonsense/", {}).status_code == 404
    p = prefs(shopper)
    assert (p.frequency, p.digest_weekday, p.category_filters, p.max_per_day, p.channels) == (
        "weekly",
        4,
        ["bikes", "furniture"],
        3,
        [],
    )


def test_pages_need_a_login(client, db):
    for url in ("/notifications/", "/notifications/settings/"):
        assert client.get(url).status_code == 302


def test_history_shows_each_channel_with_its_reason_and_only_mine(browser, shopper):
    NotificationPreferences.objects.filter(user=shopper).update(frequency="daily")
    mine, theirs = ListingFactory(title="Trek road bike", deal_score=0.5), ListingFactory(title="Someone else's sofa")
    notify([DealEvent(shopper.pk, mine.pk, {"kind": "rule", "id": 1, "name": "Bikes", "why": "mentions “bike”"})])
    notify([DealEvent(UserFactory().pk, theirs.pk, {"kind": "rule", "id": 2, "name": "Sofas", "why": ""})])
    page = browser.get("/notifications/").content.decode()
    assert "Trek road bike" in page and "held for the digest: frequency is daily" in page and "“Bikes”" in page
    assert "sofa" not in page


def test_history_queries_are_constant(browser, shopper):
    source = {"kind": "rule", "id": 1, "name": "Any", "why": ""}
    notify([DealEvent(shopper.pk, ListingFactory().pk, source)])
    few = count_queries(lambda: browser.get("/notifications/"))
    notify([DealEvent(shopper.pk, ListingFactory().pk, source) for _ in range(10)])
    assert count_queries(lambda: browser.get("/notifications/")) == few


def test_one_click_unsubscribe_works_without_a_session_and_get_only_asks(shopper):
    anonymous = Client(enforce_csrf_checks=True)
    url = f"/notifications/unsubscribe/{links.unsubscribe_token(shopper.pk)}/"
    page = anonymous.get(url)
    assert page.status_code == 200 and "Unsubscribe from deal emails?" in page.content.decode()
    assert prefs(shopper).channels == ["email"]  # a GET (a link scanner) never unsubscribes

    done = anonymous.post(url, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    p = prefs(shopper)
    assert p.channels == [] and p.email_unsubscribed_at is not None
    assert anonymous.post(url).status_code == 200  # again: still fine


def test_a_forged_or_damaged_unsubscribe_token_is_refused(shopper):
    token = links.unsubscribe_token(shopper.pk)
    for bad in (token[:-2] + "xx", "1", links.unsubscribe_token(shopper.pk).replace(":", ":0", 1)):
        response = Client().post(f"/notifications/unsubscribe/{bad}/")
        assert response.status_code == 400
    assert prefs(shopper).channels == ["email"]


def test_tracked_click_records_and_redirects_to_the_listing(shopper):
    listing = ListingFactory()
    notify([DealEvent(shopper.pk, listing.pk, {"kind": "rule", "id": 1, "name": "x", "why": ""})])
    notification = Notification.objects.get()
    url = urlsplit(links.click_url(notification.pk, "email")).path
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"] == f"/listings/{listing.pk}/"
    notification.refresh_from_db()
    assert notification.clicked_at is not None
    assert Client().get("/notifications/c/forged/").status_code == 302
