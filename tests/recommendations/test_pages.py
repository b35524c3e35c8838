"""The For you page, "why?", "Not interested" with Undo, and "I bought this", with and without htmx."""

import html as markup
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from activity.models import Event, Kind
from listings.models import ListingView
from recommendations import services
from recommendations.models import Dismissal, Purchase, UserRecommendations
from tests.factories import ListingFactory, UserFactory, category
from tests.queries import count_queries

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    return markup.unescape(re.sub(r"\s+", " ", response.content.decode()))


def history(user, count=4, title="ASUS ROG gaming laptop", slug="laptops"):
    """`count` listings the user viewed (sold since, so they are not candidates themselves)."""
    for n in range(count):
        listing = ListingFactory(title=f"{title} {n}", category=category(slug), is_active=False)
        ListingView.objects.create(user=user, listing=listing, viewed_at=timezone.now() - timedelta(days=1))


def deals():
    """Enough active listings in enough categories for ten diversified cards."""
    made = [ListingFactory(title=f"MSI gaming laptop {n}") for n in range(4)]
    for slug in ("monitors", "bikes", "sofas"):
        made += [ListingFactory(title=f"{slug} thing {n}", category=category(slug)) for n in range(3)]
    return made


def cards(response) -> list[str]:
    return re.findall(r'id="rec-(\d+)"', response.content.decode())


def test_ten_cards_with_reasons_for_a_user_with_history(browser, user):
    history(user)
    deals()
    page = browser.get("/for-you/")
    assert page.status_code == 200
    html = text(page)
    assert len(cards(page)) == 10
    assert html.count('class="reason"') == 10
    assert "You viewed 4 gaming laptops this week" in html
    assert html.count("Why?</a>") == 10 and html.count(">Not interested</button>") == 10
    assert 'class="score score-' in html, "the score badge"
    assert html.count('id="watch-') == 10, "the Watch button"
    assert 'href="/for-you/"' in html, "in the nav"
    links = re.findall(r'href="(/for-you/go/[^"]+/)" class="listing-link"', html)
    assert len(links) == 10, "card links are tracked"
    shown = Event.objects.filter(user=user, kind=Kind.RECOMMENDATION_SHOWN, channel="page")
    assert sorted(shown.values_list("rank", flat=True)) == list(range(1, 11)), "one impression per card"


def test_a_new_user_sees_popular_cards_never_a_blank_page(browser, user):
    someone = UserFactory()
    for n in range(5):
        ListingView.objects.create(
            user=someone, listing=ListingFactory(title=f"monitor {n}", category=category("monitors"), is_active=False)
        )
    ListingFactory(title="Dell monitor", category=category("monitors"), deal_score=0.8)
    html = text(browser.get("/for-you/"))
    assert "Dell monitor" in html and "Popular in Monitors this week" in html


def test_an_explicit_empty_state_when_there_is_nothing_at_all(browser):
    page = browser.get("/for-you/")
    assert page.status_code == 200 and "Nothing to recommend right now" in text(page)
    assert 'href="/"' in text(page)


def test_signed_out_goes_to_log_in():
    for path in ("/for-you/", "/for-you/why/1/"):
        response = Client().get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Client().post("/for-you/1/not-interested/").status_code == 302


def test_not_interested_with_htmx_then_undo(browser, user):
    history(user)
    first, second = ListingFactory(title="MSI gaming laptop A"), ListingFactory(title="MSI gaming laptop B")
    assert set(cards(browser.get("/for-you/"))) == {str(first.pk), str(second.pk)}
    shown = Event.objects.filter(kind=Kind.RECOMMENDATION_SHOWN).count()

    gone = browser.post(f"/for-you/{first.pk}/not-interested/", **HTMX)
    assert gone.status_code == 200
    assert "won't be recommended again" in text(gone) and ">Undo</button>" in text(gone)
    assert f'id="rec-{first.pk}"' in text(gone), "the card's place, for Undo to swap back"
    assert Dismissal.objects.filter(user=user, listing=first).exists()
    assert cards(browser.get("/for-you/")) == [str(second.pk)], "the card went"

    back = browser.post(f"/for-you/{first.pk}/interested/", **HTMX)
    assert back.status_code == 200 and "MSI gaming laptop A" in text(back) and 'class="reason"' in text(back)
    assert not Dismissal.objects.filter(user=user, listing=first).exists()
    assert Event.objects.filter(kind=Kind.RECOMMENDATION_SHOWN).count() == shown + 1, "fragments record nothing"
    assert set(cards(browser.get("/for-you/"))) == {str(first.pk), str(second.pk)}


def test_not_interested_without_javascript_posts_and_redirects_with_undo(browser, user):
    history(user)
    listing = ListingFactory(title="MSI gaming laptop A")
    response = browser.post(f"/for-you/{listing.pk}/not-interested/")
    assert response.status_code == 302 and response["Location"] == "/for-you/"
    page = text(browser.get("/for-you/"))
    assert "“MSI gaming laptop A” won't be recommended again." in page
    assert f'action="/for-you/{listing.pk}/interested/"' in page
    response = browser.post(f"/for-you/{listing.pk}/interested/")
    assert response.status_code == 302 and not Dismissal.objects.exists()
    assert "Back in your recommendations." in text(browser.get("/for-you/"))


