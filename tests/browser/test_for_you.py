"""A shopper's For you page: ten cards with reasons, "Not interested" with Undo, why this, a tracked
click through to the listing and "I bought this" there; at 1280 px and at a phone's 390 px, CSP-clean."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from activity.models import Event, Kind
from listings.models import ListingView
from recommendations.models import Dismissal, Purchase

from ..factories import ListingFactory, UserFactory, category
from .test_page_polish import PHONE, log_in


def shopper_with_history():
    shopper = UserFactory(email="for.you@example.com")
    for n in range(4):
        seen = ListingFactory(title=f"ASUS ROG gaming laptop {n}", is_active=False)
        ListingView.objects.create(user=shopper, listing=seen, viewed_at=timezone.now() - timedelta(days=1))
    for n in range(4):
        ListingFactory(title=f"MSI gaming laptop with a rather long name, 16 GB RAM, RTX 4060 {n}")
    for slug in ("monitors", "bikes", "sofas"):
        for n in range(3):
            ListingFactory(title=f"{slug.capitalize()} deal {n}", category=category(slug))
    return shopper


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_for_you_cards_not_interested_why_click_and_bought(live_server, page: Page):
    page.set_default_timeout(5_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    shopper = shopper_with_history()
    log_in(page, live_server, shopper, next_url="/for-you/")

    # Ten cards, each saying why; the nav leads here.
    cards = page.locator(".card.rec")
    expect(cards).to_have_count(10)
    expect(cards.first.locator(".reason")).to_contain_text("You viewed 4 gaming laptops this week")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="For you")).to_be_visible()

    # Not interested: the card goes with Undo in its place; Undo brings it back.
    first = cards.first
    title = first.locator("h2").inner_text()
    first.get_by_role("button", name="Not interested").click()
    expect(page.get_by_text(f"“{title}” won't be recommended again")).to_be_visible()
    assert Dismissal.objects.filter(user=shopper, listing__title=title).exists()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".card.rec").filter(has_text=title)).to_be_visible()
    assert not Dismissal.objects.exists()

    # Why? Each signal with a bar for its weight.
    page.locator(".card.rec").first.get_by_role("link", name="Why?").click()
    expect(page).to_have_url(re.compile(r"/for-you/why/\d+/$"))
    assert page.locator("meter").count() > 1
    expect(page.locator(".signals")).to_contain_text("You viewed 4 gaming laptops")

    # A card's link counts the click, then opens the listing, where "I bought this" toggles.
    page.goto(f"{live_server.url}/for-you/")
    page.locator(".card.rec").first.locator("a.listing-link").click()
    expect(page).to_have_url(re.compile(r"/listings/\d+/$"))
    click = Event.objects.get(kind=Kind.RECOMMENDATION_CLICKED)
    assert (click.channel, click.rank) == ("page", 1)
    page.get_by_role("button", name="I bought this").click()
    expect(page.get_by_text("You bought this")).to_be_visible()
    assert Purchase.objects.filter(user=shopper, listing_id=click.listing_id).exists()
    expect(page.get_by_role("link", name="Why is this recommended?")).to_be_visible()

    # A phone: nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    for path in ("/for-you/", f"/for-you/why/{click.listing_id}/", f"/listings/{click.listing_id}/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    expect(page.get_by_text("You bought this")).to_be_visible()
    assert errors == []
