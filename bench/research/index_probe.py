"""Probe: which TF-IDF representation finds the best neighbours (uid-shuffle split, val 300).

Nearest neighbour / weighted consensus-5 / oracle-5 per vectorizer and input text.
All within noise (NN 61-65, cons5 64-66.5, oracle5 73-73.7): no single index wins,
so the reranker uses several as features.
"""
# ruff: noqa  (one-off probe kept as a record of what was tried; rerank_cv.py is the maintained harness)

import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import numpy as np
from common import *  # noqa: F403
from sklearn.feature_extraction.text import TfidfVectorizer

from radimpress.models.features import rouge_l_f, rouge_tokens

rs = openi_reports()
tr, va, te = split(rs)


def txt(r, mode):
    f = r.findings
    if mode == "find":
        return f
    if mode == "ex":
        return f"{r.exam or ''} || {r.comparison or ''} || {f}"
    if mode == "exind":
        return f"{r.exam or ''} || {r.comparison or ''} || {r.indication or ''} || {f}"


vecs = {
    "word12": dict(ngram_range=(1, 2), sublinear_tf=True),
    "word1": dict(ngram_range=(1, 1), sublinear_tf=True),
    "word13": dict(ngram_range=(1, 3), sublinear_tf=True),
    "char25": dict(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False),
    "char36": dict(
        analyzer="char", ngram_range=(3, 6), sublinear_tf=True, lowercase=False, max_features=300000
    ),
}
toks = [rouge_tokens(r.impression) for r in tr]
for mode in ("find", "ex", "exind"):
    for vn, kw in vecs.items():
        v = TfidfVectorizer(**kw)
        X = v.fit_transform([txt(r, mode) for r in tr])
        Q = v.transform([txt(r, mode) for r in va])
        S = (Q @ X.T).toarray()
        idx = np.argsort(-S, axis=1)[:, :5]
        nn = np.mean([rouge_l_f(toks[i[0]], rouge_tokens(r.impression)) for i, r in zip(idx, va)])
        # consensus 5 weighted
        cons = []
        for i, r, s in zip(idx, va, S):
            ag = [sum(s[j] * rouge_l_f(toks[a], toks[j]) for j in i if j != a) for a in i]
            cons.append(rouge_l_f(toks[i[int(np.argmax(ag))]], rouge_tokens(r.impression)))
        orc = np.mean(
            [
                max(rouge_l_f(toks[j], rouge_tokens(r.impression)) for j in i)
                for i, r in zip(idx, va)
            ]
        )
        print(
            mode,
            vn,
            "nn %.2f cons5 %.2f oracle5 %.2f" % (100 * nn, 100 * np.mean(cons), 100 * orc),
            flush=True,
        )
