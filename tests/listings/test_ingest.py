from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from listings.ingest import ingest_listings
from listings.models import Listing, PricePoint
from listings.scoring import refresh_price_benchmarks
from listings.validation import category_ids_by_slug, parse_batch, parse_listing
from tests.factories import FIXED_NOW, raw_listing

pytestmark = pytest.mark.django_db


def parse(**overrides):
    item, errors = parse_listing(raw_listing(**overrides), category_ids_by_slug())
    assert not errors, errors
    return item


def test_upsert_is_idempotent():
    first = ingest_listings([parse()], now=FIXED_NOW)
    again = ingest_listings([parse()], now=FIXED_NOW + timedelta(hours=1))

    assert len(first.created) == 1
    assert again.unchanged == first.created
    assert Listing.objects.count() == 1
    listing = Listing.objects.get()
    assert listing.first_seen_at == FIXED_NOW
    assert listing.last_seen_at == FIXED_NOW + timedelta(hours=1)


def test_price_history_only_on_change():
    ingest_listings([parse(price="300")], now=FIXED_NOW)
    ingest_listings([parse(price="300")], now=FIXED_NOW + timedelta(hours=1))
    result = ingest_listings([parse(price="250")], now=FIXED_NOW + timedelta(hours=2))
    ingest_listings(
        [parse(price="250", title="ThinkPad T14 laptop, charger included")], now=FIXED_NOW + timedelta(hours=3)
    )

    listing = Listing.objects.get()
    assert result.repriced == [listing.pk]
    assert list(PricePoint.objects.values_list("price", "recorded_at")) == [
        (Decimal("300.00"), FIXED_NOW),
        (Decimal("250.00"), FIXED_NOW + timedelta(hours=2)),
    ]


def test_batch_result_separates_created_updated_repriced_unchanged():
    ingest_listings([parse(external_id="a"), parse(external_id="b"), parse(external_id="c")], now=FIXED_NOW)
    result = ingest_listings(
        [
            parse(external_id="a"),
            parse(external_id="b", price="199"),
            parse(external_id="c", title="New title"),
            parse(external_id="d"),
        ],
        now=FIXED_NOW,
    )
    by_id = dict(Listing.objects.values_list("external_id", "id"))
    assert result.unchanged == [by_id["a"]]
    assert result.repriced == [by_id["b"]]
    assert result.updated == [by_id["c"]]
    assert result.created == [by_id["d"]]


def test_zip_is_geocoded_offline():
    ingest_listings([parse(zip_code="10001")], now=FIXED_NOW)
    listing = Listing.objects.get()
    assert listing.latitude == pytest.approx(40.75, abs=0.05)
    assert listing.longitude == pytest.approx(-73.99, abs=0.05)


def test_inactive_listing_is_marked_sold_and_keeps_first_deactivation_time():
    ingest_listings([parse()], now=FIXED_NOW)
    ingest_listings([parse(is_active=False)], now=FIXED_NOW + timedelta(days=1))
    ingest_listings([parse(is_active=False)], now=FIXED_NOW + timedelta(days=2))
    listing = Listing.objects.get()
    assert listing.is_active is False
    assert listing.deactivated_at == FIXED_NOW + timedelta(days=1)


def test_source_score_is_kept_with_its_origin():
    ingest_listings([parse(deal_score=0.82)], now=FIXED_NOW)
    listing = Listing.objects.get()
    assert listing.deal_score == 0.82
    assert listing.deal_score_explanation == "Score given by Craigslist."
    assert listing.deal_score_is_computed is False


def test_missing_score_is_computed_with_an_explanation():
    comparables = [
        parse(external_id=f"c{i}", deal_score=None, title=f"ThinkPad X{i}", price=str(400 + 10 * i)) for i in range(5)
    ]  # median 420
    ingest_listings(comparables, now=FIXED_NOW)
    refresh_price_benchmarks()

    ingest_listings([parse(external_id="new", deal_score=None, title="ThinkPad T480", price="290")], now=FIXED_NOW)

    listing = Listing.objects.get(external_id="new")
    assert listing.deal_score == pytest.approx(0.81)  # 0.5 + 31% below the median
    assert listing.deal_score_explanation == (
        '31% below the median $420 of 5 similar listings mentioning "thinkpad" in Laptops.'
    )
    assert listing.deal_score_is_computed is True


def test_score_without_comparables_says_so():
    ingest_listings([parse(deal_score=None)], now=FIXED_NOW)
    listing = Listing.objects.get()
    assert listing.deal_score is None
    assert listing.deal_score_explanation == "Not enough similar listings yet to judge this price."


def _queries_to_ingest(count: int, offset: int) -> int:
    items = [parse(external_id=f"q{offset + i}", deal_score=None, title=f"Laptop {i}") for i in range(count)]
    with CaptureQueriesContext(connection) as ctx:
        ingest_listings(items, now=FIXED_NOW)
    return len(ctx.captured_queries)


def test_queries_per_batch_do_not_grow_with_the_table():
    on_empty_table = _queries_to_ingest(40, 0)
    _queries_to_ingest(1000, 1000)
    assert _queries_to_ingest(40, 5000) == on_empty_table


def test_queries_per_batch_do_not_grow_with_the_batch():
    if connection.vendor == "postgresql":
        assert _queries_to_ingest(1000, 0) == _queries_to_ingest(5, 5000) <= 11
    else:  # SQLite caps parameters per statement, so Django splits large bulk inserts
        assert _queries_to_ingest(1000, 0) <= 10 + 2 * 1000 * 22 // 999


def test_parse_batch_names_index_and_field():
    _, errors = parse_batch([raw_listing(external_id="1"), raw_listing(external_id="2", price="-1")])
    assert errors == {"1": {"price": ["Must be zero or more."]}}


def test_same_external_id_twice_in_one_batch_is_refused():
    _, errors = parse_batch([raw_listing(), raw_listing()])
    assert errors == {"1": {"external_id": ["Repeats item 0 (craigslist/7712)."]}}
