"""The settings page's phone section: with htmx (the section comes back) and as plain form posts."""

import re

import pytest
from django.test import Client

from accounts.models import User
from notifications.models import NotificationPreferences
from tests.factories import UserFactory
from tests.queries import count_queries

HTMX = {"HTTP_HX_REQUEST": "true"}
URL = "/notifications/settings/phone/"
NUMBER = "+12015550123"


@pytest.fixture
def shopper(db):
    return UserFactory()


@pytest.fixture
def browser(shopper) -> Client:
    client = Client()
    client.force_login(shopper)
    return client


def code_from(peer) -> str:
    return re.search(r"code: (\d{6})\.", peer.messages[-1]["body"]).group(1)


def test_the_settings_page_offers_to_add_a_phone(browser):
    page = browser.get("/notifications/settings/").content.decode()
    assert "<h2>Phone (SMS)</h2>" in page
    assert '<label for="phone-number">Mobile number</label>' in page
    assert "js/phone-code" in page


def test_enter_verify_and_remove_through_htmx(browser, shopper, twilio_peer):
    sent = browser.post(URL, {"action": "send", "phone_number": "(201) 555-0123"}, **HTMX).content.decode()

    assert "Code sent to +1 •••-•••-0123. It expires in 10 minutes." in sent
    assert 'name="otp"' in sent and 'data-resend-after="30"' in sent
    assert NUMBER not in sent and "2015550123" not in sent  # masked on the page too
    assert 'id="section-channels"' in sent and 'hx-swap-oob="true"' in sent
    assert "<html" not in sent

    verified = browser.post(URL, {"action": "verify", "otp": code_from(twilio_peer)}, **HTMX).content.decode()

    assert "Verified: texts can now go to +1 •••-•••-0123." in verified
    assert '<span class="badge">verified</span>' in verified
    assert User.objects.get(pk=shopper.pk).phone_verified is True

    NotificationPreferences.objects.filter(user=shopper).update(channels=["email", "sms"])
    removed = browser.post(URL, {"action": "remove"}, **HTMX).content.decode()

    assert "Phone removed; SMS is off." in removed and 'name="phone_number"' in removed
    assert NotificationPreferences.objects.get(user=shopper).channels == ["email"]
    assert User.objects.get(pk=shopper.pk).phone_number == ""


def test_errors_show_inline_beside_the_field(browser, shopper, twilio_peer):
    bad = browser.post(URL, {"action": "send", "phone_number": "+1 900 555 1234"}, **HTMX)

    assert bad.status_code == 200  # htmx swaps only a 2xx
    page = bad.content.decode()
    assert 'aria-invalid="true"' in page
    assert '<p class="error" role="alert" id="phone-number-error">Premium-rate numbers cannot receive alerts.' in page
    assert 'value="+1 900 555 1234"' in page  # what the user typed stays for correcting

    browser.post(URL, {"action": "send", "phone_number": NUMBER}, **HTMX)
    wrong = browser.post(URL, {"action": "verify", "otp": "12"}, **HTMX).content.decode()
    assert 'id="phone-otp-error">Enter the 6-digit code we texted you.</p>' in wrong

    early = browser.post(URL, {"action": "resend"}, **HTMX).content.decode()
    assert "A code was just sent. You can ask for another in" in early


def test_the_section_works_as_plain_form_posts(browser, shopper, twilio_peer, settings):
    settings.SMS_CODE_RESEND_SECONDS = 0
    page = browser.post(URL, {"action": "send", "phone_number": NUMBER})
    assert page.status_code == 200 and "<h1>Notification settings</h1>" in page.content.decode()

    assert browser.post(URL, {"action": "resend"}).status_code == 200
    assert len(twilio_peer.messages) == 2 and twilio_peer.messages[1]["to"] == NUMBER

    refused = browser.post(URL, {"action": "verify", "otp": "000000" if code_from(twilio_peer) != "000000" else "1"})
    assert refused.status_code == 400 and "That code is not right. 4 tries left." in refused.content.decode()

    done = browser.post(URL, {"action": "verify", "otp": code_from(twilio_peer)})
    assert done.status_code == 200 and "Verified: texts can now go to" in done.content.decode()
    assert User.objects.get(pk=shopper.pk).phone_verified is True


@pytest.mark.parametrize("post", [{}, {"action": "explode"}, {"action": "send"}, {"action": "verify", "otp": "\x00"}])
def test_hostile_or_missing_input_is_a_form_error(browser, shopper, post):
    response = browser.post(URL, post)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert User.objects.get(pk=shopper.pk).phone_number == ""


def test_signed_out_visitors_are_sent_to_log_in(client, db):
    response = client.post(URL, {"action": "remove"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_phone_section_adds_one_query_to_the_page(browser, shopper, twilio_peer):
    without_phone = count_queries(lambda: browser.get("/notifications/settings/"))
    browser.post(URL, {"action": "send", "phone_number": NUMBER}, **HTMX)
    assert count_queries(lambda: browser.get("/notifications/settings/")) == without_phone + 1
