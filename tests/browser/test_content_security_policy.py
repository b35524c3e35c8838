"""Under the Content-Security-Policy, pages run with no violations: htmx, the two inline scripts
(with the request's nonce) and the listing photo's fallback all still work."""

import re

import pytest
from playwright.sync_api import Page, expect

from ..factories import ListingFactory, UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_work_without_csp_violations(live_server, page: Page):
    page.set_default_timeout(5_000)
    listing = ListingFactory(title="Lenovo ThinkPad T14 laptop", image_url="https://images.invalid/x.jpg")
    user = UserFactory(email="csp.shopper@example.com")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)

    page.goto(f"{live_server.url}/accounts/signup/")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.get_by_label("Keywords").fill("thinkpad")  # htmx swaps the results and the URL follows
    expect(page).to_have_url(re.compile(r"q=thinkpad"))

    page.goto(f"{live_server.url}/listings/{listing.pk}/")
    expect(page.locator("img.photo")).to_have_count(0)  # the unreachable photo removed by photos.js

    page.goto(f"{live_server.url}/alerts/new/?q=bike")
    page.locator("#id_min_deal_score").fill("0.8")  # the nonced inline script shows the value
    expect(page.locator("#id_min_deal_score_value")).to_have_text("80%")
    expect(page.locator("#id_has_min_deal_score")).to_be_checked()

    for path in ("/notifications/settings/", "/accounts/profile/", "/alerts/", "/watchlist/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert errors == []
