"""A shopper pastes a Discord webhook on the settings page, sees it saved and masked, sends a test that
the local Discord peer receives as an embed, and removes it; at a desktop's and a phone's width (390 px)."""

import pytest
from playwright.sync_api import Page, expect

from notifications.models import Address

from ..factories import UserFactory
from .test_phone_section import sign_in

HOOK_ID = "123456789012345678"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_shopper_registers_tests_and_removes_a_discord_webhook_in_place(live_server, page: Page, discord_peer, width):
    page.set_viewport_size({"width": width, "height": 844})
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    shopper = UserFactory(email=f"discord.shopper.{width}@example.com")
    sign_in(page, live_server.url, shopper.email)
    page.evaluate("window.__marker = 'no reload'")
    section = page.locator("#section-discord")

    section.get_by_label("Webhook URL").fill(f"https://discord.com.evil.example/api/webhooks/{HOOK_ID}/x")
    section.get_by_role("button", name="Save webhook").click()
    expect(section.get_by_role("alert")).to_contain_text("Paste the webhook URL Discord shows")

    section.get_by_label("Webhook URL").fill(discord_peer.webhook_url(HOOK_ID, "browser-token"))
    section.get_by_role("button", name="Save webhook").click()
    expect(section.get_by_role("status")).to_contain_text(f"Saved: discord.com/api/webhooks/{HOOK_ID}/••••••")
    expect(section).not_to_contain_text("browser-token")
    assert discord_peer.requests == []

    section.get_by_role("button", name="Send a test").click()
    [sent] = discord_peer.wait_for_messages(1)
    expect(section.get_by_role("status")).to_contain_text(sent["id"])
    assert sent["webhook_id"] == HOOK_ID and sent["body"]["embeds"][0]["title"] == "Discord reaches you"
    assert sent["body"]["allowed_mentions"] == {"parse": []}
    wider_than_the_screen = page.evaluate(
        "[...document.querySelectorAll('#section-discord, #section-discord *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth).map(e => e.outerHTML.slice(0, 80))"
    )
    assert wider_than_the_screen == []
    expect(page.locator("#section-channels")).not_to_contain_text("Discord (not set up)")  # swapped out of band

    section.get_by_role("button", name="Remove").click()
    expect(section.get_by_role("status")).to_have_text("Webhook removed; Discord is off.")
    assert not Address.objects.filter(user=shopper, channel="discord").exists()
    assert page.evaluate("window.__marker") == "no reload"
    assert csp_errors == []
