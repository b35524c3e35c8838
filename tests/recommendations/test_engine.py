"""The recommender's decisions on plain values: tokens, ranking, diversity, feedback, reasons."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from recommendations import engine

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
NAMES = engine.Names({1: "Laptops", 2: "Monitors", 3: "Bikes", 4: "Sofas", 10: "Computers"})
_ids = count(1)


def facts(
    title="ASUS ROG gaming laptop",
    category=1,
    price="700",
    *,
    deal=0.6,
    age_days=1.0,
    lat=37.77,
    lon=-122.41,
    parent=10,
    explanation="",
) -> engine.Facts:
    return engine.Facts(
        id=next(_ids),
        category_id=category,
        parent_id=parent,
        title=title,
        price=Decimal(price),
        condition="good",
        latitude=lat,
        longitude=lon,
        deal_score=deal,
        deal_explanation=explanation,
        first_seen_at=NOW - timedelta(days=age_days),
    )


def ranked(shopper, listings, **kwargs):
    vocabulary = engine.Vocabulary()
    candidates = engine.Candidates.build(listings, vocabulary)
    return engine.rank([shopper], candidates, vocabulary, NOW, names=NAMES, **kwargs)[shopper.id]


def viewer(*viewed: engine.Facts, kind="view", days_ago=1.0) -> engine.Shopper:
    shopper = engine.Shopper(1, 37.77, -122.41)
    for listing in viewed:
        shopper.signals.append(engine.Signal(kind, listing, NOW - timedelta(days=days_ago)))
        shopper.excluded.add(listing.id)
    return shopper


def test_a_listings_tokens_are_what_it_shares_with_others_and_sum_to_one():
    tokens = engine.listing_tokens(facts("Lenovo ThinkPad T14 laptop", price="420"))
    assert {"c1", "p10", "wlenovo", "wthinkpad", "wt14", "wlaptop", "kgood"} <= set(tokens)
    assert sum(tokens.values()) == pytest.approx(1.0)
    assert [t for t in tokens if t.startswith("b1:")], "a price band within the category"


def test_taste_ranks_what_resembles_the_history_above_a_better_deal_elsewhere():
    history = [facts("ASUS ROG gaming laptop") for _ in range(4)]
    laptop = facts("MSI gaming laptop RTX", deal=0.55)
    sofa = facts("IKEA Kivik sofa", category=4, parent=None, deal=0.95)
    picks = ranked(viewer(*history), [sofa, laptop])
    assert [p.listing_id for p in picks] == [laptop.id, sofa.id]


def test_reason_names_the_real_signal_with_counts_shared_words_and_distance():
    history = [facts(f"ASUS ROG gaming laptop {n}") for n in range(4)]
    laptop = facts(
        "MSI gaming laptop", explanation="38% below the median $900 of 12 similar listings.", lat=37.80, lon=-122.45
    )
    pick = ranked(viewer(*history), [laptop])[0]
    assert pick.reason == "You viewed 4 gaming laptops this week · 38% below similar listings · 3 miles away"
    signals = {c.signal: c for c in pick.signals}
    assert {"browsing", "category_affinity", "deal", "freshness", "distance"} <= set(signals)
    assert signals["category_affinity"].label == "100% of what you look at is Laptops"
    assert sum(c.weight for c in pick.signals) == pytest.approx(pick.score, abs=1e-5)


def test_watching_and_buying_are_named_as_such():
    watched = facts("Dell 27 inch monitor", category=2)
    pick = ranked(viewer(watched, kind="watch"), [facts("LG 27 inch monitor", category=2)])[0]
    assert pick.reason.startswith("You're watching one in Monitors")
    bought = facts("Trek road bike", category=3, parent=None)
    pick = ranked(viewer(bought, kind="purchase"), [facts("Trek hybrid bike", category=3, parent=None)])[0]
    assert pick.reason.startswith("You bought one in Bikes")


def test_no_more_than_three_from_one_category():
    history = [facts("gaming laptop") for _ in range(3)]
    listings = [facts(f"gaming laptop {n}") for n in range(8)]
    listings += [facts(f"monitor {n}", category=2) for n in range(8)]
    listings += [facts(f"bike {n}", category=3, parent=None) for n in range(8)]
    listings += [facts(f"sofa {n}", category=4, parent=None) for n in range(8)]
    picks = ranked(viewer(*history), listings)
    assert len(picks) == 10
    per_category = {}
    by_id = {f.id: f for f in listings}
    for pick in picks:
        per_category[by_id[pick.listing_id].category_id] = per_category.get(by_id[pick.listing_id].category_id, 0) + 1
    assert max(per_category.values()) == 3


def test_excluded_listings_never_come_back():
    history = [facts("gaming laptop")]
    seen, other = facts("gaming laptop twin"), facts("gaming laptop other")
    shopper = viewer(*history)
    shopper.excluded.add(seen.id)
    assert [p.listing_id for p in ranked(shopper, [seen, other])] == [other.id]


def test_not_interested_weighs_what_resembles_it_less():
    history = [facts("gaming laptop"), facts("Trek road bike", category=3, parent=None)]
    dismissed = facts("Dell Chromebook 11", deal=0.5)
    twin = facts("HP Chromebook 11", deal=0.5)
    unrelated = facts("Trek mountain bike", category=3, parent=None, deal=0.5)
    before = {p.listing_id: p.score for p in ranked(viewer(*history), [twin, unrelated], diversify=False)}
    shopper = viewer(*history)
    shopper.signals.append(engine.Signal("dismissal", dismissed, NOW))
    after = {p.listing_id: p for p in ranked(shopper, [twin, unrelated], diversify=False)}
    assert after[twin.id].score < before[twin.id]
    assert after[unrelated.id].score == pytest.approx(before[unrelated.id], abs=0.02)
    assert "not_interested" in {c.signal for c in after[twin.id].signals}


def test_cold_start_recommends_good_deals_near_home_in_popular_categories():
    newcomer = engine.Shopper(1, 37.77, -122.41)
    popular_near = facts("Dell monitor", category=2, deal=0.8)
    popular_far = facts("LG monitor", category=2, deal=0.8, lat=40.71, lon=-74.0)
    unpopular = facts("Old sofa", category=4, parent=None, deal=0.8)
    picks = ranked(newcomer, [unpopular, popular_far, popular_near], popular={2: 1.0, 4: 0.1})
    assert [p.listing_id for p in picks] == [popular_near.id, popular_far.id, unpopular.id]
    assert picks[0].reason.startswith("Popular in Monitors this week")
    assert "Under a mile away" in picks[0].reason
    assert "miles away" not in picks[1].reason, "a distance is a reason only when it is near"


def test_old_signals_fade():
    assert engine.decay(NOW - timedelta(days=14), NOW) == pytest.approx(0.5)
    assert engine.decay(NOW, NOW) == 1.0


def test_focus_scores_one_listing_even_when_it_would_not_be_shown():
    history = [facts("gaming laptop")]
    shopper = viewer(*history)
    seen = facts("gaming laptop seen")
    shopper.excluded.add(seen.id)
    picks = ranked(shopper, [seen, facts("other laptop")], focus=seen.id)
    assert [p.listing_id for p in picks] == [seen.id] and picks[0].reason
