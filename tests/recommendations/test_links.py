"""Tracked links: signed with their own salt, expiring, counted, and never leading off-site."""

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client

from activity.models import Event, Kind
from notifications import links as notification_links
from recommendations import links
from recommendations.models import Surface
from tests.factories import ListingFactory, UserFactory

pytestmark = pytest.mark.django_db

BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


def test_a_click_is_counted_then_the_listing_page(user):
    listing = ListingFactory()
    path = links.click_path(user.id, listing.id, Surface.DIGEST, 3)
    response = Client().get(path)  # from an email: no session needed
    assert response.status_code == 302 and response["Location"] == f"/listings/{listing.pk}/"
    click = Event.objects.get(kind=Kind.RECOMMENDATION_CLICKED)
    assert (click.user_id, click.listing_id, click.channel, click.rank) == (user.id, listing.id, "digest", 3)
    assert (click.ref_id, click.machine, click.repeat, click.first_human) == (listing.id, True, False, False), (
        "no user agent: a machine"
    )


def clicks() -> list[tuple]:
    rows = Event.objects.filter(kind=Kind.RECOMMENDATION_CLICKED).order_by("id")
    return list(rows.values_list("user_id", "machine", "repeat", "first_human", "user_agent"))


def test_a_persons_first_click_counts_once_per_user_and_a_scanner_is_a_machine(user):
    listing = ListingFactory()
    someone = UserFactory()
    mine = links.click_path(user.id, listing.id, Surface.DIGEST, 1)
    theirs = links.click_path(someone.id, listing.id, Surface.DIGEST, 1)
    Client(headers={"User-Agent": "Proofpoint URL Defense"}).get(mine)  # a mail filter follows it first
    Client(headers={"User-Agent": BROWSER}).get(mine)
    Client(headers={"User-Agent": BROWSER}).get(mine)
    Client(headers={"User-Agent": BROWSER}).get(theirs)
    assert clicks() == [
        (user.id, True, False, False, "Proofpoint URL Defense"),
        (user.id, False, True, True, BROWSER),  # a repeat of the click, yet the first by a person
        (user.id, False, True, False, BROWSER),
        (someone.id, False, False, True, BROWSER),  # another person's click on the same deal is their first
    ]


def test_a_head_probe_is_a_machines_click(user):
    listing = ListingFactory()
    response = Client(headers={"User-Agent": BROWSER}).head(links.click_path(user.id, listing.id, Surface.PAGE, 2))
    assert response.status_code == 302
    assert clicks() == [(user.id, True, False, False, BROWSER)]


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
    assert not Event.objects.filter(kind__startswith="recommendation.").exists()


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
    assert Event.objects.filter(kind=Kind.RECOMMENDATION_CLICKED).count() == 1


def test_a_link_to_a_deleted_listing_or_user_is_a_404():
    shopper, listing = UserFactory(), ListingFactory()
    gone_listing = links.click_path(shopper.id, listing.id, Surface.PAGE, 1)
    someone = UserFactory()
    gone_user = links.click_path(someone.id, ListingFactory().id, Surface.PAGE, 1)
    listing.delete()
    someone.delete()
    assert Client().get(gone_listing).status_code == 404
    assert Client().get(gone_user).status_code == 404
    assert not Event.objects.filter(kind__startswith="recommendation.").exists()
