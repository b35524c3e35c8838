"""The collaborative model on tiny hand-made token spaces: what goes together, and why."""

import numpy as np
import pytest
from scipy import sparse

from recommendations.collaborative import TasteModel, _spd_inverse

# Tokens: 0 laptop, 1 gaming, 2 monitor-144hz, 3 sofa, 4 armchair, 5 bike (used by one user only).
LAPTOP, GAMING, MONITOR, SOFA, ARMCHAIR, BIKE = range(6)


def interactions(rows: list[dict[int, float]], n_tokens: int = 6) -> sparse.csr_matrix:
    data, row_ids, col_ids = [], [], []
    for row, weights in enumerate(rows):
        for token, weight in weights.items():
            row_ids.append(row)
            col_ids.append(token)
            data.append(weight)
    return sparse.csr_matrix((data, (row_ids, col_ids)), shape=(len(rows), n_tokens), dtype=np.float32)


def profile(weights: dict[int, float], n_tokens: int = 6) -> sparse.csr_matrix:
    return interactions([weights], n_tokens)


# Gamers look at laptops, the gaming word and 144 Hz monitors; home buyers at sofas and armchairs.
USERS = interactions(
    [{LAPTOP: 1, GAMING: 1, MONITOR: 1}] * 6
    + [{LAPTOP: 1, GAMING: 1}] * 3
    + [{SOFA: 1, ARMCHAIR: 1}] * 6
    + [{SOFA: 1}] * 3
    + [{BIKE: 1, SOFA: 1}]
)


def test_a_co_occurring_token_outscores_an_unrelated_one():
    model = TasteModel.fit(USERS, l2=1.0)

    scores = model.scores(profile({LAPTOP: 1.0, GAMING: 1.0}))[0]

    assert scores[MONITOR] > 0
    assert scores[MONITOR] > scores[ARMCHAIR]
    assert scores[MONITOR] > scores[SOFA]


def test_a_user_outside_the_fit_gets_scores_in_the_same_token_space():
    model = TasteModel.fit(USERS, l2=1.0)

    scores = model.scores(profile({SOFA: 2.0}))

    assert scores.shape == (1, model.n_tokens) == (1, 6)
    assert int(np.argmax(scores[0])) == ARMCHAIR


def test_a_token_never_recommends_itself():
    # The product adds the direct profile itself; the collaborative part must say something else.
    model = TasteModel.fit(USERS, l2=1.0)

    scores = model.scores(profile({MONITOR: 1.0}))[0]

    assert scores[MONITOR] == 0
    assert scores[LAPTOP] > 0


def test_scores_are_never_negative():
    model = TasteModel.fit(USERS, l2=1.0)

    scores = model.scores(sparse.vstack([profile({LAPTOP: 1.0}), profile({SOFA: 1.0, GAMING: 0.5})]).tocsr())

    assert scores.min() >= 0


def test_tokens_without_enough_users_score_zero_and_have_no_neighbours():
    model = TasteModel.fit(USERS, l2=1.0, min_support=2)

    assert BIKE not in model.kept
    assert model.scores(profile({SOFA: 1.0}))[0, BIKE] == 0
    assert model.scores(profile({BIKE: 1.0})).sum() == 0
    assert model.neighbours(BIKE, profile({SOFA: 1.0})) == []


def test_the_token_cap_keeps_the_most_used_tokens():
    model = TasteModel.fit(USERS, l2=1.0, max_tokens=3)

    # Users per token: laptop 9, gaming 9, sofa 10, armchair 6, monitor 6, bike 1.
    assert model.kept.tolist() == [LAPTOP, GAMING, SOFA]


def test_neighbours_name_the_profile_token_that_suggested_the_token():
    model = TasteModel.fit(USERS, l2=1.0)
    shopper = profile({GAMING: 1.0, SOFA: 1.0})

    neighbours = model.neighbours(MONITOR, shopper, k=3)

    assert [token for token, _ in neighbours] == [GAMING]
    contribution = neighbours[0][1]
    assert contribution == pytest.approx(model.scores(shopper)[0, MONITOR], rel=1e-5)


def test_neighbours_are_ordered_by_contribution_and_cut_at_k():
    model = TasteModel.fit(USERS, l2=1.0)
    shopper = profile({LAPTOP: 3.0, GAMING: 1.0})

    neighbours = model.neighbours(MONITOR, shopper, k=1)

    assert [token for token, _ in neighbours] == [LAPTOP]
    assert len(model.neighbours(MONITOR, shopper, k=5)) == 2


def test_a_prepared_explainer_answers_as_neighbours_does():
    model = TasteModel.fit(USERS, l2=1.0)
    for weights in ({LAPTOP: 3.0, GAMING: 1.0}, {GAMING: 1.0, SOFA: 1.0}, {SOFA: 2.0}):
        strongest = model.explainer(list(weights), list(weights.values()))
        for token in (MONITOR, ARMCHAIR, LAPTOP, BIKE):
            expected = model.neighbours(token, profile(weights), k=1)
            assert strongest(token) == (expected[0][0] if expected else None), (weights, token)
    assert model.explainer([], [])(MONITOR) is None


def test_the_fit_matches_the_closed_form():
    rng = np.random.default_rng(7)
    x = sparse.random(40, 12, density=0.4, format="csr", dtype=np.float32, random_state=rng)
    l2 = 3.0

    model = TasteModel.fit(x, l2=l2, min_support=1)

    dense = x.toarray().astype(np.float64)
    precision = np.linalg.inv(dense.T @ dense + l2 * np.eye(12))
    expected = -precision / np.diag(precision)
    np.fill_diagonal(expected, 0)
    assert model.kept.tolist() == list(range(12))
    np.testing.assert_allclose(model.weights, expected, rtol=1e-3, atol=1e-5)


def test_the_symmetric_inverse_equals_numpys():
    rng = np.random.default_rng(3)
    a = rng.random((30, 30), dtype=np.float32)
    matrix = a @ a.T + np.eye(30, dtype=np.float32)

    np.testing.assert_allclose(_spd_inverse(matrix.copy()), np.linalg.inv(matrix), rtol=1e-3, atol=1e-4)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        TasteModel.fit(interactions([{LAPTOP: -1.0}]))


def test_no_interactions_give_an_empty_model_that_scores_zero():
    model = TasteModel.fit(sparse.csr_matrix((3, 6), dtype=np.float32))

    assert model.n_tokens == 6
    assert model.scores(profile({LAPTOP: 1.0})).sum() == 0
    assert model.neighbours(LAPTOP, profile({GAMING: 1.0})) == []
