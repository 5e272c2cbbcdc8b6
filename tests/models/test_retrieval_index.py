"""The neighbour index: what every retrieval-based recipe sees as "the most similar reports"."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from radimpress.models.retrieval_index import NeighbourIndex, _stable_top_k

TEXTS = [
    "No acute cardiopulmonary abnormality.",
    "Left lower lobe opacity, likely atelectasis.",
    "Small left pleural effusion. No pneumothorax.",
    "Right upper lobe nodule measuring 8 mm.",
    "No acute cardiopulmonary abnormality.",  # a duplicate: ties must break by training order
    "Heart size normal. Lungs clear.",
    "Left pleural effusion and left lower lobe atelectasis.",
]


@pytest.mark.parametrize("seed", range(5))
def test_top_k_matches_a_full_stable_sort_ties_included(seed):
    rng = np.random.default_rng(seed)
    # Few distinct values, so many ties cross the k-th position.
    sims = rng.integers(0, 4, size=(30, 40)).astype(float) / 4
    for k in (0, 1, 5, 17, 40):
        idx, vals = _stable_top_k(sims, k)
        assert idx.shape == vals.shape == (30, k)
        want = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(idx, want)
        np.testing.assert_array_equal(vals, np.take_along_axis(sims, want, axis=1))


def test_both_products_give_identical_similarities():
    # Queries in another order than the training texts, so rows are not simply shared.
    index = NeighbourIndex().fit(TEXTS)
    q = index.vectorizer.transform(TEXTS[::-1] + ["left effusion", "nothing in common"])
    sparse_product = index.similarities(q, dense=False)
    np.testing.assert_array_equal(index.similarities(q, chunk=3, dense=True), sparse_product)
    np.testing.assert_array_equal(index.similarities(q), sparse_product)
    assert sparse_product[-1].max() == 0.0
    np.testing.assert_allclose(np.fliplr(sparse_product[:7]).diagonal(), 1.0)  # each finds itself


def test_leave_one_out_is_search_of_the_training_texts_without_themselves():
    index = NeighbourIndex().fit(TEXTS)
    idx, sims = index.leave_one_out(3)
    want_idx, want_sims = index.search(TEXTS, 3, exclude=list(range(len(TEXTS))))
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(sims, want_sims, rtol=0, atol=1e-12)
    assert all(i not in row for i, row in enumerate(idx))
    # The duplicate report finds its twin first, and the twin finds it.
    assert idx[0, 0] == 4 and idx[4, 0] == 0


def test_a_saved_index_searches_like_the_fitted_one(tmp_path):
    index = NeighbourIndex().fit(TEXTS)
    index.save(tmp_path / "index.pkl")
    loaded = NeighbourIndex.load(tmp_path / "index.pkl")
    for a, b in zip(index.search(TEXTS, 3), loaded.search(TEXTS, 3), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_index_pickled_before_the_term_counts_were_kept_still_searches():
    # Rerank and hybrid model folders pickle their indexes whole; a folder saved by the
    # version before `_column_nnz` (unsorted matrix, no counts) failed at its first search.
    index = NeighbourIndex().fit(TEXTS)
    old = NeighbourIndex.__new__(NeighbourIndex)
    old.__dict__.update(vectorizer=index.vectorizer, matrix=index.matrix.copy())
    old.matrix.has_sorted_indices = False
    loaded = pickle.loads(pickle.dumps(old))
    for a, b in zip(index.search(TEXTS, 3), loaded.search(TEXTS, 3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.matrix.has_sorted_indices
