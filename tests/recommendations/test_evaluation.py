"""The evaluation harness: metric values on hand-made cases, the time split, and a small run."""

import json
from math import log2

import numpy as np
import pytest
from django.core.management import call_command

from recommendations import demo_evaluation, evaluation
from recommendations.evaluation import hit_rate_at_k, ndcg_at_k, recall_at_k, time_split


def test_ndcg_divides_by_the_ideal_of_min_k_and_relevant_hits_and_skips_users_without_any():
    ranked = [[1, 2, 3], [9, 8, 7], [5, 6, 7]]
    relevant = [{2, 5}, set(), {5}]

    first = (1 / log2(3)) / (1 + 1 / log2(3))  # hit at rank 2; two relevant, so the ideal has two hits
    third = 1.0  # hit at rank 1 with one relevant item
    assert ndcg_at_k(ranked, relevant, 3) == pytest.approx((first + third) / 2)


def test_ndcg_ideal_is_capped_at_k():
    # Five relevant items, k = 2: two hits at the top are perfect.
    assert ndcg_at_k([[1, 2, 3]], [{1, 2, 3, 4, 5}], 2) == pytest.approx(1.0)
    assert ndcg_at_k([[9, 1, 3]], [{1, 2, 3, 4, 5}], 2) == pytest.approx((1 / log2(3)) / (1 + 1 / log2(3)))


def test_ndcg_only_counts_the_top_k():
    assert ndcg_at_k([[7, 8, 1]], [{1}], 2) == 0.0
    assert ndcg_at_k([[7, 8, 1]], [{1}], 3) == pytest.approx(1 / log2(4))


def test_recall_divides_by_all_held_out_items_not_k():
    ranked = [[1, 2, 3], [4, 6, 7], [1, 2]]
    relevant = [{2, 5}, {7}, {1, 2, 3, 4}]

    assert recall_at_k(ranked, relevant, 2) == pytest.approx((1 / 2 + 0 + 2 / 4) / 3)


