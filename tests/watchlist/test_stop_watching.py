"""The "Stop watching" link of a price-drop message: GET only asks, POST removes, the token is the proof."""

import time
from decimal import Decimal

import pytest
from django.core import signing
from django.test import Client

from tests.factories import ListingFactory, UserFactory
from watchlist import links, services
from watchlist.models import WatchlistItem


def watching(title: str = "ThinkPad T14", **user):
    owner = UserFactory(**user)
    item, _ = services.watch(owner, ListingFactory(title=title, price=Decimal(380)), Decimal(320))
    return owner, item


def stop_path(item) -> str:
    return "/" + links.stop_url(item.pk, item.created_at).split("://", 1)[1].split("/", 1)[1]


@pytest.mark.django_db
def test_opening_the_link_asks_and_changes_nothing_then_posting_removes_the_item(settings):
    settings.SITE_URL = "https://deals.example.com"
    _, item = watching()
    url = links.stop_url(item.pk, item.created_at)
    assert url.startswith("https://deals.example.com/watchlist/stop/")
    client = Client()  # not signed in: the link is the authority

    page = client.get(stop_path(item))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Stop watching “ThinkPad T14”?" in html and 'method="post"' in html
    assert WatchlistItem.objects.filter(pk=item.pk).exists()  # a link scanner's GET removed nothing

    done = client.post(stop_path(item))
    assert done.status_code == 200
    assert "You stopped watching it" in done.content.decode() and 'href="/watchlist/"' in done.content.decode()
    assert not WatchlistItem.objects.filter(pk=item.pk).exists()


@pytest.mark.django_db
def test_a_second_click_says_the_item_is_already_off_the_watchlist():
    _, item = watching()
    path = stop_path(item)
    Client().post(path)
    for method in ("get", "post"):
        again = getattr(Client(), method)(path)
        assert again.status_code == 200
        assert "Already off your watchlist" in again.content.decode()


@pytest.mark.django_db
def test_a_damaged_expired_or_other_purposes_token_is_a_friendly_400_and_removes_nothing(monkeypatch):
    _, item = watching()
    good = links.stop_token(item.pk, item.created_at)
    unsubscribe = signing.Signer(salt="notifications.unsubscribe").sign(f"{item.user_id}.{item.listing_id}")
    mailed = time.time() - links.STOP_MAX_AGE.total_seconds() - 60  # ninety days and a minute ago
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: mailed)
        expired = links.stop_token(item.pk, item.created_at)
    damaged = good[:-1] + ("A" if good[-1] != "A" else "B")
    for token in (damaged, "nonsense", unsubscribe, expired):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/watchlist/stop/{token}/")
            assert response.status_code == 400, token
            assert "This link does not work" in response.content.decode()
    assert WatchlistItem.objects.filter(pk=item.pk).exists()


@pytest.mark.django_db
def test_a_token_forged_to_name_another_users_item_is_a_400_and_their_item_stays():
    _, mine = watching(email="dana@example.com")
    _, theirs = watching(email="sam@example.com")
    token = links.stop_token(mine.pk, mine.created_at)
    _, timestamp, signature = token.split(":")
    forged = f"{theirs.pk}.{links.made_at(theirs.created_at)}:{timestamp}:{signature}"
    response = Client().post(f"/watchlist/stop/{forged}/")
    assert response.status_code == 400
    assert WatchlistItem.objects.filter(pk=theirs.pk).exists() and WatchlistItem.objects.filter(pk=mine.pk).exists()


@pytest.mark.django_db
def test_an_old_link_leaves_a_later_watch_of_the_same_listing_alone():
    owner, item = watching()
    old = stop_path(item)
    services.unwatch(item)
    again, _ = services.watch(owner, item.listing, Decimal(300))
    response = Client().post(old)
    assert response.status_code == 200 and "Already off your watchlist" in response.content.decode()
    assert WatchlistItem.objects.filter(pk=again.pk, price_threshold=Decimal(300)).exists()
