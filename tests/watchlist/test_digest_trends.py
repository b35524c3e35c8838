"""The digest's price trends for watched items: what moved in the period, as a registered section."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from listings.models import PricePoint
from notifications import digest_sections, digests
from notifications.models import Digest, NotificationPreferences
from recommendations import services as recommendation_services
from tests.factories import ListingFactory, UserFactory
from tests.queries import count_queries
from watchlist.models import WatchlistItem

# Wednesday 2026-11-25, 09:02 in Los Angeles (the factory's time zone): the daily digest is due.
TICK = datetime(2026, 11, 25, 17, 2, tzinfo=UTC)
LONG_AGO = TICK - timedelta(days=20)


def digest_user(frequency: str = "daily"):
    user = UserFactory()
    NotificationPreferences.objects.filter(user=user).update(frequency=frequency)
    return user


def watched(user, price: str, *, title: str = "ThinkPad T14", threshold=None, since=LONG_AGO):
    listing = ListingFactory(title=title, price=Decimal(price), first_seen_at=since, last_seen_at=since)
    WatchlistItem.objects.create(
        user=user,
        listing=listing,
        price_threshold=threshold,
        created_at=since,
        added_price=listing.price,
        lowest_price=listing.price,
        reference_price=listing.price,
    )
    return listing


def reprice(listing, price: str, when: datetime) -> None:
    listing.price = Decimal(price)
    listing.save(update_fields=["price"])
    PricePoint.objects.create(listing=listing, price=listing.price, recorded_at=when)


def test_the_watchlist_registers_its_section_from_its_app_config():
    assert "watchlist.price_trends" in [s.key for s in digest_sections.registered()]


@pytest.mark.django_db
def test_a_digest_with_only_price_trends_is_sent_with_change_and_sparkline(postmark_peer):
    user = digest_user()
    t14 = watched(user, "380.00")
    reprice(t14, "310.00", TICK - timedelta(hours=5))
    desk = watched(user, "100.00", title="Standing desk")
    reprice(desk, "110.00", TICK - timedelta(hours=3))
    still = watched(user, "50.00", title="Old moved one")
    reprice(still, "40.00", TICK - timedelta(days=3))  # before this daily period: not news today
    flat = watched(user, "75.00", title="Round trip")
    reprice(flat, "70.00", TICK - timedelta(hours=6))
    reprice(flat, "75.00", TICK - timedelta(hours=2))  # moved and came back

    run = digests.send_due_digests(TICK)

    assert (run.sent, run.empty) == (1, 0)
    [message] = postmark_peer.messages
    assert message["Subject"] == "Your daily digest: Price trends for your watched items"
    text = message["TextBody"]
    assert "- ThinkPad T14: down $70 (−18%), $380 → $310" in text
    assert "- Standing desk: up $10 (+10%), $100 → $110" in text
    assert text.index("ThinkPad T14") < text.index("Standing desk")  # biggest drop first
    assert "Old moved one" not in text and "Round trip" not in text and "Top deals" not in text
    html = message["HtmlBody"]
    site = settings.SITE_URL.rstrip("/")
    assert f'src="{site}/listings/{t14.pk}/chart.png?w=120"' in html and "Price trends for your watched items" in html
    # The sparkline the email points at is one the site draws.
    sparkline = Client().get(f"/listings/{t14.pk}/chart.png?w=120")
    assert sparkline.status_code == 200 and sparkline["Content-Type"] == "image/png"
    digest = Digest.objects.get()
    assert (digest.status, digest.deal_count) == ("sent", 0)


@pytest.mark.django_db
def test_no_moves_no_section_and_no_email(postmark_peer):
    user = digest_user()
    watched(user, "380.00")
    mover = watched(user, "200.00")
    reprice(mover, "150.00", TICK - timedelta(hours=2))
    mover.is_active = False  # sold: its trend is no longer worth a line
    mover.save(update_fields=["is_active"])
    run = digests.send_due_digests(TICK)
    assert (run.sent, run.empty) == (0, 1) and postmark_peer.requests == []


@pytest.mark.django_db
def test_a_weekly_digest_covers_the_week_and_a_move_before_watching_is_not_news(postmark_peer):
    weekly = digest_user("weekly")
    listing = watched(weekly, "500.00", title="Road bike")
    reprice(listing, "450.00", TICK - timedelta(days=4))
    later = watched(weekly, "90.00", title="Watched yesterday", since=TICK - timedelta(days=2))
    reprice(later, "80.00", TICK - timedelta(days=3))  # before the user watched it: not news
    # Another user watches the same listing since yesterday only, on a daily digest: no move for them.
    daily = digest_user()
    WatchlistItem.objects.create(
        user=daily,
        listing=listing,
        created_at=TICK - timedelta(days=1),
        added_price=450,
        lowest_price=450,
        reference_price=450,
    )
    trends = digests_sections_rows(weekly, daily)
    assert [(t.title, t.was, t.now) for t in trends[weekly.pk]] == [("Road bike", Decimal("500.00"), Decimal("450.00"))]
    assert trends.get(daily.pk, []) == []


def digests_sections_rows(weekly, daily):
    from watchlist.digest import price_trends

    windows = {
        weekly.pk: digest_sections.Window(TICK - timedelta(days=7), TICK),
        daily.pk: digest_sections.Window(TICK - timedelta(days=1), TICK),
    }
    return price_trends(windows)


@pytest.mark.django_db
def test_price_trend_queries_are_constant_per_batch(postmark_peer):
    def queries(users: int) -> int:
        tick = TICK + timedelta(days=users)  # a fresh period each time
        for _ in range(users):
            user = digest_user()
            for price in ("300.00", "120.00"):
                listing = watched(user, price)
                reprice(listing, "99.00", tick - timedelta(hours=2))
        # Each count includes building the recommender's shared parts (a process keeps them a while).
        recommendation_services.forget_shared_parts()
        return count_queries(lambda: digests.send_due_digests(tick))

    assert queries(2) == queries(7)


@pytest.mark.django_db
def test_the_digest_preview_shows_price_trends(client, postmark_peer):
    user = digest_user()
    listing = watched(user, "380.00")
    reprice(listing, "300.00", datetime.now(UTC) - timedelta(hours=1))
    client.force_login(user)
    page = client.get("/notifications/digest/preview/").content.decode()
    assert "Price trends for your watched items" in page and "$380 → $300" in page
    assert f"/listings/{listing.pk}/chart.png?w=120" in page
    assert Digest.objects.count() == 0 and postmark_peer.requests == []
