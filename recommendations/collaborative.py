"""Similar users over tokens: EASE, a linear item-item model fitted in closed form.

The product's tokens are what listings share (category, brand and model words, price band,
condition); on MovieLens they are movie ids. Either way the input is a users × tokens matrix of
non-negative implicit weights, and the question is "which tokens do people who like what you like
also like?".

EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019) learns a tokens ×
tokens weight matrix B minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0, whose solution is

    P = (XᵀX + λI)⁻¹,   B = I − P / diag(P)   (column-wise),   diag(B) forced to 0.

A profile's scores are profile · B. The zero diagonal means a token never recommends itself, so the
scores say what the profile's tokens suggest, not the profile echoed back (the product adds the
direct profile itself).

Chosen by measurement, on a validation split carved from MovieLens latest-small's training data
(NDCG@10; see `evaluation.movielens_report` for the protocol): EASE 0.128 (λ = 400), item-KNN by
cosine 0.127 (best of 50–9,066 neighbours), RP3beta 0.122 (best of α 0.5–1, β 0–0.8). EASE also has
a single parameter and needs no iterations or random seed.

Cost is one λ-regularised Gram matrix and one symmetric positive-definite inverse, cubic in the
number of tokens kept. Only tokens used by at least `min_support` users are kept, at most
`max_tokens` of them (the most used): a token seen once teaches nothing about what goes with it,
and the cap bounds the fit time. Tokens left out score 0 and have no neighbours. Measured on a
2-CPU machine, float32, 10,000 users × 5,000 tokens with Zipf-distributed token use: 0.8–1.2 s at
60 tokens per user (1% dense), 1.5–1.8 s at 120 (2% dense) — within the 3 s budget.
"""

from collections.abc import Callable, Sequence

import numpy as np
from scipy import linalg, sparse

# Chosen on the MovieLens validation split (binary interactions, 5,000 most rated of ≈ 9k movies).
# λ is relative to the Gram diagonal (users per token × weight²); larger λ leans towards popularity.
DEFAULT_L2 = 400.0
DEFAULT_MIN_SUPPORT = 2
DEFAULT_MAX_TOKENS = 5_000
# Above this share of non-zeros, one dense matrix product beats the sparse one (measured, 5,000 tokens).
DENSE_GRAM_ABOVE = 0.03


