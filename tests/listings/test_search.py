"""Browse search reads the words an alert matches: whole folded words, on the page and the API,
and the same listings as a backtest of a keyword rule."""

import importlib
import io
import json
import re
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts import services as alert_services
from alerts.matching import ListingFacts, contains, phrase
from alerts.models import DealAlertRule
from listings.ingest import ingest_listings
from listings.models import Listing
from listings.selectors import has_phrase
from listings.text import fold, listing_words, phrase_text, query_phrases, singular, words
from listings.validation import category_ids_by_slug, parse_listing
from tests.factories import ListingFactory, UserFactory, raw_listing

pytestmark = pytest.mark.django_db


def page_titles(client, query: str) -> set[str]:
    html = client.get("/", {"q": query, "zip": ""}, headers={"HX-Request": "true"}).content.decode()
    return {listing.title for listing in Listing.objects.all() if f"<h2>{listing.title}</h2>" in html}


def api_titles(api_client, query: str) -> set[str]:
    response = api_client.get("/api/listings", {"q": query})
    assert response.status_code == 200
    return {row["title"] for row in response.json()["results"]}


@pytest.fixture
def catalog(db):
    for title in ("Trek road Bike", "Café racer helmet", "Gaming PC tower", "PCIe riser card", "PC for gaming"):
        ListingFactory(title=title, description="")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bikes", {"Trek road Bike"}),  # plural folds to the singular
        ("BIKE", {"Trek road Bike"}),  # case folds
        ("cafe", {"Café racer helmet"}),  # accents fold
        ("cafés", {"Café racer helmet"}),
        ("pc", {"Gaming PC tower", "PC for gaming"}),  # whole words: not "PCIe"
        ("pcie", {"PCIe riser card"}),
        ("gaming pc", {"Gaming PC tower", "PC for gaming"}),  # every word, anywhere
        ('"gaming pc"', {"Gaming PC tower"}),  # a quoted phrase: adjacent
        ("road bike trek", {"Trek road Bike"}),
        ("bike helmet", set()),  # every word must match
        ("bik", set()),  # no partial words
    ],
)
def test_browse_and_api_search_whole_folded_words(client, api_client, catalog, query, expected):
    assert page_titles(client, query) == expected
    assert api_titles(api_client, query) == expected


def test_query_phrases_split_terms_and_quoted_phrases():
    assert query_phrases('"Gaming Monitors" cheap usb-c "open') == [
        ("gaming", "monitor"),
        ("cheap",),
        ("usb", "c"),
        ("open",),
    ]
    assert query_phrases("bikes bike —") == [("bike",)]


def test_backtest_of_a_keyword_rule_finds_what_browse_finds(client, api_client, catalog):
    ListingFactory(title="Kids bikes, two of them", description="")
    ListingFactory(title="Bicycle pump", description="Fits any bike.")
    ListingFactory(title="Motorbike", description="")
    user = UserFactory()
    for keyword in ("bikes", "pc", "gaming pc", "cafe"):
        rule = alert_services.create_rule(user, name=keyword, keywords=[keyword])
        backtest = alert_services.backtest(rule)
        backtested = {listing.title for listing, _ in backtest.samples}
        assert backtest.matching_count == len(backtested)  # all of them fit in the sample
        browse_query = f'"{keyword}"'  # a keyword of several words is a phrase
        assert backtested == page_titles(client, browse_query) == api_titles(api_client, browse_query)
        assert backtested  # each keyword finds something, so the comparison says something


def test_backtest_narrows_by_keyword_in_sql(django_assert_max_num_queries):
    """Only listings with the keyword's words leave the database; the predicate still decides."""
    ListingFactory(title="Trek bike")
    ListingFactory.create_batch(5, title="ThinkPad")
    spec = alert_services.rule_specs(
        [DealAlertRule(user=UserFactory(), keywords=["bikes"], exclude_keywords=["kids"])]
    )[0]
    narrowed = alert_services.narrow(Listing.objects.all(), spec)
    assert [listing.title for listing in narrowed] == ["Trek bike"]
    ListingFactory(title="Kids bike")
    assert narrowed.all().count() == 1  # the excluded keyword is narrowed out too


