from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from listings import ingest as ingest_module
from listings.ingest import ingest_listings
from listings.models import Listing, PricePoint
from listings.scoring import refresh_price_benchmarks
from listings.text import listing_words
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


_STORED = [f.attname for f in Listing._meta.concrete_fields if f.name not in ("id", "external_id", "first_seen_at")]


def test_an_update_stores_every_field_as_a_create_would():
    ingest_listings([parse(external_id="a"), parse(external_id="b", deal_score=None)], now=FIXED_NOW)
    changed = dict(
        url="https://sfbay.craigslist.org/other.html",
        title="ThinkPad X1 Carbon",
        description="",
        price="1234.50",
        category="desktops",
        condition="",
        zip_code="10001",
        image_url="",
        seller="",
        posted_at=None,
        is_active=False,
    )
    later = FIXED_NOW + timedelta(days=1)
    result = ingest_listings(
        [parse(external_id="a", deal_score=None, **changed), parse(external_id="b", deal_score=0.3, **changed)],
        now=later,
    )
    ingest_listings(
        [parse(external_id="new-a", deal_score=None, **changed), parse(external_id="new-b", deal_score=0.3, **changed)],
        now=later,
    )

    assert len(result.repriced) == 2
    stored = {x["external_id"]: x for x in Listing.objects.values("external_id", *_STORED)}
    for key in ("a", "b"):
        updated, created = stored[key], stored[f"new-{key}"]
        assert {k: v for k, v in updated.items() if k != "external_id"} == {
            k: v for k, v in created.items() if k != "external_id"
        }
    assert stored["a"]["deal_score"] is None and stored["b"]["deal_score"] == 0.3


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path and its fallback are PostgreSQL's"
)


def _next_look_up_returns(stale: tuple, monkeypatch) -> None:
    """Ingestion's next look-up returns `stale`, as if it had run before another writer's change."""
    real_look_up = ingest_module._look_up

    def look_up(items):
        monkeypatch.setattr(ingest_module, "_look_up", real_look_up)
        return stale

    monkeypatch.setattr(ingest_module, "_look_up", look_up)


@needs_postgresql
def test_a_listing_another_writer_inserted_meanwhile_is_updated_not_duplicated(
    monkeypatch, django_capture_on_commit_callbacks
):
    batch = [parse(external_id="a", price="250"), parse(external_id="b")]
    looked_up = ingest_module._look_up(batch)
    ingest_listings([parse(external_id="a", price="300")], now=FIXED_NOW)  # another writer
    stored = Listing.objects.get()
    _next_look_up_returns(looked_up, monkeypatch)

    with django_capture_on_commit_callbacks() as announcements:
        result = ingest_listings(batch, now=FIXED_NOW)

    assert len(announcements) == 1  # the rolled-back first try announces nothing
    b = Listing.objects.get(external_id="b")
    assert (result.repriced, result.created) == ([stored.pk], [b.pk])
    assert Listing.objects.count() == 2
    assert Listing.objects.get(pk=stored.pk).price == Decimal("250.00")
    assert PricePoint.objects.filter(listing=stored).count() == 2
    assert PricePoint.objects.filter(listing=b).count() == 1


@needs_postgresql
def test_a_listing_another_writer_deleted_meanwhile_is_created_again(monkeypatch):
    batch = [parse(external_id="a"), parse(external_id="b")]
    ingest_listings(batch, now=FIXED_NOW)
    looked_up = ingest_module._look_up(batch)
    Listing.objects.filter(external_id="a").delete()  # another writer
    _next_look_up_returns(looked_up, monkeypatch)

    result = ingest_listings(batch, now=FIXED_NOW)

    a, b = Listing.objects.get(external_id="a"), Listing.objects.get(external_id="b")
    assert (result.created, result.unchanged) == ([a.pk], [b.pk])
    assert PricePoint.objects.filter(listing=a).count() == 1
    assert a.search_words == listing_words(a.title, a.description) != ""  # the upsert writes the words too


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
        _queries_to_ingest(500, 10000)
        _queries_to_ingest(3, 20000)
        # Half stored, half new: the batch that needs every statement, still as many at any size.
        assert _queries_to_ingest(1000, 10000) == _queries_to_ingest(6, 20000) <= 11
    else:  # SQLite caps parameters per statement, so Django splits large bulk inserts
        assert _queries_to_ingest(1000, 0) <= 10 + 2 * 1000 * 22 // 999


def test_parse_batch_names_index_and_field():
    _, errors = parse_batch([raw_listing(external_id="1"), raw_listing(external_id="2", price="-1")])
    assert errors == {"1": {"price": ["Must be zero or more."]}}


def test_same_external_id_twice_in_one_batch_is_refused():
    _, errors = parse_batch([raw_listing(), raw_listing()])
    assert errors == {"1": {"external_id": ["Repeats item 0 (craigslist/7712)."]}}
