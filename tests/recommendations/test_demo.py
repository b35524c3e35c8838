"""Demo shoppers: hidden tastes that show in what they do, within the listings' lifetimes."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from listings.models import ListingView
from recommendations.demo import seed_history, seed_shoppers
from recommendations.models import Dismissal
from tests.factories import UserFactory

from .catalogue import make_catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    now = timezone.now()
    make_catalogue(now, per_category=24, lifetime=timedelta(days=6))
    return now


def histories() -> dict[str, list[tuple]]:
    rows = ListingView.objects.order_by("user__email", "viewed_at", "listing_id").values_list(
        "user__email", "listing__title", "viewed_at"
    )
    found: dict[str, list[tuple]] = {}
    for email, title, _ in rows:
        found.setdefault(email, []).append(title)
    return found


def test_shoppers_are_deterministic_per_seed_and_seeding_twice_adds_nothing(catalogue):
    assert seed_shoppers(6, seed=3, now=catalogue) == 6
    first = histories()
    assert seed_shoppers(6, seed=3, now=catalogue) == 0
    assert histories() == first
    ListingView.objects.all().delete()
    User.objects.filter(email__startswith="shopper-").delete()
    seed_shoppers(6, seed=3, now=catalogue)
    assert histories() == first


def test_views_happen_only_while_a_listing_is_active(catalogue):
    seed_shoppers(10, now=catalogue)
    views = ListingView.objects.select_related("listing")
    assert views.count() > 50
    for view in views:
        assert view.listing.first_seen_at <= view.viewed_at
        assert view.listing.deactivated_at is None or view.viewed_at < view.listing.deactivated_at


def test_a_shoppers_favourite_categories_dominate_their_views(catalogue):
    seed_shoppers(12, now=catalogue)
    shares = []
    for user in User.objects.filter(email__startswith="shopper-"):
        counts = Counter(ListingView.objects.filter(user=user).values_list("listing__category__slug", flat=True))
        if sum(counts.values()) >= 10:
            top_two = sum(n for _, n in counts.most_common(2))
            shares.append(top_two / sum(counts.values()))
    assert shares and sum(shares) / len(shares) > 0.6, shares  # four categories: 0.5 would be chance
    assert Dismissal.objects.exists()


def test_the_demo_user_gets_the_taste_given_once(catalogue):
    demo = UserFactory(email="demo@dealalerts.local")
    assert seed_history(demo, ["laptops", "monitors"], now=catalogue) > 0
    counts = Counter(ListingView.objects.filter(user=demo).values_list("listing__category__slug", flat=True))
    assert counts["laptops"] > counts["sofas"] and counts["monitors"] > counts["bikes"]
    assert seed_history(demo, ["laptops", "monitors"], now=catalogue) == 0
