"""A new shopper is asked to confirm their address, resends the link, follows it, and the reminder is gone."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import Page, expect

from accounts.models import User

EMAIL = "confirm.me@example.com"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_shopper_confirms_their_email_from_the_link(live_server, page: Page, eager_tasks):
    cache.clear()
    page.set_default_timeout(5_000)
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill("correct-horse-battery-9")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status").first).to_contain_text(f"We are sending a link to {EMAIL}")
    assert len(mail.outbox) == 1

    page.goto(f"{live_server.url}/notifications/settings/")
    notice = page.locator("#confirm-email-notice")
    expect(notice).to_contain_text(f"Confirm your email address to receive alerts — we sent a link to {EMAIL}")
    expect(page.locator("#section-channels")).to_contain_text("not confirmed yet")
    notice.get_by_role("button", name="Resend confirmation email").click()
    expect(page.locator(".messages")).to_contain_text("You can ask for another one in")  # sign-up's link counts
    assert len(mail.outbox) == 1

    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(live_server.url + urlsplit(link).path)
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    assert User.objects.get(email=EMAIL).email_confirmed_at is not None
    page.get_by_role("link", name="Notification settings").click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    expect(page.locator("#confirm-email-notice")).to_have_count(0)
    expect(page.locator("#no-channel")).to_have_count(0)
