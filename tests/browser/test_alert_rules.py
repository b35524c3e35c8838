"""A shopper turns a search into an alert, tests it, pauses it and deletes it — the list never reloads."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts.models import DealAlertRule

from ..factories import ListingFactory, UserFactory, category

PASSWORD = "correct-horse-battery"  # UserFactory's
RULE_NAME = "thinkpad under $500"


@pytest.fixture
def shopper(transactional_db):
    now = timezone.now()
    ListingFactory(title="Lenovo ThinkPad T14 laptop", price=Decimal("300.00"), first_seen_at=now - timedelta(days=2))
    ListingFactory(title="Lenovo ThinkPad X1 Carbon laptop", price=Decimal("900.00"))
    ListingFactory(title="ThinkPad USB-C docking station", price=Decimal("60.00"), category=category("computer-parts"))
    ListingFactory(title="Dell XPS 13 laptop", price=Decimal("450.00"))
    # No home ZIP: it would fill the browse ZIP, and the alert would be "… near 94103".
    return UserFactory(email="alerts.shopper@example.com", home_zip="")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_shopper_saves_a_search_as_an_alert_tests_pauses_and_deletes_it(live_server, page: Page, shopper):
    page.set_default_timeout(5_000)

    # Sign in through the login page.
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")

    # Search: ThinkPads under $500 (htmx narrows the results in place).
    page.get_by_label("Keywords").press_sequentially("thinkpad")
    expect(page.locator("#results .count")).to_have_text("3 listings")
    max_price = page.get_by_label("Maximum price")
    max_price.fill("500")
    max_price.press("Tab")
    expect(page.locator("#results .count")).to_have_text("2 listings")

    # "Alert me on this search" follows the filters as they change.
    page.get_by_role("link", name="Alert me on this search").click()
    expect(page).to_have_url(re.compile(r"/alerts/new/\?.*q=thinkpad.*max_price=500"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New alert")
    expect(page.get_by_label("Name")).to_have_value(RULE_NAME)
    expect(page.get_by_label("Keywords", exact=True)).to_have_value("thinkpad")
    expect(page.get_by_label("Max price ($)")).to_have_value("500")
    categories = page.get_by_role("group", name="Categories")
    expect(categories.locator("input:checked")).to_have_count(0)
    expect(categories.locator("#id_categories_summary")).to_have_text("None selected")

    # Test before saving: the backtest of the unsaved rule appears under the form.
    page.get_by_role("button", name="Test before saving").click()
    expect(page.locator("#preview .backtest-count")).to_contain_text("2 matching listings")
    expect(page.locator("#preview")).to_contain_text("Lenovo ThinkPad T14 laptop")
    assert not DealAlertRule.objects.exists()

    page.get_by_role("button", name="Save alert").click()
    expect(page).to_have_url(f"{live_server.url}/alerts/")
    expect(page.get_by_role("status")).to_contain_text(f"Alert “{RULE_NAME}” saved")
    rule = DealAlertRule.objects.get(user=shopper)
    assert (rule.keywords, rule.max_price, rule.enabled) == (["thinkpad"], Decimal("500.00"), True)

    row = page.get_by_role("listitem", name=RULE_NAME)
    expect(row).to_contain_text("Mentions “thinkpad” · at most $500")
    expect(row.locator(".status")).to_have_text("Active")

    # From here on the page must never reload.
    page.evaluate("window.__noReload = 'still here'")

    # Test: the count and samples appear inline under the row.
    row.get_by_role("link", name="Test").click()
    expect(row.locator(".backtest-count")).to_contain_text("2 matching listings")
    expect(row.get_by_role("link", name="Lenovo ThinkPad T14 laptop")).to_be_visible()
    expect(row.locator(".why").first).to_contain_text("mentions “thinkpad”")

    # Pause, then resume, with the toggle.
    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".status")).to_have_text("Paused")
    expect(row.get_by_role("button", name="Resume")).to_be_focused()  # focus stays on the toggle
    rule.refresh_from_db()
    assert rule.enabled is False
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".status")).to_have_text("Active")
    rule.refresh_from_db()
    assert rule.enabled is True

    # Delete, confirming the dialog: the row goes and the empty state takes its place.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(page.get_by_role("heading", name="No alerts yet")).to_be_visible()
    assert not DealAlertRule.objects.exists()
    assert page.evaluate("window.__noReload") == "still here"
