"""TF-IDF nearest-neighbour search over training findings.

Shared by the retrieval baseline, in-context example selection and
retrieval-augmented fine-tuning, so all three see the same neighbours.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


class NeighbourIndex:
    def __init__(self, ngram_max: int = 2, min_df: int = 1) -> None:
        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, ngram_max), min_df=min_df, sublinear_tf=True, lowercase=True
        )
        self.matrix = None
        self._column_nnz: np.ndarray | None = None

    def fit(self, texts: Sequence[str]) -> NeighbourIndex:
        if not texts:
            raise ValueError("cannot build a neighbour index from no texts")
        self._set_matrix(self.vectorizer.fit_transform(list(texts)))
        return self

    def _set_matrix(self, matrix: sparse.csr_matrix) -> None:
        """The training matrix, its indices sorted (see ``similarities``), and how many
        training rows use each term: set once here, not on every search."""
        matrix.sort_indices()
        self.matrix = matrix
        self._column_nnz = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(float)

    def __setstate__(self, state: dict) -> None:
        """Unpickle, also an index pickled before the term counts were kept (rerank and
        hybrid model folders pickle their indexes whole): they are set again here."""
        self.__dict__.update(state)
        if self.matrix is not None and state.get("_column_nnz") is None:
            self._set_matrix(self.matrix)

    def __len__(self) -> int:
        return 0 if self.matrix is None else self.matrix.shape[0]

    def search(
        self,
        texts: Sequence[str],
        k: int,
        exclude: Sequence[int | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (indices, cosine similarities), each of shape (len(texts), k).

        ``exclude[i]`` drops one training row from query i's results, so a
        training report never retrieves itself (leave-one-out for RAG training).
        """
        if self.matrix is None:
            raise RuntimeError("index is not fitted")
        return self._top_k(self.vectorizer.transform(list(texts)), k, exclude)

    def leave_one_out(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``search`` of the training texts themselves, each excluding itself.

        The same result as searching the training texts with ``exclude=range(n)``,
        without vectorising them a second time.
        """
        if self.matrix is None:
            raise RuntimeError("index is not fitted")
        return self._top_k(self.matrix, k, list(range(len(self))))

    def _top_k(
        self, q: sparse.csr_matrix, k: int, exclude: Sequence[int | None] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self) - (1 if exclude is not None else 0))
        sims = self.similarities(q)
        if exclude is not None:
            for i, j in enumerate(exclude):
                if j is not None:
                    sims[i, j] = -np.inf
        return _stable_top_k(sims, k)

    def similarities(
        self, q: sparse.csr_matrix, chunk: int = 128, dense: bool | None = None
    ) -> np.ndarray:
        """Cosine similarities (the rows are unit length), shape (queries, training rows).

        Sparse times sparse suits short texts; for character n-grams the product
        of a training-size batch is nearly dense and took 6.7 s, against 2.5 s as
        sparse times dense, a chunk of queries at a time. With sorted indices both
        add the same products in the same order (the dense one adds exact zeros
        besides), so the choice never changes a neighbour.
        Sparse times sparse costs about three times as much per multiply-add
        (measured on the three rerank indexes), hence the 0.3; ``dense`` forces
        one way (for tests).
        """
        assert self.matrix is not None and self._column_nnz is not None
        m = self.matrix
        # Both products add a row's terms in the order of its stored indices
        # (the training matrix's were sorted when it was set).
        q.sort_indices()
        n_q, n_vocab = q.shape
        if dense is None:
            sparse_ops = float(np.bincount(q.indices, minlength=n_vocab) @ self._column_nnz)
            dense = sparse_ops >= 0.3 * (m.nnz + n_vocab) * n_q
        if not dense:
            return (q @ m.T).toarray()
        out = np.empty((n_q, m.shape[0]))
        for start in range(0, n_q, chunk):
            out[start : start + chunk] = (m @ q[start : start + chunk].T.toarray()).T
        return out

    def save(self, path: Path) -> None:
        with path.open("wb") as fh:
            pickle.dump({"vectorizer": self.vectorizer, "matrix": self.matrix}, fh)

    @classmethod
    def load(cls, path: Path) -> NeighbourIndex:
        with path.open("rb") as fh:
            state = pickle.load(fh)
        index = cls()
        index.vectorizer = state["vectorizer"]
        index._set_matrix(state["matrix"])
        return index


def _stable_top_k(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k largest, best first, ties broken by training order (deterministic).

    What ``argsort(-sims, kind="stable")[:, :k]`` gives, without sorting whole
    rows: a partition finds each row's k-th value, and only the entries at or
    above it (ties at the boundary included) are sorted.
    """
    n_rows = sims.shape[0]
    if k <= 0:
        return np.zeros((n_rows, 0), dtype=int), np.zeros((n_rows, 0))
    kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
    idx = np.empty((n_rows, k), dtype=int)
    for i in range(n_rows):
        top = np.flatnonzero(sims[i] >= kth[i])
        idx[i] = top[np.argsort(-sims[i, top], kind="stable")[:k]]
    return idx, np.take_along_axis(sims, idx, axis=1)
