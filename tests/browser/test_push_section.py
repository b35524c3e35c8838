"""A shopper turns push on in Chromium, sees the browser listed, and sends a test push the peer decrypts.

Chromium's own push service is not reachable here, so the subscription comes from the local push
service (keys the test made) and is handed to the page's own script, which posts it to the API as
it would a subscription from `pushManager.subscribe`. The service worker is registered for real.
"""

import pytest
from playwright.sync_api import Page, expect

from notifications.models import Address

from ..factories import UserFactory
from .test_phone_section import sign_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_shopper_enables_push_sees_the_device_and_a_test_push_arrives(live_server, page: Page, webpush_peer, width):
    page.set_viewport_size({"width": width, "height": 844})
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    shopper = UserFactory(email=f"push.shopper.{width}@example.com")
    sign_in(page, live_server.url, shopper.email)
    section = page.locator("#section-push")
    expect(section.get_by_role("button", name="Enable on this device")).to_be_visible()
    expect(section).to_contain_text("No browser gets pushes yet.")

    scope = page.evaluate(
        "navigator.serviceWorker.register('/sw.js', {scope: '/'})"
        ".then(() => navigator.serviceWorker.ready).then(r => r.scope)"
    )
    assert scope == f"{live_server.url}/"
    subscription = webpush_peer.subscribe()
    page.evaluate("(subscription) => window.dealAlertsPush.save(subscription)", subscription)

    expect(section.get_by_role("status")).to_have_text("Push is on for this browser.")
    expect(section.locator(".push-device")).to_have_count(1)
    expect(section.locator(".push-device")).to_contain_text("Chrome on Linux")
    [device] = Address.objects.filter(user=shopper, channel="push")
    assert device.usable
    wider_than_the_screen = page.evaluate(
        "[...document.querySelectorAll('#section-push, #section-push *')]"
        ".filter(e => e.getBoundingClientRect().right > innerWidth).map(e => e.outerHTML.slice(0, 80))"
    )
    assert wider_than_the_screen == []

    section.get_by_role("button", name="Send a test push").click()
    expect(page.locator("#section-test").get_by_role("status")).to_contain_text("Sent.")
    [pushed] = webpush_peer.wait_for_pushes(1)
    assert pushed.token == webpush_peer.token_of(subscription)
    assert pushed.payload["title"] == "Push reaches you" and pushed.ttl > 0

    section.get_by_role("button", name="Remove").click()
    expect(section.get_by_role("status")).to_have_text("Removed: this browser gets no more pushes.")
    assert not Address.objects.filter(user=shopper, channel="push").exists()
    assert csp_errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_browser_that_blocked_notifications_is_told_how_to_allow_them(live_server, page: Page, webpush_peer):
    # As Chromium answers once the person chose "Block" for the site.
    page.add_init_script(
        "Object.defineProperty(Notification, 'permission', {get: () => 'denied'});"
        "Notification.requestPermission = () => Promise.resolve('denied');"
    )
    shopper = UserFactory(email="push.blocked@example.com")
    sign_in(page, live_server.url, shopper.email)
    status = page.locator("#section-push .push-status")
    expect(status).to_contain_text("Notifications are blocked for this site")
    status.evaluate("element => { element.textContent = ''; }")
    page.locator("#section-push").get_by_role("button", name="Enable on this device").click()
    expect(status).to_contain_text(
        "Notifications are blocked for this site: allow them in your browser's site settings"
    )
    assert not Address.objects.filter(user=shopper).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_browser_without_web_push_is_told_so_and_offered_no_button(live_server, page: Page, webpush_peer):
    page.add_init_script("delete window.PushManager;")
    shopper = UserFactory(email="push.unsupported@example.com")
    sign_in(page, live_server.url, shopper.email)
    section = page.locator("#section-push")
    expect(section.locator(".push-status")).to_have_text("This browser cannot get push notifications.")
    expect(section.get_by_role("button", name="Enable on this device")).to_be_hidden()
