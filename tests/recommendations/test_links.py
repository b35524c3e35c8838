"""Tracked links: signed with their own salt, expiring, counted, and never leading off-site."""

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from notifications import links as notification_links
from recommendations import links
from recommendations.models import RecommendationEvent, Surface
from tests.factories import ListingFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_click_is_counted_then_the_listing_page(user):
    listing = ListingFactory()
    path = links.click_path(user.id, listing.id, Surface.DIGEST, 3)
    response = Client().get(path)  # from an email: no session needed
    assert response.status_code == 302 and response["Location"] == f"/listings/{listing.pk}/"
    click = RecommendationEvent.objects.get(action="clicked")
    assert (click.user_id, click.listing_id, click.surface, click.rank) == (user.id, listing.id, "digest", 3)


def test_the_absolute_url_is_on_the_site(user, settings):
    settings.SITE_URL = "https://deals.example"
    url = links.click_url(user.id, 5, Surface.DIGEST, None)
    assert url.startswith("https://deals.example/for-you/go/")
    assert links.click_from_token(url.rstrip("/").rsplit("/", 1)[1]) == (user.id, 5, "digest", None)


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "",
        "1.2.page.1:abc:def",
        signing.TimestampSigner(salt="recommendations.click").sign("1.2.nowhere.1"),  # no such surface
        signing.TimestampSigner(salt="recommendations.click").sign("https://evil.example/"),
        signing.TimestampSigner(salt="watchlist.stop").sign("1.2.page.1"),  # another purpose's salt
    ],
)
def test_a_bad_token_is_a_404_page(token, user):
    ListingFactory()
    response = Client().get(f"/for-you/go/{token}/")
    assert response.status_code == 404
    assert not RecommendationEvent.objects.exists()


def test_another_purposes_token_does_not_pass(user):
    listing = ListingFactory()
    token = notification_links.click_url(listing.id, "email").rstrip("/").rsplit("/", 1)[1]
    assert links.click_from_token(token) is None


def test_an_expired_link_is_a_404(user, monkeypatch):
    listing = ListingFactory()

    def made(days_ago: int) -> str:
        with monkeypatch.context() as patched:
            then = time.time() - timedelta(days=days_ago).total_seconds()
            patched.setattr(signing.time, "time", lambda: then)
            return links.click_path(user.id, listing.id, Surface.PAGE, 1)

    assert Client().get(made(91)).status_code == 404
    assert Client().get(made(89)).status_code == 302
    assert RecommendationEvent.objects.count() == 1


def test_a_link_to_a_deleted_listing_or_user_is_a_404():
    shopper, listing = UserFactory(), ListingFactory()
    gone_listing = links.click_path(shopper.id, listing.id, Surface.PAGE, 1)
    someone = UserFactory()
    gone_user = links.click_path(someone.id, ListingFactory().id, Surface.PAGE, 1)
    listing.delete()
    someone.delete()
    assert Client().get(gone_listing).status_code == 404
    assert Client().get(gone_user).status_code == 404
    assert not RecommendationEvent.objects.exists()
