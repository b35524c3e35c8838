"""The demo shopper's watchlist: seeded once, and the demo feed's markdowns reach it as price-drop alerts."""

import random
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from listings.demo import markdown, stale_listings
from listings.management.commands.seed_demo import DEMO_EMAIL
from notifications.models import Kind, Notification
from watchlist.management.commands.seed_demo_watchlist import DEMO_TARGETS
from watchlist.models import WatchlistItem


@pytest.mark.django_db
def test_the_demo_watchlist_is_seeded_once_from_the_listings_the_feed_marks_down(capsys):
    with pytest.raises(CommandError):
        call_command("seed_demo_watchlist")
    call_command("seed_demo", listings=300, days=6)
    call_command("seed_demo_watchlist")
    call_command("seed_demo_watchlist")  # again: nothing more
    assert "already has a watchlist" in capsys.readouterr().out

    shopper = User.objects.get(email=DEMO_EMAIL)
    items = list(WatchlistItem.objects.filter(user=shopper).select_related("listing"))
    assert len(items) == len(DEMO_TARGETS)
    assert {i.listing_id for i in items} <= {listing.id for listing in stale_listings()}
    assert sum(i.price_threshold is None for i in items) == 1  # one watches for any real drop
    assert all(i.price_threshold < i.listing.price for i in items if i.price_threshold is not None)


@pytest.mark.django_db
def test_the_demo_feed_marks_a_watched_listing_down_and_the_shopper_hears(
    eager_tasks, django_capture_on_commit_callbacks
):
    call_command("seed_demo", listings=300, days=6)
    call_command("seed_demo_watchlist")
    shopper = User.objects.get(email=DEMO_EMAIL)
    drops = Notification.objects.filter(user=shopper, kind=Kind.PRICE_DROP)
    for seed in range(8):  # a few ticks of the feed, each marking one long-listed listing down
        with django_capture_on_commit_callbacks(execute=True):
            call_command("simulate_feed", count=1, rate=100, markdown_share=1, seed=seed)
        if drops.exists():
            break
    drop = drops.first()
    assert drop is not None and drop.news.startswith("drop:")
    assert "dropped to" in drop.headline


@pytest.mark.django_db
def test_a_markdown_is_10_to_25_percent_and_a_listing_under_half_its_first_price_is_relisted():
    call_command("seed_demo", listings=300, days=6)
    listing = stale_listings(1)[0]
    rng = random.Random(3)
    first = listing.price_points.order_by("recorded_at", "id").first().price
    for _ in range(20):
        new = markdown(rng, listing).price
        if listing.price * 2 < first:
            assert new == first
        else:
            assert listing.price * Decimal("0.74") <= new < listing.price * Decimal("0.91")
        listing.price = new