class TasteModel:
    """Token-to-token weights learned from every user's interactions (see the module docstring)."""

    def __init__(self, weights: np.ndarray, kept: np.ndarray, n_tokens: int):
        self.weights = weights  # kept × kept, float32, zero diagonal
        self.kept = kept  # the token ids the rows/columns of `weights` stand for, ascending
        self.n_tokens = n_tokens
        self._position = np.full(n_tokens, -1, dtype=np.int64)
        self._position[kept] = np.arange(len(kept))

    @classmethod
    def fit(
        cls,
        interactions: sparse.csr_matrix,
        *,
        l2: float = DEFAULT_L2,
        min_support: int = DEFAULT_MIN_SUPPORT,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> "TasteModel":
        """Fit on users × tokens non-negative weights (implicit feedback)."""
        x = sparse.csr_matrix(interactions, dtype=np.float32)
        if x.nnz and x.data.min() < 0:
            raise ValueError("interactions must be non-negative")
        n_tokens = x.shape[1]
        x.sum_duplicates()
        support = np.bincount(x.indices, minlength=x.shape[1])  # users per token
        candidates = np.flatnonzero(support >= max(min_support, 1))
        if len(candidates) > max_tokens:
            # The most used tokens; ties go to the lower id so a refit on the same data is identical.
            order = np.lexsort((candidates, -support[candidates]))
            candidates = np.sort(candidates[order[:max_tokens]])
        kept = candidates.astype(np.int64)
        if len(kept) == 0:
            return cls(np.zeros((0, 0), dtype=np.float32), kept, n_tokens)
        gram = _gram(x[:, kept])
        gram[np.diag_indices_from(gram)] += np.float32(l2)
        precision = _spd_inverse(gram)
        precision /= -np.diag(precision)[np.newaxis, :]  # in place: B = −P / diag(P) column-wise …
        np.fill_diagonal(precision, 0.0)  # … with a zero diagonal
        return cls(precision, kept, n_tokens)

    def scores(self, profiles: sparse.csr_matrix) -> np.ndarray:
        """n × tokens: how much each token is liked by people who like what each profile likes.

        Negative weights (tokens that people with this profile avoid) are floored at 0: the product
        treats the scores as a taste to add, and its dislikes come from "not interested" instead.
        """
        profiles = sparse.csr_matrix(profiles, dtype=np.float32)
        out = np.zeros((profiles.shape[0], self.n_tokens), dtype=np.float32)
        if len(self.kept):
            out[:, self.kept] = self.raw_scores(profiles)
        np.maximum(out, 0.0, out=out)
        return out

    def raw_scores(self, profiles: sparse.csr_matrix) -> np.ndarray:
        """n × kept tokens, unfloored: for ranking, where the order among weak tokens still counts."""
        profiles = sparse.csr_matrix(profiles, dtype=np.float32)
        return np.asarray(profiles[:, self.kept] @ self.weights, dtype=np.float32)

    def explainer(self, tokens: Sequence[int], values: Sequence[float]) -> Callable[[int], int | None]:
        """For one profile (its tokens and weights): given a token, the profile's token that contributed
        most to its score, or None. What `neighbours(token, row, k=1)` answers, prepared once so that
        explaining ten picks costs ten lookups."""
        tokens = np.asarray(tokens, dtype=np.int64)
        positions = self._position[np.clip(tokens, 0, self.n_tokens - 1)] if len(tokens) else tokens
        keep = (tokens < self.n_tokens) & (positions >= 0)
        tokens, positions = tokens[keep], positions[keep]
        values = np.asarray(values, dtype=np.float32)[keep]

        def strongest(token: int) -> int | None:
            if not len(tokens) or not 0 <= token < self.n_tokens or self._position[token] < 0:
                return None
            contributions = values * self.weights[positions, self._position[token]]
            best = int(np.argmax(contributions))  # the first of equals, and tokens are in column order
            return int(tokens[best]) if contributions[best] > 0 else None

        return strongest

    def neighbours(self, token: int, profile_row: sparse.csr_matrix, k: int = 3) -> list[tuple[int, float]]:
        """The profile's tokens that contributed most to `token`'s score, with their contributions."""
        if not 0 <= token < self.n_tokens or self._position[token] < 0:
            return []
        row = profile_row
        if not (sparse.isspmatrix_csr(row) and row.dtype == np.float32):  # explanations call this per pick
            row = sparse.csr_matrix(profile_row, dtype=np.float32)
        if row.shape[1] != self.n_tokens:
            raise ValueError(f"profile_row has {row.shape[1]} tokens, the model {self.n_tokens}")
        tokens, values = row.indices, row.data
        positions = self._position[tokens]
        present = positions >= 0
        tokens, values, positions = tokens[present], values[present], positions[present]
        contributions = values * self.weights[positions, self._position[token]]
        # Highest contribution first, then the lower token id, so explanations are stable.
        order = np.lexsort((tokens, -contributions))
        return [(int(tokens[i]), float(contributions[i])) for i in order[:k] if contributions[i] > 0]


def _gram(x: sparse.csr_matrix) -> np.ndarray:
    """XᵀX as a dense float32 array, by whichever product is cheaper at this density."""
    density = x.nnz / max(1, x.shape[0] * x.shape[1])
    if density > DENSE_GRAM_ABOVE:
        dense = x.toarray()
        return dense.T @ dense
    # CSR-times-CSR is the fastest sparse product scipy has; the transpose comes out as CSC.
    return (x.T.tocsr() @ x).toarray()


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite C-ordered matrix, by Cholesky (LAPACK potrf + potri).

    Twice as fast as a general inverse. The matrix is handed to LAPACK as its transpose, which is the
    same matrix already in Fortran order, so nothing is copied. potri fills one triangle; mirrored here.
    """
    factor, info = linalg.lapack.spotrf(matrix.T, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"Gram matrix is not positive definite (potrf info={info})")
    inverse, info = linalg.lapack.spotri(factor, lower=1, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"Gram matrix is singular (potri info={info})")
    # Seen in C order the valid triangle is the upper one. Clear the lower row by row (a memset each;
    # np.tril builds a mask and is 10× slower), then mirror: U + Uᵀ counts the diagonal twice.
    result = inverse.T
    for row in range(1, len(result)):
        result[row, :row] = 0.0
    diagonal = np.diag(result).copy()
    result += result.T
    result[np.diag_indices_from(result)] = diagonal
    return result
