"""TF-IDF nearest-neighbour search over training findings.

Shared by the retrieval baseline, in-context example selection and
retrieval-augmented fine-tuning, so all three see the same neighbours.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class NeighbourIndex:
    def __init__(self, ngram_max: int = 2, min_df: int = 1) -> None:
        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, ngram_max), min_df=min_df, sublinear_tf=True, lowercase=True
        )
        self.matrix = None

    def fit(self, texts: Sequence[str]) -> NeighbourIndex:
        if not texts:
            raise ValueError("cannot build a neighbour index from no texts")
        self.matrix = self.vectorizer.fit_transform(list(texts))
        return self

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
        k = min(k, len(self) - (1 if exclude is not None else 0))
        q = self.vectorizer.transform(list(texts))
        sims = (q @ self.matrix.T).toarray()
        if exclude is not None:
            for i, j in enumerate(exclude):
                if j is not None:
                    sims[i, j] = -np.inf
        # A stable sort breaks ties by training order, so results are deterministic.
        idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return idx, np.take_along_axis(sims, idx, axis=1)

    def save(self, path: Path) -> None:
        with path.open("wb") as fh:
            pickle.dump({"vectorizer": self.vectorizer, "matrix": self.matrix}, fh)

    @classmethod
    def load(cls, path: Path) -> NeighbourIndex:
        with path.open("rb") as fh:
            state = pickle.load(fh)
        index = cls()
        index.vectorizer, index.matrix = state["vectorizer"], state["matrix"]
        return index
