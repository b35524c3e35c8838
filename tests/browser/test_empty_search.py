"""A search that finds nothing says so, and "Alert me on this search" carries the search into a new
alert — straight away when signed in, and through sign-up for a visitor."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from alerts.models import DealAlertRule

from ..factories import ListingFactory, UserFactory, category

PASSWORD = "correct-horse-battery"  # UserFactory's
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def bikes(transactional_db):
    ListingFactory(title="Trek FX 2 hybrid bike", price=Decimal("420.00"), category=category("bikes"))
    ListingFactory(title="Kids balance bikes", price=Decimal("60.00"), category=category("bikes"))


def expect_empty_state(page: Page, searched: str) -> None:
    results = page.locator("#results")
    expect(results.locator(".count")).to_have_text("0 listings")
    expect(results.get_by_role("heading", name=f"No listings match {searched}")).to_be_visible()
    expect(results.get_by_role("link", name="Alert me on this search")).to_be_visible()
    expect(results.get_by_role("link", name="Clear the keywords")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_empty_search_offers_an_alert_prefilled_with_the_search(live_server, page: Page, bikes, tmp_path):
    page.set_default_timeout(5_000)
    shopper = UserFactory(email="empty.search@example.com", home_zip="94103")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")

    # The home ZIP fills the ZIP filter; the plural finds both bikes (whole words, plurals folded).
    expect(page.get_by_label("ZIP code")).to_have_value("94103")
    page.get_by_label("Keywords").press_sequentially("bikes")
    expect(page.locator("#results .count")).to_have_text("2 listings")

    # A search that finds nothing says what was searched and how to widen it.
    page.get_by_label("Keywords").fill("")
    page.get_by_label("Keywords").press_sequentially("unicycle")
    expect_empty_state(page, "“unicycle” within 25 miles of 94103")
    expect(page.locator("#results").get_by_role("link", name="Search within 50 miles")).to_be_visible()
    page.screenshot(path=tmp_path / "empty-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    alert_me = page.locator("#results").get_by_role("link", name="Alert me on this search")
    alert_me.scroll_into_view_if_needed()  # the filters come first on a phone
    expect(alert_me).to_be_in_viewport(ratio=1)
    assert page.locator("#results").bounding_box()["width"] <= PHONE["width"]  # nothing runs off the side
    page.screenshot(path=tmp_path / "empty-phone.png")
    page.screenshot(path=tmp_path / "empty-phone-full.png", full_page=True)

    page.locator("#results").get_by_role("link", name="Alert me on this search").click()
    expect(page).to_have_url(re.compile(r"/alerts/new/\?.*q=unicycle.*zip=94103"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New alert")
    expect(page.get_by_label("Keywords", exact=True)).to_have_value("unicycle")
    expect(page.get_by_label("ZIP code")).to_have_value("94103")
    expect(page.get_by_label("Name")).to_have_value("unicycle near 94103")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_visitor_signs_up_from_an_empty_search_and_keeps_it(live_server, page: Page, bikes):
    page.set_default_timeout(5_000)
    page.goto(f"{live_server.url}/?q=unicycle&max_price=200")
    expect_empty_state(page, "“unicycle” under $200")

    # Not signed in: the link asks to log in, and "Create an account" keeps where we were going.
    page.locator("#results").get_by_role("link", name="Alert me on this search").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Email address").fill("from.search@example.com")
    page.get_by_label("Password").fill("correct-horse-battery-9")
    page.get_by_label("Home ZIP code").fill("94103")
    page.get_by_role("button", name="Sign up").click()

    # Signed up and on the new-alert form, pre-filled from the search.
    expect(page).to_have_url(f"{live_server.url}/alerts/new/?q=unicycle&max_price=200")
    expect(page.get_by_label("Keywords", exact=True)).to_have_value("unicycle")
    expect(page.get_by_label("Max price ($)")).to_have_value("200")
    page.get_by_role("button", name="Save alert").click()
    expect(page).to_have_url(f"{live_server.url}/alerts/")
    rule = DealAlertRule.objects.get(user__email="from.search@example.com")
    assert (rule.keywords, rule.max_price) == (["unicycle"], Decimal("200.00"))
