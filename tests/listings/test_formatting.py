"""One way to write a price and a deal score: pages (Django filters) and emails (Jinja) alike."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from listings.formatting import deal_score, money, score_band
from notifications import emails
from notifications.content import deal_context
from notifications.models import Notification
from tests.factories import ListingFactory, UserFactory


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("125.00"), "USD", "$125"),
        (Decimal("125.5"), "USD", "$125.50"),
        (Decimal("1250"), "USD", "$1,250"),
        (Decimal("0"), "USD", "$0"),
        (Decimal("99.99"), "CAD", "99.99 CAD"),
        ("300.00", "USD", "$300"),
        (None, "USD", ""),
    ],
)
def test_money_shows_cents_only_when_there_are_some(amount, currency, text):
    assert money(amount, currency) == text


@pytest.mark.parametrize(("score", "text"), [(0.89, "89%"), (0.0, "0%"), (1.0, "100%"), (0.885, "89%"), (None, "")])
def test_deal_score_is_a_percentage(score, text):
    assert deal_score(score) == text


@pytest.mark.parametrize(
    ("score", "css"),
    [
        (1.0, "strong"),
        (0.8, "strong"),
        (0.796, "strong"),
        (0.794, "good"),
        (0.79, "good"),
        (0.6, "good"),
        (0.4, "fair"),
        (0.0, "low"),
    ],
)
def test_score_bands_by_value(score, css):
    assert score_band(score).css == css


def test_django_filters_and_jinja_filters_say_the_same():
    page = Template("{% load deal_format %}{{ p|money }} {{ p2|money:'USD' }} {{ s|deal_score }}").render(
        Context({"p": Decimal("125.00"), "p2": Decimal("125.50"), "s": 0.89})
    )
    email = emails.environment().from_string("{{ p|money }} {{ p2|money('USD') }} {{ s|deal_score }}")
    assert page == email.render(p=Decimal("125.00"), p2=Decimal("125.50"), s=0.89) == "$125 $125.50 89%"


@pytest.mark.django_db
def test_browse_colours_the_score_by_value_and_says_it_in_words(client):
    ListingFactory(title="Great deal bike", price=Decimal("125.00"), deal_score=0.92)
    ListingFactory(title="Pricey bike", price=Decimal("125.50"), deal_score=0.0)
    html = client.get("/").content.decode()
    assert '<p class="price">$125</p>' in html and '<p class="price">$125.50</p>' in html
    assert 'class="score score-strong"' in html and "Deal score 92% · great deal" in html
    assert 'class="score score-low"' in html and "Deal score 0% · high price" in html
    assert "0.92" not in html


@pytest.mark.django_db
def test_listing_detail_uses_the_same_formats(client):
    listing = ListingFactory(price=Decimal("125.00"), deal_score=0.89)
    html = client.get(f"/listings/{listing.pk}/").content.decode()
    assert '<p class="price big">$125</p>' in html
    assert '<span class="score score-strong">89% · great deal</span>' in html


@pytest.mark.django_db
def test_deal_email_says_it_as_the_pages_do():
    listing = ListingFactory(title="Road bike", price=Decimal("125.50"), deal_score=0.89)
    notification = Notification.objects.create(
        user=UserFactory(),
        listing=listing,
        sources=[],
        created_at=listing.first_seen_at,
        local_day=listing.first_seen_at.date(),
    )
    composed = emails.compose("deal", deal_context(notification, "email"))
    assert "$125.50" in composed.subject and "$125.50" in composed.text and "$125.50" in composed.html
    assert "Deal score 89%" in composed.text and "Deal score 89% · great deal" in composed.html
    assert "0.89" not in composed.text + composed.html
