"""The domain evaluation: its shape and sane values on a small seeded dataset, and the baselines."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import services
from recommendations.demo import seed_shoppers
from recommendations.demo_evaluation import category_deal_ranking, demo_report, popularity_ranking

from .catalogue import make_catalogue


@pytest.mark.django_db
def test_the_report_has_every_method_with_scores_between_zero_and_one():
    now = timezone.now()
    make_catalogue(now, per_category=30, lifetime=timedelta(days=8))
    seed_shoppers(15, seed=5, now=now)
    services.forget_shared_parts()

    report = demo_report()  # the held-out week ends with the data

    assert set(report) >= {"users", "days", "pairs", "ours", "popularity", "same_category_best_deal", "beats_both"}
    assert report["days"] == 7 and 0 < report["users"] <= 15 and report["pairs"] >= report["users"]
    for method in ("ours", "popularity", "same_category_best_deal"):
        assert set(report[method]) == {"ndcg_at_10", "recall_at_20"}
        assert all(0.0 <= value <= 1.0 for value in report[method].values()), report
    # Tastes are real in this data, so any method that follows the shopper finds some of next week.
    assert report["ours"]["recall_at_20"] > 0 and report["same_category_best_deal"]["recall_at_20"] > 0
    assert isinstance(report["beats_both"], bool)


def test_popularity_ranks_by_views_then_newest():
    now = timezone.now()
    first_seen = {1: now, 2: now - timedelta(days=1), 3: now - timedelta(days=2), 4: now}
    assert popularity_ranking([1, 2, 3, 4], {3: 5, 2: 1}, first_seen, 3) == [3, 2, 1]


def test_same_category_best_deal_shares_places_by_views_and_fills_with_other_deals():
    category_of = {1: 10, 2: 10, 3: 10, 4: 20, 5: 20, 6: 30}
    deal_of = {1: 0.9, 2: 0.8, 3: 0.7, 4: 0.95, 5: 0.1, 6: 0.99}
    # Twice as many views of category 10 as of 20: two of 10's best for each of 20's.
    ranked = category_deal_ranking(list(category_of), {10: 4, 20: 2}, category_of, deal_of, 6)
    assert ranked == [1, 4, 2, 3, 5, 6]  # 2 and 4 tie on place; 4 is the better deal
    # No history: best deals overall.
    assert category_deal_ranking(list(category_of), {}, category_of, deal_of, 2) == [6, 4]
