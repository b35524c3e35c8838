"""A shopper watches a listing with a target; a connector posts a lower price; the alert and the watchlist say so."""

import pytest
import requests
from django.contrib.auth.models import Permission
from django.core import mail
from playwright.sync_api import Page, expect
from rest_framework.authtoken.models import Token

from listings.models import Listing
from notifications.models import Delivery

from ..factories import UserFactory, raw_listing
from .test_page_polish import PHONE, log_in

HEADLINE = "ThinkPad T14 laptop dropped to $310 (−18%, was $380) — below your $320 target"


def post_listing(live_server, token: str, **fields) -> None:
    response = requests.post(
        f"{live_server.url}/api/listings",
        json=[raw_listing(external_id="t14", title="ThinkPad T14 laptop", deal_score=0.3, **fields)],
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_watch_then_a_drop_posted_through_ingest_reaches_history_and_the_watchlist(
    live_server, page: Page, eager_tasks
):
    page.set_default_timeout(5_000)
    connector = UserFactory(email="connector@example.com")
    connector.user_permissions.add(Permission.objects.get(codename="ingest_listings"))
    token = Token.objects.create(user=connector).key
    post_listing(live_server, token, price="380.00")
    shopper = UserFactory(email="watcher@example.com")

    # The listing page: watch it with a $320 target.
    listing = Listing.objects.get(external_id="t14")
    log_in(page, live_server, shopper, next_url=f"/listings/{listing.pk}/")
    watch = page.locator(f"#watch-{listing.pk}")
    watch.get_by_label("Target price").fill("320")
    watch.get_by_role("button", name="Watch").click()
    expect(page.locator(f"#watch-{listing.pk}")).to_contain_text("Watching · target $320")

    # A connector posts the lower price through the ingest API; the worker's path finds the watcher.
    post_listing(live_server, token, price="310.00")
    delivery = Delivery.objects.get(notification__user=shopper, channel="email")
    assert delivery.status == "sent" and delivery.notification.urgent
    [email] = [m for m in mail.outbox if m.to == [shopper.email]]
    assert email.subject == HEADLINE
    html = email.alternatives[0][0]
    assert f"/listings/{listing.pk}/chart.png" in html and "Stop watching" in html

    # The history says what happened, in the same words.
    page.goto(f"{live_server.url}/notifications/")
    expect(page.get_by_text(HEADLINE)).to_be_visible()

    # The watchlist shows the new price, the change since added and the status, at a phone's width too.
    page.goto(f"{live_server.url}/watchlist/")
    card = page.locator(".card.listing").filter(has_text="ThinkPad T14 laptop")
    expect(card).to_contain_text("$310")
    expect(card).to_contain_text("Alerted")
    expect(card.locator(".change")).to_contain_text("$70")
    expect(card.locator("svg")).to_be_visible()
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.locator(".card.listing").first).to_be_visible()

    # Remove reads as a link on the white card (not white on white), and Undo brings the card back.
    remove = page.locator(".card.listing").first.get_by_role("button", name="Remove")
    assert remove.evaluate("b => getComputedStyle(b).color") != "rgb(255, 255, 255)"
    remove.click()
    expect(page.get_by_text("Removed “ThinkPad T14 laptop”")).to_be_visible()
    undo = page.get_by_role("button", name="Undo")
    assert undo.evaluate("b => getComputedStyle(b).color") != "rgb(255, 255, 255)"
    undo.click()
    expect(page.locator(".card.listing").filter(has_text="ThinkPad T14 laptop")).to_be_visible()
