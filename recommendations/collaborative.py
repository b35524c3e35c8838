"""Provisional item-item cosine model (replaced by the measured model)."""

import numpy as np
from scipy import sparse


class TasteModel:
    def __init__(self, similarity: sparse.csr_matrix):
        self.similarity = similarity
        self.n_tokens = similarity.shape[0]

    @classmethod
    def fit(cls, interactions: sparse.csr_matrix, **params) -> "TasteModel":
        x = sparse.csr_matrix(interactions, dtype=np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        norms[norms == 0] = 1
        xn = x @ sparse.diags(1 / norms)
        sim = (xn.T @ xn).tocsr()
        sim.setdiag(0)
        sim.eliminate_zeros()
        return cls(sim)

    def scores(self, profiles: sparse.csr_matrix) -> np.ndarray:
        return np.asarray((profiles @ self.similarity).todense())

    def neighbours(self, token: int, profile_row: sparse.csr_matrix, k: int = 3) -> list[tuple[int, float]]:
        column = self.similarity.getcol(token).toarray().ravel()
        contributions = profile_row.toarray().ravel() * column
        order = np.argsort(-contributions)[:k]
        return [(int(i), float(contributions[i])) for i in order if contributions[i] > 0]
