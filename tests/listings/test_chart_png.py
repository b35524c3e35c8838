"""The price chart as a PNG for emails: the same geometry as the page's SVG, public, cached, bounded."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.test import Client
from PIL import Image

from listings.charts import chart_png, price_chart
from listings.models import PricePoint
from tests.factories import ListingFactory
from tests.queries import count_queries

NOV_3 = datetime(2026, 11, 3, 18, 0, tzinfo=UTC)


def png(response) -> Image.Image:
    assert response["Content-Type"] == "image/png"
    image = Image.open(BytesIO(response.content))
    image.verify()  # a whole, valid PNG, not just its header
    return Image.open(BytesIO(response.content))


def with_history(prices: list[str]):
    listing = ListingFactory(price=Decimal(prices[0]), first_seen_at=NOV_3)
    for day, price in enumerate(prices[1:], start=1):
        PricePoint.objects.create(listing=listing, price=Decimal(price), recorded_at=NOV_3 + timedelta(days=day))
    return listing


@pytest.mark.django_db
def test_the_chart_is_a_png_at_twice_the_email_size_public_and_cached_for_minutes():
    listing = with_history(["380.00", "350.00", "310.00"])
    response = Client().get(f"/listings/{listing.pk}/chart.png")
    assert response.status_code == 200
    assert png(response).size == (1200, 440)
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_sparkline_variant_is_120_by_32_shown_and_anything_else_is_a_400_naming_w():
    listing = with_history(["380.00", "310.00"])
    assert png(Client().get(f"/listings/{listing.pk}/chart.png?w=120")).size == (240, 64)
    for bad in ("121", "50000", "-1", "abc", "", "²", "١٢٠", "120 ", "0120"):
        response = Client().get(f"/listings/{listing.pk}/chart.png", {"w": bad})
        assert response.status_code == 400, bad
        assert "w must be one of 600, 120" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_listing_is_a_404():
    assert Client().get("/listings/987654/chart.png").status_code == 404


@pytest.mark.django_db
def test_the_chart_takes_the_same_queries_for_a_short_and_a_long_history():
    short = with_history(["380.00"])
    long = with_history([str(400 - day) for day in range(60)])
    client = Client()
    assert count_queries(lambda: client.get(f"/listings/{short.pk}/chart.png")) == count_queries(
        lambda: client.get(f"/listings/{long.pk}/chart.png")
    )


def test_the_png_draws_the_svgs_step_line_where_the_svg_has_it():
    history = [(NOV_3, Decimal("380")), (NOV_3 + timedelta(days=2), Decimal("310"))]
    chart = price_chart(history, NOV_3 + timedelta(days=4), 600, 220)
    image = Image.open(BytesIO(chart_png(chart))).convert("RGB")
    # The SVG's polyline corners, doubled: the line runs through each (the accent colour, #0b6bcb).
    for x, y in chart.path:
        assert image.getpixel((int(x * 2), int(y * 2))) == (0x0B, 0x6B, 0xCB), (x, y)
    assert chart.points.split() == [f"{x},{y}" for x, y in chart.path]
    # Halfway between the two prices, nothing is drawn on the line's right end: a step, not a slope.
    middle_y = int(chart.path[0][1] + chart.path[-1][1])  # (y0 + y1) / 2, doubled
    assert image.getpixel((int(chart.path[-1][0] * 2) - 4, middle_y)) != (0x0B, 0x6B, 0xCB)


@pytest.mark.django_db
def test_a_chart_is_drawn_once_per_history_and_again_when_the_price_changes():
    listing = with_history(["380.00", "310.00"])
    first = Client().get(f"/listings/{listing.pk}/chart.png").content
    assert Client().get(f"/listings/{listing.pk}/chart.png").content == first
    PricePoint.objects.create(listing=listing, price="250.00", recorded_at=listing.first_seen_at + timedelta(days=3))
    assert Client().get(f"/listings/{listing.pk}/chart.png").content != first