def test_hit_rate_is_the_share_of_users_with_a_hit():
    ranked = [[1, 2, 3], [4, 6, 7], [1, 2], [3]]
    relevant = [{3}, {9}, {2}, set()]

    assert hit_rate_at_k(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert hit_rate_at_k(ranked, relevant, 3) == pytest.approx(2 / 3)


def test_metrics_without_evaluable_users_are_zero():
    assert ndcg_at_k([[1]], [set()], 10) == recall_at_k([[1]], [set()], 10) == hit_rate_at_k([[1]], [set()], 10) == 0


def test_the_paired_interval_brackets_the_mean_difference_and_is_zero_for_equal_methods():
    rng = np.random.default_rng(5)
    b = rng.random(200)
    a = b + 0.1 + rng.normal(0, 0.01, 200)

    low, high = evaluation.paired_interval(a, b)

    assert low < float(np.mean(a - b)) < high
    assert low > 0.09
    assert high < 0.11
    assert evaluation.paired_interval(b, b) == (0.0, 0.0)


def test_the_split_holds_out_each_users_latest_fifth_and_at_least_one():
    rng = np.random.default_rng(0)
    # User 0: ten ratings at times 0..9 given in shuffled order; user 1: three; user 2: one.
    times0 = rng.permutation(10)
    users = np.array([0] * 10 + [1] * 3 + [2])
    items = np.array([*(100 + times0).tolist(), 7, 8, 9, 5])
    timestamps = np.array([*times0.tolist(), 30, 10, 20, 1])

    held = time_split(users, items, timestamps)

    assert sorted(items[held & (users == 0)].tolist()) == [108, 109]  # the two latest of ten
    assert items[held & (users == 1)].tolist() == [7]  # ⌊0.6⌋ = 0, but at least one: the latest
    assert items[held & (users == 2)].tolist() == [5]
    assert held.sum() == 4


def test_the_split_orders_equal_timestamps_by_item_and_ignores_input_order():
    users = np.array([0, 0, 0, 0, 0])
    items = np.array([3, 1, 2, 5, 4])
    timestamps = np.array([1, 1, 1, 1, 1])

    held = time_split(users, items, timestamps)
    reordered = np.array([4, 2, 0, 3, 1])
    held_reordered = time_split(users[reordered], items[reordered], timestamps[reordered])

    assert items[held].tolist() == [5]
    assert items[reordered][held_reordered].tolist() == [5]


def test_rankings_exclude_items_seen_in_training_and_break_ties_by_item():
    from scipy import sparse

    seen = sparse.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    scores = np.array([[9.0, 1.0, 1.0, 5.0], [1.0, 1.0, 1.0, 1.0]])

    assert evaluation.top_k(scores, seen, 3).tolist() == [[3, 1, 2], [0, 1, 2]]


def movielens_shaped(seed: int = 1) -> dict[str, np.ndarray]:
    """Four taste groups over four quarters of 80 movies, plus a few blockbusters everyone rates."""
    rng = np.random.default_rng(seed)
    users, items, stamps = [], [], []
    for user in range(1, 61):
        group = user % 4
        liked = rng.choice(np.arange(20) + 20 * group + 1, size=14, replace=False)
        chosen = np.concatenate([liked, rng.choice([81, 82, 83], size=2, replace=False)])
        for order, movie in enumerate(rng.permutation(chosen)):
            users.append(user)
            items.append(int(movie))
            stamps.append(1_000_000 + user * 1000 + order)
    return {
        "userId": np.array(users),
        "movieId": np.array(items),
        "rating": np.full(len(users), 4.0),
        "timestamp": np.array(stamps),
    }


SMALL_GRIDS = {
    "implicit_als": [{"factors": 8, "regularization": 0.1, "alpha": 1.0, "iterations": 5}],
    "implicit_cosine": [{"K": 10}, {"K": 40}],
    "ours": [{"l2": 5.0}, {"l2": 50.0}],
}


def test_the_harness_compares_every_method_on_the_same_split():
    report = evaluation.movielens_report(movielens_shaped(), grids=SMALL_GRIDS)

    assert report["data"]["ratings"] == 60 * 16
    assert report["data"]["held_out"] == 60 * 3  # ⌊0.2 × 16⌋ each
    assert report["data"]["users_evaluated"] == 60
    assert set(report["methods"]) == {"popularity", "implicit_als", "implicit_cosine", "ours"}
    for method in report["methods"].values():
        for metric in ("ndcg_at_10", "recall_at_20", "hit_rate_at_10"):
            assert 0 <= method[metric] <= 1
    assert report["methods"]["implicit_cosine"]["settings"] in SMALL_GRIDS["implicit_cosine"]
    assert report["methods"]["ours"]["grid_size"] == 2
    # Popularity mixes the four groups' movies; a collaborative model keeps to the user's group.
    assert report["methods"]["ours"]["ndcg_at_10"] > 1.5 * report["methods"]["popularity"]["ndcg_at_10"]
    assert report["targets"]["ours_at_least_1_5x_popularity"] is True
    low, high = report["targets"]["ours_minus_best_implicit_ndcg_at_10_ci95"]
    assert low <= high
    json.dumps(report)  # printable as is


def test_the_harness_is_deterministic():
    first = evaluation.movielens_report(movielens_shaped(), grids=SMALL_GRIDS)
    second = evaluation.movielens_report(movielens_shaped(), grids=SMALL_GRIDS)

    first.pop("seconds"), second.pop("seconds")
    assert first == second


def test_the_command_prints_both_parts_as_one_json_object(monkeypatch, capsys):
    monkeypatch.setattr(evaluation, "movielens_report", lambda: {"methods": {}})
    monkeypatch.setattr(demo_evaluation, "demo_report", lambda: {"ours": 1})

    call_command("eval_recommendations")

    assert json.loads(capsys.readouterr().out) == {"movielens": {"methods": {}}, "demo": {"ours": 1}}


def test_the_command_runs_only_the_part_asked_for(monkeypatch, capsys):
    monkeypatch.setattr(evaluation, "movielens_report", lambda: pytest.fail("movielens was not asked for"))
    monkeypatch.setattr(demo_evaluation, "demo_report", lambda: {"ours": 1})

    call_command("eval_recommendations", "--only", "demo")

    assert json.loads(capsys.readouterr().out) == {"demo": {"ours": 1}}
