"""A shopper adds a phone on the settings page, types the texted code, sees it verified, removes it.

On a desktop and at a phone's width (390 px), with htmx (no reload), and with JavaScript off (plain posts).
"""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import User

from ..factories import UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's
CODE = re.compile(r"Deal Alerts code: (\d{6})\.")


def sign_in(page: Page, base: str, email: str) -> None:
    page.set_default_timeout(5_000)
    page.goto(f"{base}/accounts/login/?next=/notifications/settings/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()


def texted_code(peer) -> str:
    return CODE.search(peer.wait_for_messages(1)[-1]["body"]).group(1)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_shopper_verifies_and_removes_a_phone_in_place(live_server, page: Page, twilio_peer, width):
    page.set_viewport_size({"width": width, "height": 844})
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    shopper = UserFactory(email=f"phone.shopper.{width}@example.com")
    sign_in(page, live_server.url, shopper.email)
    page.evaluate("window.__marker = 'no reload'")
    section = page.locator("#section-phone")

    section.get_by_label("Mobile number").fill("+1 900 555 1234")
    section.get_by_role("button", name="Text me a code").click()
    expect(section.get_by_role("alert")).to_have_text(
        "Premium-rate numbers cannot receive alerts. Enter a mobile number."
    )

    section.get_by_label("Mobile number").fill("(201) 555-0123")
    section.get_by_role("button", name="Text me a code").click()
    expect(section.get_by_role("status")).to_have_text("Code sent to +1 •••-•••-0123. It expires in 10 minutes.")
    resend = section.get_by_role("button", name="Send a new code")
    expect(resend).to_be_disabled()  # the countdown script waits out the resend delay
    expect(section.locator(".resend-wait")).to_contain_text("You can ask again in")

    section.get_by_label("Code from the text").fill("000000" if texted_code(twilio_peer) != "000000" else "111111")
    section.get_by_role("button", name="Verify").click()
    expect(section.get_by_role("alert")).to_have_text("That code is not right. 4 tries left.")
    section.get_by_label("Code from the text").fill(texted_code(twilio_peer))
    section.get_by_role("button", name="Verify").click()
    expect(section.get_by_role("status")).to_contain_text("Verified: texts can now go to +1 •••-•••-0123.")
    expect(section.locator(".badge")).to_have_text("verified")
    assert User.objects.get(pk=shopper.pk).phone_verified is True
    wider_than_the_screen = page.evaluate(
        "[...document.querySelectorAll('#section-phone, #section-phone *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth).map(e => e.outerHTML.slice(0, 80))"
    )
    assert wider_than_the_screen == []

    section.get_by_role("button", name="Remove").click()
    expect(section.get_by_role("status")).to_have_text("Phone removed; SMS is off.")
    expect(section.get_by_label("Mobile number")).to_be_visible()
    assert User.objects.get(pk=shopper.pk).phone_number == ""
    assert page.evaluate("window.__marker") == "no reload"
    expect(page.locator("#section-channels")).to_have_count(1)  # refreshed out of band, in place
    assert csp_errors == []
    assert [m["to"] for m in twilio_peer.messages] == ["+12015550123"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_phone_section_works_without_javascript(live_server, browser: Browser, twilio_peer):
    shopper = UserFactory(email="phone.nojs@example.com")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, live_server.url, shopper.email)
        section = page.locator("#section-phone")
        section.get_by_label("Mobile number").fill("201 555 0123")
        section.get_by_role("button", name="Text me a code").click()
        expect(page.locator("#section-phone").get_by_role("status")).to_contain_text("Code sent to +1 •••-•••-0123.")
        expect(page.locator("#section-phone").get_by_role("button", name="Send a new code")).to_be_enabled()

        page.locator("#section-phone").get_by_label("Code from the text").fill(texted_code(twilio_peer))
        page.locator("#section-phone").get_by_role("button", name="Verify").click()
        expect(page.locator("#section-phone .badge")).to_have_text("verified")
        assert User.objects.get(pk=shopper.pk).phone_verified is True
    finally:
        context.close()
