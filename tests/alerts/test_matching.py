"""The predicate, rule by rule, and the index against brute force."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.matching import ListingFacts, RuleIndex, RuleSpec, match, phrase

SF = (37.7725, -122.4147)  # 94103
OAKLAND = (37.8044, -122.2712)
NYC = (40.7506, -73.9972)


def listing(
    title="Lenovo ThinkPad T14 laptop",
    description="",
    *,
    id=1,
    category_id=3,
    condition="good",
    price="300",
    at=SF,
    score=0.8,
    active=True,
) -> ListingFacts:
    return ListingFacts.build(
        id=id,
        title=title,
        description=description,
        category_id=category_id,
        condition=condition,
        price=Decimal(price),
        latitude=at[0] if at else None,
        longitude=at[1] if at else None,
        deal_score=score,
        is_active=active,
    )


def rule(*, keywords=(), excludes=(), id=1, **criteria) -> RuleSpec:
    return RuleSpec(
        id=id,
        user_id=1,
        keywords=tuple((k, phrase(k)) for k in keywords),
        excludes=tuple((k, phrase(k)) for k in excludes),
        **criteria,
    )


class TestKeywords:
    def test_any_keyword_matches(self):
        why = match(rule(keywords=["macbook", "thinkpad"]), listing())
        assert why is not None and why.keyword == "thinkpad"

    def test_no_keyword_no_match(self):
        assert match(rule(keywords=["macbook"]), listing()) is None

    @pytest.mark.parametrize("title", ["PCIe riser card", "Spec sheet included", "PC-gaming desk"])
    def test_keyword_matches_whole_words_only(self, title):
        expected = title == "PC-gaming desk"  # "pc" is a word there; not inside "pcie" or "spec"
        assert (match(rule(keywords=["pc"]), listing(title)) is not None) is expected

    def test_phrase_needs_adjacent_words(self):
        assert match(rule(keywords=["gaming pc"]), listing("Custom gaming PC, RTX 3080")) is not None
        assert match(rule(keywords=["gaming pc"]), listing("PC for gaming")) is None
        assert match(rule(keywords=["gaming pc"]), listing("Gaming chair", "and a PC")) is None

    @pytest.mark.parametrize(
        ("keyword", "title"),
        [
            ("monitor", "Two Dell monitors"),
            ("monitors", "Dell monitor"),
            ("bike", "Kids bikes"),
            ("battery", "Spare batteries"),
            ("box", "Moving boxes"),
        ],
    )
    def test_plurals_fold(self, keyword, title):
        assert match(rule(keywords=[keyword]), listing(title)) is not None

    def test_accents_and_case_fold(self):
        assert match(rule(keywords=["Café Racer"]), listing("CAFE RACER motorcycle")) is not None
        assert match(rule(keywords=["creme"]), listing("Le Creuset crème brûlée set")) is not None

    def test_description_counts(self):
        assert match(rule(keywords=["charger"]), listing("Laptop", "Comes with charger")) is not None

    def test_any_exclude_vetoes(self):
        assert match(rule(keywords=["laptop"], excludes=["mac", "broken"]), listing("Laptop, broken screen")) is None
        assert match(rule(keywords=["laptop"], excludes=["mac"]), listing("Laptop for a Mac user")) is None
        assert match(rule(keywords=["laptop"], excludes=["mac"]), listing("Laptop, Macbook-style")) is not None


class TestCriteria:
    def test_category_any_of(self):
        assert match(rule(category_ids=frozenset({3, 4})), listing(category_id=4)) is not None
        assert match(rule(category_ids=frozenset({3})), listing(category_id=9)) is None

    def test_condition_exact(self):
        assert match(rule(condition="good"), listing(condition="good")) is not None
        assert match(rule(condition="good"), listing(condition="excellent")) is None

    def test_price_range_is_inclusive(self):
        r = rule(min_price=Decimal("200"), max_price=Decimal("300"))
        assert match(r, listing(price="200")) is not None
        assert match(r, listing(price="300")) is not None
        assert match(r, listing(price="300.01")) is None
        assert match(r, listing(price="199.99")) is None
        assert match(r, listing(price="250")).price == "$250 is within $200–$300"

    def test_radius_by_great_circle(self):
        r = rule(center=SF, radius_mi=15.0)
        why = match(r, listing(at=OAKLAND))
        assert why is not None and why.distance_mi == pytest.approx(8.1, abs=0.3)
        assert match(r, listing(at=NYC)) is None
        assert match(r, listing(at=None)) is None

    def test_min_deal_score(self):
        assert match(rule(min_deal_score=0.7), listing(score=0.7)) is not None
        assert match(rule(min_deal_score=0.7), listing(score=0.69)) is None
        assert match(rule(min_deal_score=0.7), listing(score=None)) is None

    def test_paused_rule_and_inactive_listing_match_nothing(self):
        assert match(rule(keywords=["thinkpad"], enabled=False), listing()) is None
        assert match(rule(keywords=["thinkpad"]), listing(active=False)) is None

    def test_unresolved_location_matches_nothing(self):
        assert match(rule(keywords=["thinkpad"], radius_mi=10.0, location_unresolved=True), listing()) is None

    def test_why_in_words(self):
        why = match(rule(keywords=["thinkpad"], max_price=Decimal(500), center=SF, radius_mi=5.0), listing())
        assert why.sentence() == "mentions “thinkpad”; $300 is at most $500; 0.0 mi away; deal score 80%"


# --- the index returns exactly what brute force returns ------------------------------------------

VOCABULARY = ["thinkpad", "laptop", "gaming", "pc", "bike", "road", "monitor", "dell", "mac", "broken", "trek", "café"]
PLACES = [SF, OAKLAND, NYC]

keyword_st = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=2).map(" ".join)
rule_st = st.builds(
    lambda id, keywords, excludes, categories, condition, low, span, place, radius, score, enabled: rule(
        id=id,
        keywords=keywords,
        excludes=excludes,
        category_ids=frozenset(categories),
        condition=condition,
        min_price=None if low is None else Decimal(low),
        max_price=None if span is None else Decimal((low or 0) + span),
        center=place,
        radius_mi=None if place is None else float(radius),
        min_deal_score=score,
        enabled=enabled,
    ),
    id=st.integers(1, 10**6),
    keywords=st.lists(keyword_st, max_size=3),
    excludes=st.lists(keyword_st, max_size=1),
    categories=st.sets(st.integers(1, 4), max_size=2),
    condition=st.sampled_from(["", "", "good", "fair"]),
    low=st.none() | st.integers(0, 500),
    span=st.none() | st.integers(0, 500),
    place=st.none() | st.sampled_from(PLACES),
    radius=st.integers(1, 500),
    score=st.none() | st.floats(0, 1),
    enabled=st.booleans(),
)
listing_st = st.builds(
    lambda id, title_words, category_id, condition, price, place, score, active: listing(
        " ".join(title_words),
        id=id,
        category_id=category_id,
        condition=condition,
        price=str(price),
        at=place,
        score=score,
        active=active,
    ),
    id=st.integers(1, 10**6),
    title_words=st.lists(
        st.sampled_from([*VOCABULARY, "cafe", "monitors", "bikes", "pcie", "for", "sale"]), max_size=8
    ),
    category_id=st.integers(1, 5),
    condition=st.sampled_from(["", "good", "fair", "new"]),
    price=st.integers(0, 1200),
    place=st.none() | st.sampled_from(PLACES),
    score=st.none() | st.floats(0, 1),
    active=st.booleans(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(rule_st, max_size=25, unique_by=lambda r: r.id), listings=st.lists(listing_st, max_size=8))
def test_index_returns_exactly_what_brute_force_returns(rules, listings):
    index = RuleIndex(rules)
    for facts in listings:
        by_index = {(r.id, why) for r, why in index.match(facts)}
        brute_force = {(r.id, why) for r in rules if (why := match(r, facts)) is not None}
        assert by_index == brute_force
