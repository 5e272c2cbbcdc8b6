"""Probe: can a learned "prefix an abnormal findings sentence to a normal pick" edit help?

Out-of-fold reranker picks on the LOO training table; a regressor predicts the
ROUGE-L gain of each edit; 5-fold CV over queries. Result (dataset-build split):
blind prefixing -15 ROUGE-L, learned with margin 0.05: 68.58 -> 69.02 CV.
"""
# ruff: noqa  (one-off probe kept as a record of what was tried; rerank_cv.py is the maintained harness)

import re
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import numpy as np
from common import dataset_split
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold

from radimpress.models.features import *
from radimpress.models.rerank import RerankModel, group_mean

train, val, test = dataset_split()
m = RerankModel(retrievers=["words"], token_ridge=0.3)
m.prepare(train)
x, y, g, cl = m.training_table(train)
pred = np.zeros(len(y))
for a, b in GroupKFold(5).split(x, y, g):
    reg = m.new_regressor().fit(
        x[a], y[a] - group_mean(y[a], np.unique(g[a], return_inverse=True)[1])
    )
    pred[b] = reg.predict(x[b])
nbs = m.neighbours()
probs = m.train_token_probs
vocab = m.token_model.vocab
STEMS = list(ABNORMAL_STEMS)


def sents(t):
    return [s.strip() for s in re.split(r"(?<=[.;])\s+", t) if s.strip()]


rows = []
tg = []
qid = []
base = []
for q, r in enumerate(train):
    s = np.flatnonzero(g == q)
    j = np.argmax(pred[s])
    pick = cl[q][j]
    b = y[s[j]]
    base.append(b)
    if not m.bank.facts(pick)[1]:
        continue
    pt = m.bank.text[pick]
    rt = rouge_tokens(r.impression)
    nb_texts = [m.bank.text[k].lower() for k in nbs[q][0].keys]
    S = [x for x in sents(r.findings) if abnormal_mentions(x)[0]]
    for si, sent in enumerate(S[:4]):
        pos, _ = abnormal_mentions(sent)
        st = rouge_tokens(sent)
        ids = [vocab[t] for t in set(st) if t in vocab]
        p = probs[q]
        f = [
            si,
            len(S),
            len(st),
            len(pos),
            np.mean([any(stem in t for stem in pos) for t in nb_texts]),
            np.mean([any(stem in t for stem in pos) for t in nb_texts[:5]]),
            p[ids].sum() / max(len(set(st)), 1) if ids else 0,
            p[ids].max() if ids else 0,
            p.sum(),
            pred[s[j]],
            pred[s[j]] - np.sort(pred[s])[-2] if len(s) > 1 else 0,
            len(rouge_tokens(pt)),
            nbs[q][0].sims[0],
        ]
        f += [float(st_ in pos) for st_ in STEMS]
        rows.append(f)
        tg.append(rouge_l_f(rouge_tokens(sent + " " + pt), rt) - b)
        qid.append(q)
X = np.array(rows)
T = np.array(tg)
Q = np.array(qid)
base = np.array(base)
print("edit rows", len(T), "mean gain %.3f" % T.mean(), "positive share %.2f" % (T > 0).mean())
pg = np.zeros(len(T))
for a, b in GroupKFold(5).split(X, T, Q):
    pg[b] = (
        HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.05, min_samples_leaf=20, random_state=0
        )
        .fit(X[a], T[a])
        .predict(X[b])
    )
for th in (0, 0.02, 0.05, 0.1, 0.15):
    new = base.copy()
    n = 0
    for q in np.unique(Q):
        s = np.flatnonzero(q == Q)
        i = s[np.argmax(pg[s])]
        if pg[i] > th:
            new[q] = base[q] + T[i]
            n += 1
    print("th", th, "edited", n, "cv %.2f -> %.2f" % (100 * base.mean(), 100 * new.mean()))
