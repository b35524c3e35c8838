"""Phones, keyboards and status lines: every page fits 390 px, the category picker counts as you tick,
and "My alerts" says what a pause or delete did, with Undo."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from alerts.models import DealAlertRule
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import NotificationPreferences
from watchlist.services import watch

from ..factories import ListingFactory, UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's
PHONE = {"width": 390, "height": 844}


def log_in(page: Page, live_server, user, next_url: str = "/") -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}{next_url}")


@pytest.fixture
def shopper(transactional_db):
    user = UserFactory(email="polish.shopper@example.com")
    listing = ListingFactory(
        title="A very long listing title: Lenovo ThinkPad T14 Gen 3 with docking station and two chargers",
        price=Decimal("1250.50"),
    )
    rule = DealAlertRule.objects.create(
        user=user,
        name="ThinkPads and docking stations near home under five hundred dollars",
        keywords=["thinkpad", "docking station"],
        categories=["laptops", "computer-parts"],
        max_price=Decimal("500"),
        location="94103",
        min_deal_score=0.6,
    )
    why = "mentions “thinkpad”; $1,250.50 is at most $1,500; 0.0 mi away; deal score 70%"
    notify([DealEvent(user.pk, listing.pk, RuleSource(rule.pk, rule.name, why))])
    watch(user, listing, Decimal("999.99"))  # a card with a long title, a chart and a target field
    return user, listing, rule


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_page_fits_a_390px_phone(live_server, browser, shopper):
    user, listing, rule = shopper
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(5_000)
    too_wide = {}

    def measure(path: str) -> None:
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[path] = width

    for path in ("/accounts/login/", "/accounts/signup/", "/"):
        measure(path)
    log_in(page, live_server, user)
    for path in (
        "/",
        f"/listings/{listing.pk}/",
        "/alerts/",
        "/alerts/new/",
        f"/alerts/{rule.pk}/edit/",
        f"/alerts/{rule.pk}/test/",
        "/notifications/settings/",
        "/notifications/",
        "/accounts/profile/",
        "/watchlist/",
        f"/watchlist/watch/{listing.pk}/",
    ):
        measure(path)
    user.is_staff = True  # the staff pages, in the same session
    user.save(update_fields=["is_staff"])
    for path in ("/staff/metrics/", "/staff/operations/"):
        measure(path)
    page.goto(f"{live_server.url}/staff/metrics/")
    charts = page.locator("img.chart")
    page.wait_for_function("[...document.images].every(i => i.complete)")
    drawn = charts.evaluate_all("images => images.map(i => i.naturalWidth)")
    context.close()
    assert too_wide == {}
    assert len(drawn) == 6 and all(drawn), drawn  # every chart is an image the browser could draw


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_category_picker_counts_by_keyboard_and_after_an_htmx_save(live_server, page: Page, shopper):
    user, _, _ = shopper
    page.set_default_timeout(5_000)
    log_in(page, live_server, user, "/notifications/settings/")
    section = page.locator("#section-categories")
    summary = section.locator("#category-filters_summary")
    expect(summary).to_have_text("None selected")

    # Keyboard only: focus the Electronics box's summary, open it, tick "All of Electronics" and Laptops.
    section.locator("summary", has_text="Electronics").focus()
    page.keyboard.press("Enter")
    electronics = section.get_by_label("All of Electronics")
    expect(electronics).to_be_visible()
    electronics.focus()
    page.keyboard.press("Space")
    expect(summary).to_have_text("1 selected: Electronics")
    section.get_by_label("Laptops").focus()
    page.keyboard.press("Space")
    expect(summary).to_have_text("2 selected: Electronics, Laptops")
    expect(section.locator("summary", has_text="Electronics")).to_contain_text("2 selected")

    section.locator("summary", has_text="Sports & outdoors").click()
    section.get_by_label("Bikes").check()
    expect(summary).to_have_text("3 selected: Electronics, Laptops, Bikes")
    section.get_by_role("button", name="Save").click()
    expect(section.locator(".saved")).to_have_text("Saved.")
    # The section came back from the server: every choice still ticked, and the count still right.
    expect(page.locator("#category-filters_summary")).to_have_text("3 selected: Electronics, Laptops, Bikes")
    expect(page.locator("#section-categories").get_by_label("Bikes")).to_be_checked()
    prefs = NotificationPreferences.objects.get(user=user)
    assert prefs.category_filters == ["electronics", "laptops", "bikes"]

    page.locator("#section-categories").get_by_label("Laptops").uncheck()  # the script still runs after the swap
    expect(page.locator("#category-filters_summary")).to_have_text("2 selected: Electronics, Bikes")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pause_and_delete_say_what_happened_and_delete_can_be_undone(live_server, page: Page, shopper):
    user, _, rule = shopper
    page.set_default_timeout(5_000)
    log_in(page, live_server, user, f"/alerts/{rule.pk}/edit/")
    page.get_by_role("button", name="Save alert").click()
    status = page.locator("#messages")
    expect(status).to_contain_text(f"Alert “{rule.name}” saved.")
    page.evaluate("window.__noReload = 'still here'")

    row = page.get_by_role("listitem", name=rule.name)
    row.get_by_role("button", name="Pause").click()
    expect(status).to_have_text(f"Paused “{rule.name}”.")  # the old "saved" banner is gone

    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(status).to_contain_text(f"Deleted “{rule.name}”.")
    assert not DealAlertRule.objects.exists()

    status.get_by_role("button", name="Undo").click()
    expect(status).to_have_text(f"Restored “{rule.name}”.")
    restored = page.get_by_role("listitem", name=rule.name)
    expect(restored.locator(".status")).to_have_text("Paused")
    assert page.evaluate("window.__noReload") == "still here"
    again = DealAlertRule.objects.get(user=user)
    assert (again.name, again.keywords, again.enabled) == (rule.name, ["thinkpad", "docking station"], False)