def test_a_next_off_site_is_ignored(browser, user):
    listing = ListingFactory()
    response = browser.post(f"/for-you/{listing.pk}/not-interested/", {"next": "https://evil.example/"})
    assert response["Location"] == "/for-you/"


def test_another_users_dismissal_and_purchase_are_404(browser, user):
    listing = ListingFactory()
    someone = UserFactory()
    services.dismiss(someone, listing)
    services.mark_bought(someone, listing)
    assert browser.post(f"/for-you/{listing.pk}/interested/").status_code == 404
    assert browser.post(f"/for-you/bought/{listing.pk}/remove/").status_code == 404
    assert Dismissal.objects.filter(user=someone).exists() and Purchase.objects.filter(user=someone).exists()
    for path in ("/for-you/999999/not-interested/", f"/for-you/{2**64}/not-interested/", "/for-you/bought/999999/"):
        assert browser.post(path).status_code == 404
    assert browser.get(f"/for-you/why/{2**64}/").status_code == 404


def test_only_post_changes_anything(browser, user):
    listing = ListingFactory()
    for path in (f"/for-you/{listing.pk}/not-interested/", f"/for-you/bought/{listing.pk}/"):
        assert browser.get(path).status_code == 405
    assert not Dismissal.objects.exists() and not Purchase.objects.exists()


def test_why_lists_each_signal_with_a_bar(browser, user):
    history(user)
    listing = ListingFactory(title="MSI gaming laptop A")
    page = browser.get(f"/for-you/why/{listing.pk}/")
    assert page.status_code == 200
    html = text(page)
    explanation = services.explain(user, listing)
    assert explanation.reason in html
    assert html.count("<meter") == len(explanation.signals) > 1
    for signal in explanation.signals:
        assert signal["label"] in html
    sold = ListingFactory(is_active=False)
    assert browser.get(f"/for-you/why/{sold.pk}/").status_code == 404
    assert browser.get("/for-you/why/999999/").status_code == 404


def test_why_for_any_active_listing_even_one_not_recommended(browser, user):
    history(user)
    bike = ListingFactory(title="Trek road bike", category=category("bikes"))
    page = browser.get(f"/for-you/why/{bike.pk}/")
    assert page.status_code == 200 and "Trek road bike" in text(page)


def test_bought_toggle_on_the_listing_page(browser, user):
    listing = ListingFactory(title="MSI gaming laptop A")
    html = text(browser.get(f"/listings/{listing.pk}/"))
    assert ">I bought this</button>" in html and f'href="/for-you/why/{listing.pk}/"' in html
    assert "Why is this recommended?" in html

    marked = browser.post(f"/for-you/bought/{listing.pk}/", **HTMX)
    assert marked.status_code == 200 and "You bought this" in text(marked) and ">Undo</button>" in text(marked)
    assert Purchase.objects.filter(user=user, listing=listing).exists()
    assert "You bought this" in text(browser.get(f"/listings/{listing.pk}/"))

    unmarked = browser.post(f"/for-you/bought/{listing.pk}/remove/", **HTMX)
    assert unmarked.status_code == 200 and ">I bought this</button>" in text(unmarked)
    assert not Purchase.objects.exists()


def test_bought_toggle_without_javascript(browser, user):
    listing = ListingFactory(title="MSI gaming laptop A")
    response = browser.post(f"/for-you/bought/{listing.pk}/", {"next": f"/listings/{listing.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/listings/{listing.pk}/"
    assert "won't be recommended again" in text(browser.get(response["Location"]))
    response = browser.post(f"/for-you/bought/{listing.pk}/remove/")
    assert response.status_code == 302 and not Purchase.objects.exists()


def test_a_bought_listing_leaves_the_page(browser, user):
    history(user)
    first, second = ListingFactory(title="MSI gaming laptop A"), ListingFactory(title="MSI gaming laptop B")
    browser.get("/for-you/")
    browser.post(f"/for-you/bought/{first.pk}/")
    assert cards(browser.get("/for-you/")) == [str(second.pk)]


def test_signed_out_listing_page_has_no_bought_toggle():
    listing = ListingFactory()
    html = text(Client().get(f"/listings/{listing.pk}/"))
    assert "I bought this" not in html and "Why is this recommended?" not in html


def test_page_queries_stay_constant_as_history_grows(browser, user):
    history(user, count=2)
    deals()
    browser.get("/for-you/")
    cached = count_queries(lambda: browser.get("/for-you/"))
    services.mark_stale(user)
    recomputed = count_queries(lambda: browser.get("/for-you/"))

    history(user, count=30, title="Trek road bike", slug="bikes")
    deals()
    services.refresh([user.id])
    assert count_queries(lambda: browser.get("/for-you/")) == cached
    services.mark_stale(user)
    assert count_queries(lambda: browser.get("/for-you/")) == recomputed
    assert UserRecommendations.objects.get(user=user).stale_since is None
