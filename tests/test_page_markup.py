"""Every page's markup: aria-describedby points at ids that exist, ids are unique, and a favicon is served."""

from html.parser import HTMLParser

import pytest
from django.test import Client

from alerts.models import DealAlertRule
from notifications.events import DealEvent, RuleSource, notify
from tests.factories import ListingFactory, UserFactory
from watchlist.services import watch

pytestmark = pytest.mark.django_db


class IdParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.described_by: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"])
        self.described_by += (values.get("aria-describedby") or "").split()


def check_markup(html: str, where: str) -> None:
    parser = IdParser()
    parser.feed(html)
    missing = sorted(set(parser.described_by) - set(parser.ids))
    assert not missing, f"{where}: aria-describedby names missing ids {missing}"
    repeated = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    assert not repeated, f"{where}: repeated ids {repeated}"


@pytest.fixture
def shopper_pages():
    shopper = UserFactory()
    listing = ListingFactory()
    rule = DealAlertRule.objects.create(user=shopper, name="ThinkPads", keywords=["thinkpad"])
    notify([DealEvent(shopper.pk, listing.pk, RuleSource(rule.pk, "ThinkPads", "x"))])
    for _ in range(2):  # two cards on the watchlist page, each with its own target field
        watch(shopper, ListingFactory(), None)
    for _ in range(2):  # two cards on the For you page, each with its Watch field
        ListingFactory()
    client = Client()
    client.force_login(shopper)
    return client, [
        "/",
        "/?min_price=abc&radius_mi=9999",
        f"/listings/{listing.pk}/",
        "/alerts/",
        "/alerts/new/",
        f"/alerts/{rule.pk}/edit/",
        f"/alerts/{rule.pk}/test/",
        "/notifications/",
        "/notifications/settings/",
        "/accounts/profile/",
        "/watchlist/",
        f"/watchlist/watch/{listing.pk}/",
        "/for-you/",
        f"/for-you/why/{listing.pk}/",
    ]


def test_signed_in_pages_describe_fields_with_ids_that_exist(shopper_pages):
    client, urls = shopper_pages
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        check_markup(response.content.decode(), url)


def test_forms_with_errors_describe_fields_with_ids_that_exist(shopper_pages):
    client, _ = shopper_pages
    check_markup(client.post("/alerts/new/", {"name": "", "location": "00000"}).content.decode(), "alert form")
    check_markup(
        client.post("/notifications/settings/categories/", {"category_filters": ["nope"]}).content.decode(), "settings"
    )
    check_markup(
        client.post("/accounts/profile/", {"home_zip": "00000", "time_zone": "Nowhere"}).content.decode(), "profile"
    )
    listing = ListingFactory(price=100)
    refused = client.post(f"/watchlist/watch/{listing.pk}/", {"price_alert_threshold": "500"})
    check_markup(refused.content.decode(), "watch")


def test_signup_and_login_describe_fields_with_ids_that_exist(client):
    for url in ("/accounts/signup/", "/accounts/login/"):
        check_markup(client.get(url).content.decode(), url)
    html = client.post("/accounts/signup/", {"email": "x", "password": "1", "time_zone": "UTC"}).content.decode()
    check_markup(html, "signup with errors")
    assert 'aria-describedby="id_password_helptext id_password_error"' in html and 'id="id_password_helptext"' in html
    check_markup(client.post("/accounts/login/", {"username": "a@b.c", "password": "x"}).content.decode(), "login")


def test_favicon_is_linked_and_served(client):
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)
