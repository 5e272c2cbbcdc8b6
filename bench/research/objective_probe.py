"""Probe: training objective / GBM size for the reranker (5-fold CV on the cached LOO table).

Result: centred-target regression 68.20, raw 67.65, regret 67.52, best-classifier 67.97,
63 leaves 68.59, 15 leaves 67.98 (words+chars+context, no token model). Differences ~0.5.
"""
# ruff: noqa  (one-off probe kept as a record of what was tried; rerank_cv.py is the maintained harness)

import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import os
import pickle
import time

import numpy as np
from common import dataset_split
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from radimpress.models.rerank import RerankModel, group_mean

sys.path.insert(0, __import__("os").path.dirname(__file__))
from rerank_cv import chosen_scores

train, val, test = dataset_split()
p = "/tmp/rr_table.pkl"
if not os.path.exists(p):
    m = RerankModel(k=20)
    m.prepare(train)
    x, y, g, cl = m.training_table(train)
    pickle.dump((x, y, g, m.features), open(p, "wb"))
x, y, g, F = pickle.load(open(p, "rb"))


def cv(make, target):
    pred = np.zeros(len(y))
    for a, b in GroupKFold(5).split(x, y, g):
        ga = np.unique(g[a], return_inverse=True)[1]
        mdl = make().fit(x[a], target(y[a], ga))
        pred[b] = (
            mdl.predict_proba(x[b])[:, 1] if hasattr(mdl, "predict_proba") else mdl.predict(x[b])
        )
    return 100 * chosen_scores(pred, y, g).mean()


def gmax(y, g):
    return (
        np.maximum.reduceat(
            y[np.argsort(g, kind="stable")], np.r_[0, np.flatnonzero(np.diff(np.sort(g))) + 1]
        )
    )[g]


H = lambda **kw: (
    lambda: HistGradientBoostingRegressor(
        random_state=0, min_samples_leaf=20, l2_regularization=1.0, **kw
    )
)
for name, make, t in [
    ("centred lr.05 it300", H(max_iter=300, learning_rate=0.05), lambda y, g: y - group_mean(y, g)),
    ("raw", H(max_iter=300, learning_rate=0.05), lambda y, g: y),
    ("regret", H(max_iter=300, learning_rate=0.05), lambda y, g: y - gmax(y, g)),
    ("centred it600 lr.03", H(max_iter=600, learning_rate=0.03), lambda y, g: y - group_mean(y, g)),
    (
        "centred leaves15",
        H(max_iter=300, learning_rate=0.05, max_leaf_nodes=15),
        lambda y, g: y - group_mean(y, g),
    ),
    (
        "centred leaves63",
        H(max_iter=300, learning_rate=0.05, max_leaf_nodes=63),
        lambda y, g: y - group_mean(y, g),
    ),
    ("centred it150", H(max_iter=150, learning_rate=0.05), lambda y, g: y - group_mean(y, g)),
    (
        "clf best",
        lambda: HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0),
        lambda y, g: (y >= gmax(y, g) - 1e-9).astype(int),
    ),
]:
    t0 = time.time()
    print(name, "%.2f" % cv(make, t), "%.0fs" % (time.time() - t0), flush=True)