# --- the stored words are exactly the predicate's ---------------------------------------------------

VOCABULARY = ["bike", "Bikes", "BIKE", "café", "cafe", "CAFÉS", "pc", "PCs", "pcie", "gaming", "Gaming", "road", "x"]
text_st = st.lists(st.sampled_from([*VOCABULARY, "-", ",", "&", "  "]), max_size=8).map(" ".join)
keyword_st = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map(" ".join)


OTHER_FACTS = {"category_id": 1, "condition": "", "price": Decimal(1), "latitude": None, "longitude": None}


def facts_of(listing_id: int, title: str, description: str) -> ListingFacts:
    return ListingFacts.build(id=listing_id, title=title, description=description, deal_score=None, **OTHER_FACTS)


@given(title=text_st, description=text_st, keyword=keyword_st)
def test_stored_words_contain_a_keyword_exactly_when_the_predicate_says_so(title, description, keyword):
    facts = facts_of(1, title, description)
    words_ = phrase(keyword)
    assert (phrase_text(words_) in listing_words(title, description)) == contains(facts, words_)
    stored = ListingFacts.stored(id=1, search_words=listing_words(title, description), deal_score=None, **OTHER_FACTS)
    assert stored == facts


@pytest.fixture
def corpus(db):
    """Listings of every mix of the vocabulary's forms, for the differential test below."""
    titles = ["bike road", "Bikes, road!", "road-bike", "Café PCs", "cafe pc gaming", "pcie gaming PC", "x bike x"]
    descriptions = ["", "gaming bike", "CAFÉS road", "pc"]
    for title in titles:
        for description in descriptions:
            ListingFactory(title=title, description=description)
    return {listing.id: facts_of(listing.id, listing.title, listing.description) for listing in Listing.objects.all()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keyword=keyword_st)
def test_browse_keyword_filter_is_the_predicate_keyword_test(corpus, keyword):
    words_ = phrase(keyword)
    by_sql = set(Listing.objects.filter(has_phrase(words_)).values_list("id", flat=True))
    by_predicate = {listing_id for listing_id, facts in corpus.items() if contains(facts, words_)}
    assert by_sql == by_predicate


# --- every write path stores the words -------------------------------------------------------------


def test_ingestion_stores_and_updates_the_words():
    categories = category_ids_by_slug()

    def ingest(**fields):
        item, errors = parse_listing(raw_listing(**fields), categories)
        assert not errors
        return ingest_listings([item], announce=False)

    listing_id = ingest(title="Trek Bikes", description="Café racer").created[0]
    assert Listing.objects.get(pk=listing_id).search_words == " trek bike cafe racer "
    ingest(title="Giant Bikes", description="")  # an update of the same listing
    assert Listing.objects.get(pk=listing_id).search_words == " giant bike "


def test_import_listings_command_stores_the_words(tmp_path):
    path = tmp_path / "listings.jsonl"
    path.write_text(json.dumps(raw_listing(title="Monitors, two", description="")) + "\n")
    call_command("import_listings", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert Listing.objects.get().search_words == " monitor two "


def test_saving_a_listing_refreshes_its_words():
    listing = ListingFactory(title="Trek bike", description="")
    listing.title = "Gaming Monitors"
    listing.save(update_fields=["title"])  # as admin's change form and scripts do
    assert Listing.objects.get(pk=listing.pk).search_words == " gaming monitor "


def test_the_data_migration_fills_existing_listings():
    listing = ListingFactory(title="Road Bikes", description="Cafés")
    Listing.objects.filter(pk=listing.pk).update(search_words="")
    migration = importlib.import_module("listings.migrations.0006_listing_search_words")
    migration.fill_search_words(django_apps, None)
    assert Listing.objects.get(pk=listing.pk).search_words == " road bike cafe "


@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.text(alphabet="aBc_1 -éÉßİ", max_size=40))
def test_words_are_the_singular_of_each_folded_word(text):
    """The fast paths of `words` (ASCII, remembered singulars) change nothing."""
    assert words(text) == [singular(word) for word in re.findall(r"[^\W_]+", fold(text))]
