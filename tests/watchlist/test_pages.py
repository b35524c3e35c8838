"""My watchlist, a card's target and Remove/Undo, the watch page and the Watch button, with and without htmx."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from listings.models import Listing, PricePoint
from notifications import links
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries
from watchlist import services
from watchlist.models import WatchlistItem

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def watched(user, title="ThinkPad T14", added=380, now_price=None, threshold=None, **listing):
    item, _ = services.watch(user, ListingFactory(title=title, price=Decimal(added), **listing), threshold)
    if now_price is not None:
        Listing.objects.filter(pk=item.listing_id).update(price=Decimal(now_price))
        PricePoint.objects.create(listing_id=item.listing_id, price=Decimal(now_price), recorded_at=timezone.now())
    return item


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_page_shows_each_card(browser, user):
    watched(user, now_price=342, threshold=Decimal(320))
    page = browser.get("/watchlist/")
    assert page.status_code == 200
    html = text(page)
    assert "ThinkPad T14" in html and "$342" in html
    assert "Down $38 (−10.0%) since you added it at $380" in html and 'class="change down"' in html
    assert "Target</dt><dd>$320" in html and "Lowest</dt><dd>$380" in html
    assert 'class="chart compact"' in html and "<polyline" in html
    assert 'class="badge watching"' in html
    assert 'href="/watchlist/"' in html  # in the nav


def test_empty_and_no_match_states(browser, user):
    html = text(browser.get("/watchlist/"))
    assert "Your watchlist is empty" in html and 'href="/"' in html
    watched(user)
    html = text(browser.get("/watchlist/?at_or_below_target=true"))
    assert "No items match the filter" in html


def test_sort_and_filter_on_the_page(browser, user):
    now = timezone.now()
    watched(user, "small drop", 100, 90, posted_at=now - timedelta(days=1))
    watched(user, "big drop", 100, 50, threshold=Decimal(60), posted_at=now - timedelta(days=9))
    watched(user, "bike", 400, category=category("bikes"), posted_at=now - timedelta(days=5))

    def order(query):
        html = text(browser.get("/watchlist/" + query))
        return [t for t in re.findall(r"<h2>([^<]+)</h2>", html)]

    assert order("?sort=drop") == ["big drop", "small drop", "bike"]
    assert order("?sort=ending") == ["big drop", "bike", "small drop"]
    assert order("?category=computers") == ["big drop", "small drop"]
    assert order("?at_or_below_target=true") == ["big drop"]
    bad = browser.get("/watchlist/?sort=nonsense&category=nope")
    assert bad.status_code == 200 and "Sort by one of" in text(bad) and "No category" in text(bad)


def test_htmx_sort_returns_just_the_list(browser, user):
    watched(user)
    response = browser.get("/watchlist/?sort=price", **HTMX)
    assert "<html" not in text(response) and 'class="cards watch-cards"' in text(response)


def test_the_page_takes_the_same_queries_for_2_items_or_20(browser, user):
    for _ in range(2):
        watched(user, now_price=300)
    few = count_queries(lambda: browser.get("/watchlist/?sort=drop"))
    for _ in range(18):
        watched(user, now_price=300)
    assert text(browser.get("/watchlist/")).count('class="card listing"') == 20
    assert count_queries(lambda: browser.get("/watchlist/?sort=drop")) == few


def test_target_edit_without_js_redirects_and_with_htmx_returns_the_card(browser, user):
    item = watched(user)
    response = browser.post(f"/watchlist/{item.pk}/target/", {"price_alert_threshold": "300"})
    assert response.status_code == 302 and response["Location"] == "/watchlist/"
    item.refresh_from_db()
    assert item.price_threshold == Decimal(300)

    card = browser.post(f"/watchlist/{item.pk}/target/", {"price_alert_threshold": ""}, **HTMX)
    assert card.status_code == 200 and text(card).strip().startswith('<li class="card listing"')
    assert "Target</dt><dd>Any drop" in text(card)
    item.refresh_from_db()
    assert item.price_threshold is None


def test_target_errors_show_under_the_field(browser, user):
    item = watched(user)
    card = browser.post(f"/watchlist/{item.pk}/target/", {"price_alert_threshold": "500"}, **HTMX)
    assert "already $380" in text(card) and 'class="error"' in text(card)
    page = browser.post(f"/watchlist/{item.pk}/target/", {"price_alert_threshold": "abc"})
    assert page.status_code == 400 and "Enter a number" in text(page) and "<html" in text(page)
    page = browser.post(f"/watchlist/{item.pk}/target/", {"price_alert_threshold": "1" * 40})
    assert page.status_code == 400
    item.refresh_from_db()
    assert item.price_threshold is None


def test_remove_and_undo_with_htmx(browser, user):
    item = watched(user, threshold=Decimal(300))
    removed = browser.post(f"/watchlist/{item.pk}/remove/", **HTMX)
    assert "Removed “ThinkPad T14”" in text(removed) and "Undo" in text(removed)
    assert not WatchlistItem.objects.exists()
    token = re.search(r'name="token" value="([^"]+)"', removed.content.decode()).group(1)
    back = browser.post("/watchlist/restore/", {"token": token}, **HTMX)
    assert 'class="card listing"' in text(back)
    restored = WatchlistItem.objects.get()
    assert restored.price_threshold == Decimal(300) and restored.added_price == Decimal(380)
    again = browser.post("/watchlist/restore/", {"token": token}, **HTMX)
    assert "already back" in text(again) and WatchlistItem.objects.count() == 1


def test_remove_and_undo_without_js(browser, user):
    item = watched(user)
    assert browser.post(f"/watchlist/{item.pk}/remove/")["Location"] == "/watchlist/"
    page = text(browser.get("/watchlist/"))
    assert "Removed “ThinkPad T14” from your watchlist." in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    assert browser.post("/watchlist/restore/", {"token": token}).status_code == 302
    assert WatchlistItem.objects.filter(user=user).count() == 1
    assert browser.post("/watchlist/restore/", {"token": "forged"}).status_code == 302
    assert WatchlistItem.objects.count() == 1


def test_another_users_item_is_a_404(browser):
    theirs = watched(UserFactory())
    assert browser.post(f"/watchlist/{theirs.pk}/target/", {"price_alert_threshold": "1"}).status_code == 404
    assert browser.post(f"/watchlist/{theirs.pk}/remove/").status_code == 404
    assert WatchlistItem.objects.filter(pk=theirs.pk, price_threshold=None).exists()


def test_pages_need_a_login():
    client = Client()
    assert client.get("/watchlist/")["Location"].startswith("/accounts/login/")
    listing = ListingFactory()
    assert client.get(f"/watchlist/watch/{listing.pk}/")["Location"].startswith("/accounts/login/")


def test_the_watch_page_changes_nothing_on_get_and_watches_on_post(browser, user, settings):
    listing = ListingFactory(title="ThinkPad T14", price=Decimal(380))
    settings.SITE_URL = "https://deals.example.com"
    assert links.watch_url(listing.pk) == f"https://deals.example.com/watchlist/watch/{listing.pk}/"  # messages' link
    page = browser.get(f"/watchlist/watch/{listing.pk}/")
    assert page.status_code == 200 and "Watch “ThinkPad T14”" in text(page)
    assert not WatchlistItem.objects.exists()
    done = browser.post(f"/watchlist/watch/{listing.pk}/", {"price_alert_threshold": "320"})
    assert done.status_code == 302 and done["Location"] == "/watchlist/"
    assert "Now watching “ThinkPad T14” · target $320." in text(browser.get("/watchlist/"))
    assert WatchlistItem.objects.get(user=user).price_threshold == Decimal(320)


def test_the_watch_page_shows_errors_on_the_form(browser, user, monkeypatch):
    listing = ListingFactory(price=Decimal(380))
    page = browser.post(f"/watchlist/watch/{listing.pk}/", {"price_alert_threshold": "380"})
    assert page.status_code == 400 and "already $380" in text(page)
    sold = ListingFactory(is_active=False)
    page = browser.post(f"/watchlist/watch/{sold.pk}/", {})
    assert page.status_code == 400 and "has sold" in text(page)
    monkeypatch.setattr(services, "MAX_ITEMS_PER_USER", 0)
    page = browser.post(f"/watchlist/watch/{listing.pk}/", {})
    assert page.status_code == 400 and "watchlist is full" in text(page)
    assert not WatchlistItem.objects.exists()
    assert browser.get("/watchlist/watch/999999/").status_code == 404


def test_the_watch_button_on_the_listing_page(browser, user):
    listing = ListingFactory(price=Decimal(380))
    html = text(browser.get(f"/listings/{listing.pk}/"))
    assert f'action="/watchlist/watch/{listing.pk}/"' in html and ">Watch</button>" in html
    button = browser.post(f"/watchlist/watch/{listing.pk}/", {"price_alert_threshold": "320"}, **HTMX)
    assert "Watching · target $320" in text(button) and "<html" not in text(button)
    assert "Watching · target $320" in text(browser.get(f"/listings/{listing.pk}/"))
    error = browser.post(
        f"/watchlist/watch/{ListingFactory(price=Decimal(10)).pk}/", {"price_alert_threshold": "50"}, **HTMX
    )
    # htmx swaps only a 2xx: the refusal comes back as a 200 showing the error in the button.
    assert error.status_code == 200 and "already $10" in text(error) and ">Watch</button>" in text(error)


def test_anonymous_watch_leads_to_log_in_and_back():
    listing = ListingFactory()
    html = text(Client().get(f"/listings/{listing.pk}/"))
    assert f'href="/accounts/login/?next=/listings/{listing.pk}/"' in html


def test_the_watch_button_on_browse_cards_keeps_the_query_count(browser, user):
    first = ListingFactory(title="first")
    watched(user, "second", 380, threshold=None)
    html = text(browser.get("/"))
    assert "Watching · any drop" in html and f'action="/watchlist/watch/{first.pk}/"' in html
    few = count_queries(lambda: browser.get("/"))
    for n in range(10):
        listing = ListingFactory(title=f"more {n}")
        if n % 2:
            services.watch(user, listing, None)
    assert text(browser.get("/")).count('class="watch"') == 12
    assert count_queries(lambda: browser.get("/")) == few
