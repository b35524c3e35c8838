"""A shopper sets quiet hours and a daily digest, sees an error inline, then previews the digest — no reloads."""

from datetime import time

import pytest
from playwright.sync_api import Page, expect

from notifications.models import NotificationPreferences

from ..factories import UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_shopper_edits_each_settings_section_in_place(live_server, page: Page):
    shopper = UserFactory(email="settings.shopper@example.com")
    page.set_default_timeout(5_000)
    page.goto(f"{live_server.url}/accounts/login/?next=/notifications/settings/")
    page.get_by_label("Email").fill(shopper.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    page.evaluate("window.__marker = 'no reload'")

    quiet = page.locator("#section-quiet-hours")
    quiet.get_by_label("Hold notifications during quiet hours").check()
    quiet.get_by_label("From").fill("22:00")
    quiet.get_by_label("Until").fill("22:00")
    quiet.get_by_role("button", name="Save").click()
    expect(page.locator("#section-quiet-hours .error")).to_have_text("The end must differ from the start.")
    page.locator("#section-quiet-hours").get_by_label("Until").fill("07:00")
    page.locator("#section-quiet-hours").get_by_role("button", name="Save").click()
    expect(page.locator("#section-quiet-hours .saved")).to_have_text(
        "Saved. Notifications wait from 22:00 until 07:00, urgent deals too."
    )

    when = page.locator("#section-frequency")
    when.get_by_label("Daily digest").check()
    when.get_by_label("Digest time (America/Los_Angeles)").fill("08:30")
    when.get_by_role("button", name="Save").click()
    expect(page.locator("#section-frequency .saved")).to_have_text("Saved.")
    expect(page.locator("#section-frequency")).to_contain_text("Next digest:")

    assert page.evaluate("window.__marker") == "no reload"
    prefs = NotificationPreferences.objects.get(user=shopper)
    assert (prefs.quiet_hours_start, prefs.quiet_hours_end) == (time(22), time(7))
    assert (prefs.frequency, prefs.digest_time) == ("daily", time(8, 30))

    page.locator("#section-frequency").get_by_role("link", name="Preview it").click()
    expect(page.get_by_role("heading", name="Your next digest is empty so far")).to_be_visible()
