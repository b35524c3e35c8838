"""The digest's "Recommended for you" and "Sellers worth a look" sections."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from activity.models import Event, Kind
from alerts.models import DealAlertRule
from listings.models import ListingView
from notifications import digest_sections, digests
from notifications.events import DealEvent, RuleSource, notify
from notifications.models import NotificationPreferences
from recommendations import services
from recommendations.digest import recommended, sellers
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries

pytestmark = pytest.mark.django_db

# Wednesday 2026-11-25, 09:02 in Los Angeles (the factory's time zone): the daily digest is due.
TICK = datetime(2026, 11, 25, 17, 2, tzinfo=UTC)


def digest_user():
    user = UserFactory()
    NotificationPreferences.objects.filter(user=user).update(frequency="daily")
    return user


def history(user, count=4, title="ASUS ROG gaming laptop", slug="laptops"):
    for n in range(count):
        listing = ListingFactory(title=f"{title} {n}", category=category(slug), is_active=False)
        ListingView.objects.create(user=user, listing=listing, viewed_at=TICK - timedelta(days=1))


def held_deal(user, title="Held deal"):
    listing = ListingFactory(title=title, deal_score=0.6)  # not urgent: it waits for the digest
    notify([DealEvent(user.pk, listing.pk, RuleSource(1, "Rule", "in laptops"))], now=TICK - timedelta(hours=3))
    return listing


def windows(*users):
    return {u.pk: digest_sections.Window(TICK - timedelta(days=1), TICK) for u in users}


def sold_by(seller, count, slug="laptops", *, below=(20, 45, 30), score=0.7, **fields):
    return [
        ListingFactory(
            title=f"{seller} {slug} {n}",
            seller=seller,
            category=category(slug),
            deal_score=score,
            deal_score_explanation=f"{below[n % len(below)]}% below the median $375 of 12 similar listings.",
            **fields,
        )
        for n in range(count)
    ]


def test_both_sections_are_registered_from_the_app_config():
    keys = [s.key for s in digest_sections.registered()]
    assert "recommendations.for_you" in keys and "recommendations.sellers" in keys


def test_a_digest_carries_recommendations_with_reasons_and_tracked_links(postmark_peer, settings):
    user = digest_user()
    history(user)
    held_deal(user)
    picks = [ListingFactory(title=f"MSI gaming laptop {n}") for n in range(6)]

    run = digests.send_due_digests(TICK)

    assert run.sent == 1
    [message] = postmark_peer.messages
    assert message["Subject"].startswith("Your daily deals: 1 deal")
    text = message["TextBody"]
    assert "Recommended for you:" in text and "You viewed 4 gaming laptops this week" in text
    site = settings.SITE_URL.rstrip("/")
    tracked = re.findall(rf"{re.escape(site)}(/for-you/go/[^/\s]+/)", text)
    assert len(tracked) == 3, "the top recommendations (three laptops: the list is diversified)"
    assert "Recommended for you" in message["HtmlBody"] and tracked[0] in message["HtmlBody"]
    shown = Event.objects.filter(user=user, kind=Kind.RECOMMENDATION_SHOWN, channel="digest")
    assert sorted(shown.values_list("rank", flat=True)) == [1, 2, 3]

    # The email's link counts a click against the digest, then opens the listing here.
    response = Client().get(tracked[0])
    assert response.status_code == 302 and response["Location"] in {f"/listings/{p.pk}/" for p in picks}
    click = Event.objects.get(kind=Kind.RECOMMENDATION_CLICKED)
    assert (click.user_id, click.channel, click.rank) == (user.pk, "digest", 1)


def test_recommendations_alone_never_send_a_digest(postmark_peer):
    user = digest_user()
    history(user)
    ListingFactory(title="MSI gaming laptop")
    sold_by("Maria K.", 3)
    assert recommended(windows(user))[user.pk] and sellers(windows(user))[user.pk]
    run = digests.send_due_digests(TICK)
    assert (run.sent, run.empty) == (0, 1) and postmark_peer.requests == []
    digests.preview(user, TICK)
    assert not Event.objects.filter(kind__startswith="recommendation.").exists(), (
        "gathered, never shown: no impressions"
    )


def test_the_subject_names_only_news_sections(postmark_peer):
    from tests.watchlist.test_digest_trends import reprice, watched

    user = digest_user()
    history(user)
    ListingFactory(title="MSI gaming laptop")
    listing = watched(user, "380.00")
    reprice(listing, "310.00", TICK - timedelta(hours=5))
    digests.send_due_digests(TICK)
    [message] = postmark_peer.messages
    assert message["Subject"] == "Your daily digest: Price trends for your watched items"
    assert "Recommended for you" in message["TextBody"]


def test_sellers_worth_a_look_in_the_categories_a_user_follows():
    follower = UserFactory()
    DealAlertRule.objects.create(user=follower, name="Computers", categories=["computers"])  # laptops are under it
    viewer = UserFactory()
    history(viewer, count=3, title="Trek road bike", slug="bikes")
    nobody = UserFactory()
    sold_by("Maria K.", 3)
    sold_by("Sam", 2, slug="bikes", below=(25,))
    sold_by("One-off", 1)  # one good deal is not "several"
    sold_by("Pricey", 3, score=0.4)  # not good deals
    sold_by("Gone", 3, is_active=False)
    sold_by("Old", 3, first_seen_at=TICK - timedelta(days=40))

    rows = sellers(windows(follower, viewer, nobody))

    [maria] = rows[follower.pk]
    assert maria.why == "Maria K. has 3 laptops 20–45% below similar listings"
    assert maria.url.rstrip("/").rsplit("/", 2)[-2] == "go", "a tracked link"
    [sam] = rows[viewer.pk]
    assert sam.why == "Sam has 2 bikes 25% below similar listings"
    assert nobody.pk not in rows


def test_a_paused_rule_follows_nothing():
    user = UserFactory()
    DealAlertRule.objects.create(user=user, name="Laptops", categories=["laptops"], enabled=False)
    sold_by("Maria K.", 3)
    assert sellers(windows(user)) == {}


def test_why_without_a_percentage_gives_the_scores():
    user = UserFactory()
    DealAlertRule.objects.create(user=user, name="Laptops", categories=["laptops"])
    for n, score in enumerate((0.65, 0.9)):
        ListingFactory(title=f"laptop {n}", seller="Ann", deal_score=score, deal_score_explanation="Scored.")
    [pick] = sellers(windows(user))[user.pk]
    assert pick.why == "Ann has 2 laptops with deal scores 0.65–0.90"
    assert pick.best.title == "laptop 1"


def test_both_sections_take_the_same_queries_for_a_bigger_batch():
    for seller in ("Maria K.", "Ann", "Bo"):
        sold_by(seller, 3)
    sold_by("Sam", 3, slug="bikes")
    for n in range(6):
        ListingFactory(title=f"MSI gaming laptop {n}")

    def queries(count: int) -> int:
        users = [UserFactory() for _ in range(count)]
        for n, user in enumerate(users):
            history(user, count=2 + n, slug="bikes" if n % 2 else "laptops")
            DealAlertRule.objects.create(user=user, name="Laptops", categories=["laptops"])
        services.forget_shared_parts()
        batch = windows(*users)
        return count_queries(lambda: (recommended(batch), sellers(batch)))

    assert queries(2) == queries(7)
