"""A new shopper signs up, searches, narrows the results with htmx, and opens a deal."""

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from listings.models import ListingView, PricePoint

from ..factories import ListingFactory, category

EMAIL = "new.shopper@example.com"
PASSWORD = "correct-horse-battery-9"
T14_EXPLANATION = "27% below the median $410 of 9 similar laptops; the price dropped twice this month."


@pytest.fixture
def listings(transactional_db):
    now = timezone.now()

    t14 = ListingFactory(
        title="Lenovo ThinkPad T14 laptop",
        price=Decimal("300.00"),
        first_seen_at=now - timedelta(days=20),
        deal_score=0.81,
        deal_score_explanation=T14_EXPLANATION,
    )
    # The factory recorded the current price at first sight; make it a history of two drops.
    t14.price_points.update(price=Decimal("420.00"))
    PricePoint.objects.create(listing=t14, price=Decimal("360.00"), recorded_at=now - timedelta(days=9))
    PricePoint.objects.create(listing=t14, price=Decimal("300.00"), recorded_at=now - timedelta(days=2))

    ListingFactory(title="Lenovo ThinkPad X1 Carbon laptop", price=Decimal("900.00"), deal_score=0.35)
    ListingFactory(title="ThinkPad USB-C docking station", price=Decimal("60.00"), category=category("computer-parts"))
    ListingFactory(title="ThinkPad T480 laptop, sold", price=Decimal("200.00"), is_active=False)
    ListingFactory(title="Dell XPS 13 laptop", price=Decimal("650.00"))
    ListingFactory(title='Dell UltraSharp 27" monitor', price=Decimal("180.00"), category=category("monitors"))
    ListingFactory(title="Trek FX 2 hybrid bike", price=Decimal("420.00"), category=category("bikes"))
    return {"t14": t14}


def result_titles(page: Page):
    return page.locator("#results .card.listing h2")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_shopper_signs_up_searches_filters_and_opens_a_deal(live_server, page: Page, browser_context_args, listings):
    page.set_default_timeout(5_000)  # fail fast; `expect` already waits at most 5 s
    browser_time_zone = browser_context_args["timezone_id"]  # America/Los_Angeles, see conftest

    # Sign up. The time zone select defaults to the browser's time zone.
    page.goto(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value(browser_time_zone)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Home ZIP code").fill("94103")
    page.get_by_role("button", name="Sign up").click()

    # Lands on the browse page, signed in, with every active listing.
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text("Welcome to Deal Alerts")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name=EMAIL)).to_be_visible()
    expect(page.locator("#results .count")).to_have_text("6 listings")
    user = User.objects.get(email=EMAIL)
    assert user.home_zip == "94103"
    assert str(user.time_zone) == browser_time_zone
    assert user.check_password(PASSWORD)

    # From here on the page must never reload: htmx swaps #results in place.
    page.evaluate("window.__noReload = 'still here'")

    # Keyword search (fires after a short typing pause).
    page.get_by_label("Keywords").press_sequentially("thinkpad")
    expect(page.locator("#results .count")).to_have_text("3 listings")
    # Newest first: the T14 was first seen weeks ago.
    expect(result_titles(page)).to_have_text(
        ["ThinkPad USB-C docking station", "Lenovo ThinkPad X1 Carbon laptop", "Lenovo ThinkPad T14 laptop"]
    )
    expect(page).to_have_url(re.compile(r"[?&]q=thinkpad(&|$)"))

    # Narrow to laptops, then to at most $500.
    page.get_by_label("Category").select_option("laptops")
    expect(page.locator("#results .count")).to_have_text("2 listings")
    expect(result_titles(page)).to_have_text(["Lenovo ThinkPad X1 Carbon laptop", "Lenovo ThinkPad T14 laptop"])
    expect(page).to_have_url(re.compile(r"[?&]category=laptops(&|$)"))

    max_price = page.get_by_label("Maximum price")
    max_price.fill("500")
    max_price.press("Tab")  # `change` fires on blur
    expect(page.locator("#results .count")).to_have_text("1 listing")
    expect(result_titles(page)).to_have_text(["Lenovo ThinkPad T14 laptop"])
    expect(page).to_have_url(re.compile(r"[?&]max_price=500(&|$)"))
    pushed = parse_qs(urlsplit(page.url).query)
    assert (pushed["q"], pushed["category"], pushed["max_price"]) == (["thinkpad"], ["laptops"], ["500"])
    assert page.evaluate("window.__noReload") == "still here"

    # Open the deal: price-history chart and the deal-score explanation.
    t14 = listings["t14"]
    page.get_by_role("link", name="Lenovo ThinkPad T14 laptop").click()
    expect(page).to_have_url(f"{live_server.url}/listings/{t14.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lenovo ThinkPad T14 laptop")
    chart = page.locator("svg#price-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("aria-label", re.compile(r"^Price from \$300 to \$420 since "))
    expect(chart.locator("polyline")).to_be_visible()
    expect(chart.locator("circle")).to_have_count(3)
    expect(page.locator(".deal-score")).to_contain_text("Deal score: 81% · great deal")
    expect(page.locator(".deal-score")).to_contain_text(T14_EXPLANATION)

    assert ListingView.objects.filter(user=user, listing=t14).count() == 1
