"""Settings and history pages, one-click unsubscribe and tracked clicks."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from notifications import links
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import Delivery, Notification, NotificationPreferences
from notifications.wording import delivery_note
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
    notify([DealEvent(shopper.pk, mine.pk, RuleSource(1, "Bikes", "mentions “bike”"))])
    notify([DealEvent(UserFactory().pk, theirs.pk, RuleSource(2, "Sofas", ""))])
    page = browser.get("/notifications/").content.decode()
    assert "Trek road bike" in page and "“Bikes”" in page
    assert '<span class="status held">Held for the digest</span>' in page
    assert '<span class="muted">frequency is daily</span>' in page and page.lower().count("held for the digest") == 1
    assert "sofa" not in page


def test_history_queries_are_constant(browser, shopper):
    source = RuleSource(1, "Any", "")
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
    notify([DealEvent(shopper.pk, listing.pk, RuleSource(1, "x", ""))])
    notification = Notification.objects.get()
    url = urlsplit(links.click_url(notification.pk, "email")).path
    response = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0").get(
        url
    )  # a person, not a scanner
    assert response.status_code == 302 and response["Location"] == f"/listings/{listing.pk}/"
    notification.refresh_from_db()
    assert notification.clicked_at is not None
    assert Client().get("/notifications/c/forged/").status_code == 302


# --- the pages' own words: quiet hours, the category picker, the history -----------------------------


def saved_text(html: str) -> str:
    found = re.search(r'<span class="saved" role="status">(.*?)</span>', html)
    return found.group(1) if found else ""


# --- quiet hours ---------------------------------------------------------------------------------


def test_one_time_only_gets_the_pages_words_not_the_apis(browser, shopper):
    response = browser.post(
        "/notifications/settings/quiet-hours/", {"quiet_hours": "on", "start_time": "22:00"}, **HTMX
    )
    html = response.content.decode()
    assert "Give both a start and an end time, or clear both to turn quiet hours off." in html
    assert "null" not in html
    assert NotificationPreferences.objects.get(user=shopper).quiet_hours_start is None


@pytest.mark.parametrize(
    ("post", "said"),
    [
        (
            {"urgent_in_quiet_hours": "on"},
            "Saved. Quiet hours are off, so letting urgent deals through has no effect until you set times.",
        ),
        ({"quiet_hours": "on"}, "Saved. Quiet hours are off: give a start and an end time to turn them on."),
        ({}, "Saved. Quiet hours are off: notifications come at any hour."),
        (
            {"quiet_hours": "on", "start_time": "22:00", "end_time": "07:00"},
            "Saved. Notifications wait from 22:00 until 07:00, urgent deals too.",
        ),
        (
            {"quiet_hours": "on", "start_time": "22:00", "end_time": "07:00", "urgent_in_quiet_hours": "on"},
            "Saved. Notifications wait from 22:00 until 07:00, except urgent deals.",
        ),
    ],
)
def test_saving_quiet_hours_says_what_was_saved_and_its_effect(browser, post, said):
    html = browser.post("/notifications/settings/quiet-hours/", post, **HTMX).content.decode()
    assert saved_text(html) == said


def test_other_sections_still_just_say_saved(browser):
    html = browser.post("/notifications/settings/max-per-day/", {"max_per_day": "5"}, **HTMX).content.decode()
    assert saved_text(html) == "Saved."


# --- category picker -------------------------------------------------------------------------------


def test_saved_categories_are_all_shown_ticked_with_the_count(browser, shopper):
    html = browser.post(
        "/notifications/settings/categories/", {"category_filters": ["laptops", "bikes"]}, **HTMX
    ).content.decode()
    assert 'value="laptops" data-name="Laptops" checked' in html and 'value="bikes" data-name="Bikes" checked' in html
    assert html.count(" checked") == 2
    assert 'id="category-filters_summary" aria-live="polite" data-summary>2 selected: Laptops, Bikes</p>' in html
    assert "None selected" not in html.replace("None selected: every category", "")
    # The groups holding a choice are open, with their own count; the others closed.
    assert re.search(
        r'<details class="picker-group" open>\s*<summary>Electronics<span class="picker-count" data-count> · 1 sel',
        html,
    )
    assert re.search(r'<details class="picker-group">\s*<summary>Furniture<', html)

    page = browser.get("/notifications/settings/").content.decode()
    assert "2 selected: Laptops, Bikes" in page


def test_picker_labels_every_checkbox_and_describes_the_group(browser):
    html = browser.get("/notifications/settings/").content.decode()
    boxes = re.findall(r'<label class="check"><input type="checkbox" name="category_filters" value="([\w-]+)"', html)
    assert "electronics" in boxes and "laptops" in boxes and len(boxes) == len(set(boxes)) > 20
    assert 'aria-describedby="category-filters_summary category-filters_help"' in html
    assert "<select" not in html.split('id="section-categories"')[1].split("</form>")[0]


# --- history -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "error", "note"),
    [
        ("sent", "sent", "", ""),
        ("sent", "sent: urgent deal", "", "urgent deal"),
        ("held", "held for the digest: daily cap of 10 reached", "", "daily cap of 10 reached"),
        (
            "sent",
            "held for the digest: frequency is daily; sent in the digest",
            "",
            "in the digest: frequency is daily",
        ),
        ("deferred", "deferred to 07:00: quiet hours", "", "to 07:00: quiet hours"),
        ("deferred", "sent", "503 from the provider", "will retry: 503 from the provider"),
        ("pending", "sent", "", ""),
        ("skipped", "skipped: not in your categories", "", "not in your categories"),
        ("failed", "sent", "address refused", "address refused"),
        ("pending", "sent by email instead: sms failed", "", "sent by email instead: sms failed"),
    ],
)
def test_a_delivery_note_says_only_what_the_status_does_not(status, reason, error, note):
    assert delivery_note(status, reason, error) == note


def test_history_says_each_status_once_and_the_match_price_as_of_match_time(browser, shopper):
    listing = ListingFactory(title="Trek road bike", price="400.00")
    source = RuleSource(1, "Bikes", "$450 is at most $500")
    notify([DealEvent(shopper.pk, listing.pk, source)])
    Delivery.objects.update(status="sent", reason="sent", sent_at=listing.first_seen_at)
    html = browser.get("/notifications/").content.decode()
    deliveries = re.search(r'<ul class="deliveries">(.*?)</ul>', html, re.S).group(1)
    words = " ".join(re.sub(r"<[^>]+>", " ", deliveries).split())
    assert re.fullmatch(r"Email Sent at \d\d:\d\d", words), words
    assert "(at match time: $450 is at most $500)" in html and '<span class="price">$400' in html
