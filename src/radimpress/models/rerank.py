"""Learned choice among retrieved impressions (kind ``rerank``).

Retrieval already writes most impressions well (a radiologist's phrasing of a
similar study); what loses points is picking the wrong neighbour. The best of
the top-5 neighbours scores about 10 ROUGE-L points above the nearest one, so
this model learns *which* retrieved impression to return:

1. candidates = distinct impressions (by ROUGE tokens) of the top-k TF-IDF
   neighbours, plus the most frequent training impressions;
2. each (findings, candidate) pair gets cheap features (votes and similarity
   of the neighbours proposing it, similarity-weighted ROUGE-L agreement with
   all neighbours, length, frequency, overlap with the findings, abnormal
   terms present or negated);
3. a gradient-boosted regressor, trained leave-one-out on the training split
   (each training report queries the index without itself, exactly like an
   unseen report), predicts the candidate's ROUGE-L against the true
   impression, and candidates are returned best first.

Generation needs no neural network and runs hundreds of reports per second.
"""

from __future__ import annotations

import json
import math
import pickle
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GroupKFold
from tqdm.auto import tqdm

from radimpress.models.base import FittedModel, trainable
from radimpress.models.features import (
    LATERALITY,
    abnormal_mentions,
    abnormal_sentences,
    is_normal_phrase,
    rouge_l_f,
    rouge_tokens,
)
from radimpress.models.impression_edit import (
    PrefixEditor,
    edit_features,
    edited,
)
from radimpress.models.retrieval_index import NeighbourIndex
from radimpress.records import Report

# Per-retriever features (prefixed with the retriever's name) then query and
# candidate features that do not depend on a retriever.
RETRIEVER_FEATURES: tuple[str, ...] = (
    "sim1",
    "sim_mean5",
    "gap12",
    "votes",
    "vote_sim",
    "best_rank",
    "best_sim",
    "is_nn",
    "mbr3",
    "mbr5",
    "mbr10",
    "mbrk",
    "mbr_sharp",
    "mbr_gap",
)
_RETRIEVER_COLUMN = {name: i for i, name in enumerate(RETRIEVER_FEATURES)}
SHARED_FEATURES: tuple[str, ...] = (
    "q_len",
    "q_n_pos_abn",
    "c_len",
    "c_logfreq",
    "c_len_diff",
    "c_len_absdiff",
    "c_find_precision",
    "c_find_overlap",
    "c_n_pos_abn",
    "c_normal",
    "c_abn_shared",
    "c_abn_extra",
    "c_abn_missing",
    "c_lat_extra",
    "c_in_pool_frequent",
    "c_exam_p",
    "c_exam_n",
    "c_cmp_p",
    "c_cmp_n",
    "c_tok_prec",
    "c_tok_rec",
    "c_tok_f",
    "c_tok_missing",
)

# How each retriever turns a report into text and text into vectors. "words"
# is the baseline's index; "chars" catches spelling and template variants
# that identify a radiologist's style; "context" adds exam and comparison
# lines, which are templated per site and radiologist.
RETRIEVERS: dict[str, dict[str, Any]] = {
    "words": {"field": "findings", "vectorizer": {"ngram_range": (1, 2)}},
    "chars": {
        "field": "findings",
        "vectorizer": {"analyzer": "char_wb", "ngram_range": (2, 5), "lowercase": False},
    },
    "context": {"field": "context", "vectorizer": {"ngram_range": (1, 3)}},
}


def feature_names(retrievers: Sequence[str]) -> list[str]:
    return [f"{r}_{f}" for r in retrievers for f in RETRIEVER_FEATURES] + list(SHARED_FEATURES)


def retriever_text(report: Report, field: str) -> str:
    if field == "findings":
        return report.findings
    return f"{report.exam or ''} || {report.comparison or ''} || {report.indication or ''} || {report.findings}"


def context_key(text: str | None) -> str:
    """Exam / comparison lines compared after case and spacing are ignored."""
    return " ".join((text or "").lower().split())


class ImpressionBank:
    """Training impressions deduplicated by their ROUGE tokens.

    Two impressions with the same tokens ("No acute disease." and "No acute
    disease. .") score identically, so they are one candidate; it is shown in
    its most frequent spelling.
    """

    def __init__(self, impressions: Sequence[str]) -> None:
        key_of: dict[tuple[str, ...], int] = {}
        spellings: list[Counter[str]] = []
        self.row_key: list[int] = []
        for text in impressions:
            toks = rouge_tokens(text)
            if toks not in key_of:
                key_of[toks] = len(key_of)
                spellings.append(Counter())
            k = key_of[toks]
            spellings[k][text.strip()] += 1
            self.row_key.append(k)
        self.tokens: list[tuple[str, ...]] = [None] * len(key_of)  # type: ignore[list-item]
        for toks, k in key_of.items():
            self.tokens[k] = toks
        self.text = [c.most_common(1)[0][0] for c in spellings]
        self.count = [sum(c.values()) for c in spellings]
        self._rl: dict[tuple[int, int], float] = {}
        self._facts: dict[int, tuple[set[str], bool, frozenset[str]]] = {}

    @classmethod
    def from_saved(cls, texts: list[str], counts: list[int], row_key: list[int]) -> ImpressionBank:
        bank = cls([])
        bank.text, bank.count, bank.row_key = texts, counts, row_key
        bank.tokens = [rouge_tokens(t) for t in texts]
        return bank

    def __len__(self) -> int:
        return len(self.tokens)

    def most_frequent(self, n: int) -> list[int]:
        return sorted(range(len(self)), key=lambda k: (-self.count[k], k))[:n]

    def rl(self, i: int, j: int) -> float:
        """Cached ROUGE-L F1 between two bank entries (most pairs recur across queries)."""
        if i == j:
            return 1.0 if self.tokens[i] else 0.0
        key = (i, j) if i < j else (j, i)
        v = self._rl.get(key)
        if v is None:
            v = self._rl[key] = rouge_l_f(self.tokens[i], self.tokens[j])
        return v

    def facts(self, k: int) -> tuple[set[str], bool, frozenset[str]]:
        """(positive abnormal stems, is a normal phrase, laterality words) of an entry."""
        f = self._facts.get(k)
        if f is None:
            pos, _ = abnormal_mentions(self.text[k])
            lat = frozenset(t for t in self.tokens[k] if t in LATERALITY)
            f = self._facts[k] = (pos, is_normal_phrase(self.text[k]), lat)
        return f


class Neighbours:
    """One retriever's top-k for one query: bank keys and similarities, best first."""

    __slots__ = ("keys", "sims")

    def __init__(self, keys: Sequence[int], sims: Sequence[float]) -> None:
        self.keys = list(keys)
        self.sims = np.maximum(np.asarray(sims, dtype=float), 0.0)


def agreement(bank: ImpressionBank, cands: Sequence[int], n_proposed: int) -> np.ndarray:
    """ROUGE-L of every candidate with each of the first ``n_proposed`` (the retrievers' own).

    Every retriever's neighbours are among those candidates, so one matrix serves
    all retrievers' "how much do my neighbours agree with me" features; computed
    per retriever instead, most pairs were looked up three times.
    """
    agree = np.zeros((len(cands), n_proposed))
    for a, ca in enumerate(cands):
        if a < n_proposed:
            agree[a, a] = 1.0 if bank.tokens[ca] else 0.0
        for b in range(min(a, n_proposed)):
            agree[a, b] = bank.rl(ca, cands[b])
            if a < n_proposed:
                agree[b, a] = agree[a, b]
    return agree


def _retriever_block(
    cands: Sequence[int], nb: Neighbours, agree_all: np.ndarray, column: dict[int, int]
) -> np.ndarray:
    """RETRIEVER_FEATURES of every candidate against one retriever's neighbours."""
    k = len(nb.keys)
    sims = nb.sims
    col = _RETRIEVER_COLUMN
    block = np.zeros((len(cands), len(RETRIEVER_FEATURES)))
    block[:, col["best_rank"]] = k + 1
    if k == 0:
        return block
    block[:, col["sim1"]] = sims[0]
    block[:, col["sim_mean5"]] = sims[:5].mean()
    block[:, col["gap12"]] = sims[0] - sims[1] if k > 1 else 0.0
    ranks: dict[int, list[int]] = {}
    for r, key in enumerate(nb.keys):
        ranks.setdefault(key, []).append(r)
    for ci, c in enumerate(cands):
        if proposing := ranks.get(c):
            block[ci, col["votes"]] = len(proposing)
            block[ci, col["vote_sim"]] = sims[proposing].sum()
            block[ci, col["best_rank"]] = proposing[0] + 1
            block[ci, col["best_sim"]] = sims[proposing].max()
            block[ci, col["is_nn"]] = float(proposing[0] == 0)
    # Similarity-weighted agreement (minimum Bayes risk) with the top 3, 5, 10
    # and all neighbours, and with all of them under sharpened (sim^8) weights.
    agree = agree_all[:, [column[key] for key in nb.keys]]
    w = sims + 1e-6
    for name, weights in (
        ("mbr3", w[:3]),
        ("mbr5", w[:5]),
        ("mbr10", w[:10]),
        ("mbrk", w),
        ("mbr_sharp", w**8),
    ):
        block[:, col[name]] = (agree[:, : len(weights)] * weights).sum(axis=1) / weights.sum()
    mbr = block[:, col["mbrk"]]
    block[:, col["mbr_gap"]] = mbr - mbr.max()
    return block


def candidate_features(
    bank: ImpressionBank,
    report: Report,
    neighbours: Sequence[Neighbours],
    frequent: Sequence[int],
    priors: ContextPriors | None = None,
    exclude_key: int | None = None,
    token_probs: np.ndarray | None = None,
    token_model: TokenPredictor | None = None,
) -> tuple[list[int], np.ndarray]:
    """Candidates (bank keys) for one query and their features (see ``feature_names``).

    ``exclude_key`` is the query's own impression during leave-one-out
    training, removed from the exam/comparison counts it would otherwise leak into.
    """
    cands: list[int] = []
    seen: set[int] = set()
    for nb in neighbours:
        for key in nb.keys:
            if key not in seen:
                seen.add(key)
                cands.append(key)
    n_proposed = len(cands)
    for key in frequent:
        if key not in seen:
            seen.add(key)
            cands.append(key)
    frequent_set = set(frequent)

    findings = report.findings
    q_toks = rouge_tokens(findings)
    q_set = set(q_toks)
    q_pos, _ = abnormal_mentions(findings)
    q_lat = {t for t in q_toks if t in LATERALITY}
    first = neighbours[0]
    w = first.sims + 1e-6
    nbr_len = np.array([len(bank.tokens[j]) for j in first.keys], dtype=float)
    exp_len = float((w * nbr_len).sum() / w.sum()) if len(first.keys) else 0.0
    exam_counts, exam_n = priors.lookup("exam", report.exam, exclude_key) if priors else ({}, 0)
    cmp_counts, cmp_n = (
        priors.lookup("comparison", report.comparison, exclude_key) if priors else ({}, 0)
    )

    shared = np.zeros((len(cands), len(SHARED_FEATURES)))
    for ci, c in enumerate(cands):
        c_toks = bank.tokens[c]
        c_pos, c_normal, c_lat = bank.facts(c)
        overlap = sum(1 for t in c_toks if t in q_set)
        shared[ci] = (
            len(q_toks),
            len(q_pos),
            len(c_toks),
            math.log1p(bank.count[c]),
            len(c_toks) - exp_len,
            abs(len(c_toks) - exp_len),
            overlap / len(c_toks) if c_toks else 0.0,
            overlap,
            len(c_pos),
            float(c_normal),
            len(c_pos & q_pos),
            len(c_pos - q_pos),
            len(q_pos - c_pos),
            len(c_lat - q_lat),
            float(c in frequent_set),
            (exam_counts.get(c, 0) + 0.1) / (exam_n + 1.0),
            exam_n,
            (cmp_counts.get(c, 0) + 0.1) / (cmp_n + 1.0),
            cmp_n,
            *(
                token_model.candidate_scores(token_probs, c_toks)
                if token_model is not None and token_probs is not None
                else (0.0, 0.0, 0.0, 0.0)
            ),
        )
    agree = agreement(bank, cands, n_proposed)
    column = {c: ci for ci, c in enumerate(cands)}
    blocks = [_retriever_block(cands, nb, agree, column) for nb in neighbours]
    return cands, np.hstack(blocks + [shared])


class TokenPredictor:
    """Kernel ridge regression from findings (TF-IDF) to the words of the impression.

    Neighbour votes only see the k most similar reports; this model pools the
    whole training set ("atelectasis" in the findings -> "atelectasis" in the
    impression), so a candidate that drops an expected word or adds an
    unexpected one can be told apart from its neighbours. Leave-one-out
    predictions for training queries come in closed form, (y - h)/(1 - H_ii),
    so training features never see the query's own impression.
    """

    def __init__(self, ridge: float = 1.0, min_count: int = 3) -> None:
        self.ridge = ridge
        self.min_count = min_count
        self.vocab: dict[str, int] = {}
        self.alpha: np.ndarray | None = None

    def fit(self, x: Any, impressions: Sequence[tuple[str, ...]]) -> np.ndarray:
        """Fit on TF-IDF rows ``x``; return the leave-one-out predictions for them."""
        counts = Counter(t for toks in impressions for t in set(toks))
        self.vocab = {
            t: i for i, t in enumerate(sorted(t for t, c in counts.items() if c >= self.min_count))
        }
        y = np.zeros((len(impressions), len(self.vocab)), dtype=np.float64)
        for i, toks in enumerate(impressions):
            for t in set(toks):
                j = self.vocab.get(t)
                if j is not None:
                    y[i, j] = 1.0
        gram = (x @ x.T).toarray()
        inv = np.linalg.inv(gram + self.ridge * np.eye(len(gram)))
        alpha = inv @ y
        # With hat = G (G + rI)^-1 = I - r inv: y - fitted = r alpha and
        # 1 - H_ii = r inv_ii, so the leave-one-out residual needs no n^3 product.
        loo = y - alpha / np.diag(inv)[:, None]
        self.alpha = alpha.astype(np.float32)
        return np.clip(loo, 0.0, 1.0).astype(np.float32)

    def predict(self, gram_rows: np.ndarray) -> np.ndarray:
        """Predicted word probabilities from query-vs-training kernel rows."""
        assert self.alpha is not None
        return np.clip(gram_rows @ self.alpha, 0.0, 1.0)

    def candidate_scores(
        self, probs: np.ndarray, toks: Sequence[str]
    ) -> tuple[float, float, float, float]:
        """(precision, recall, F1, expected-but-missing mass) of a candidate's words."""
        ids = {self.vocab[t] for t in toks if t in self.vocab}
        n_unique = len(set(toks))
        if not n_unique:
            return 0.0, 0.0, 0.0, float(probs.sum())
        got = float(probs[list(ids)].sum()) if ids else 0.0
        total = float(probs.sum()) + 1e-6
        prec, rec = got / n_unique, got / total
        f = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
        strong = probs > 0.5
        missing = float(
            probs[strong].sum() - (probs[list(ids)][strong[list(ids)]].sum() if ids else 0.0)
        )
        return prec, rec, f, missing


class ContextPriors:
    """How often each impression follows a given exam line or comparison line.

    Exam and comparison lines are templated per site and radiologist
    ("CHEST 2V FRONTAL/LATERAL" is followed by "No acute disease." in most
    normal studies), so they tell which of several equivalent normal phrasings
    this radiologist uses.
    """

    def __init__(self, reports: Sequence[Report], row_key: Sequence[int]) -> None:
        self.tables: dict[str, dict[str, Counter[int]]] = {"exam": {}, "comparison": {}}
        for r, key in zip(reports, row_key, strict=True):
            for field in self.tables:
                ctx = context_key(getattr(r, field))
                if ctx:
                    self.tables[field].setdefault(ctx, Counter())[key] += 1

    def lookup(
        self, field: str, text: str | None, exclude_key: int | None
    ) -> tuple[dict[int, int], int]:
        counts = self.tables[field].get(context_key(text))
        if not counts:
            return {}, 0
        if exclude_key is not None and counts.get(exclude_key, 0) > 0:
            counts = Counter(counts)
            counts[exclude_key] -= 1
        return counts, sum(counts.values())


class RerankModel(FittedModel):
    """Returns the retrieved impression a learned scorer expects to match best."""

    kind = "rerank"

    def __init__(self, recipe=None, **settings) -> None:
        super().__init__(recipe, **settings)
        self.editor: PrefixEditor | None = None
        self.train_neighbours: list[list[Neighbours]] = []
        self.token_model: TokenPredictor | None = None
        self.train_token_probs: np.ndarray | None = None
        self.indexes: dict[str, NeighbourIndex] = {}
        self.bank: ImpressionBank | None = None
        self.priors: ContextPriors | None = None
        self.frequent: list[int] = []
        self.regressor: Any = None
        self._fit_table: tuple | None = None
        self._out_of_fold: np.ndarray | None = None  # the editor's, reused by out_of_fold_ranking

    @property
    def features(self) -> list[str]:
        return feature_names(self.options.retrievers)

    def _new_index(self, name: str) -> NeighbourIndex:
        index = NeighbourIndex()
        index.vectorizer = TfidfVectorizer(sublinear_tf=True, **RETRIEVERS[name]["vectorizer"])
        return index

    def neighbours(self, reports: Sequence[Report] | None = None) -> list[list[Neighbours]]:
        """Each report's top-k per retriever; ``None``: the training pairs, each leaving itself out."""
        assert self.bank is not None
        per_retriever = []
        for name in self.options.retrievers:
            if reports is None:
                idx, sims = self.indexes[name].leave_one_out(self.options.k)
            else:
                texts = [retriever_text(r, RETRIEVERS[name]["field"]) for r in reports]
                idx, sims = self.indexes[name].search(texts, self.options.k)
            per_retriever.append((idx, sims))
        return [
            [
                Neighbours([self.bank.row_key[j] for j in idx[qi]], sims[qi])
                for idx, sims in per_retriever
            ]
            for qi in range(len(per_retriever[0][0]))
        ]

    # -- training -----------------------------------------------------------

    def prepare(self, pairs: Sequence[Report]) -> None:
        """Build indexes, impression bank and priors from training pairs (no learning yet)."""
        for name in self.options.retrievers:
            texts = [retriever_text(r, RETRIEVERS[name]["field"]) for r in pairs]
            self.indexes[name] = self._new_index(name).fit(texts)
        self.bank = ImpressionBank([r.impression for r in pairs])
        self.priors = ContextPriors(pairs, self.bank.row_key) if self.options.use_priors else None
        self.frequent = self.bank.most_frequent(self.options.n_frequent)
        if self.options.token_ridge is not None:
            self.token_model = TokenPredictor(ridge=self.options.token_ridge)
            x = self.indexes[self.options.retrievers[0]].matrix
            self.train_token_probs = self.token_model.fit(
                x, [rouge_tokens(r.impression) for r in pairs]
            )

    def token_probs(self, reports: Sequence[Report]) -> list[np.ndarray | None]:
        if self.token_model is None:
            return [None] * len(reports)
        name = self.options.retrievers[0]
        index = self.indexes[name]
        q = index.vectorizer.transform(
            [retriever_text(r, RETRIEVERS[name]["field"]) for r in reports]
        )
        return list(self.token_model.predict((q @ index.matrix.T).toarray()))

    def candidates(
        self,
        report: Report,
        neighbours: Sequence[Neighbours],
        token_probs: np.ndarray | None,
        exclude_key: int | None = None,
    ) -> tuple[list[int], np.ndarray]:
        """One report's candidates and their features, from this model's bank and priors."""
        assert self.bank is not None
        return candidate_features(
            self.bank,
            report,
            neighbours,
            self.frequent,
            self.priors,
            exclude_key,
            token_probs,
            self.token_model,
        )

    def training_table(
        self, pairs: Sequence[Report]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[int]]]:
        """Leave-one-out (features, target ROUGE-L, query group, candidates) on the prepared pairs."""
        assert self.bank is not None
        xs, ys, groups, cand_lists = [], [], [], []
        probs = (
            list(self.train_token_probs)
            if self.train_token_probs is not None
            else [None] * len(pairs)
        )
        self.train_neighbours = self.neighbours()
        rows = tqdm(
            zip(pairs, self.train_neighbours, strict=True),
            total=len(pairs),
            desc="rerank: candidate features",
            unit="report",
            disable=not self.progress,
            leave=False,
        )
        for qi, (report, nbs) in enumerate(rows):
            truth = self.bank.row_key[qi]
            cands, x = self.candidates(report, nbs, probs[qi], exclude_key=truth)
            xs.append(x)
            ys.append([self.bank.rl(c, truth) for c in cands])
            groups.append(np.full(len(cands), qi))
            cand_lists.append(cands)
        return np.vstack(xs), np.concatenate(ys), np.concatenate(groups), cand_lists

    def new_regressor(self) -> Any:
        return HistGradientBoostingRegressor(
            max_iter=self.options.max_iter,
            learning_rate=self.options.learning_rate,
            max_leaf_nodes=self.options.max_leaf_nodes,
            min_samples_leaf=20,
            l2_regularization=1.0,
            random_state=self.options.seed,
        )

    def fit(self, train, validation=None) -> dict[str, Any]:
        pairs = trainable(train)
        if len(pairs) < 3:
            raise ValueError("need at least 3 trainable pairs (findings and impression) to fit")
        self.prepare(pairs)
        x, y, groups, cand_lists = self.training_table(pairs)
        self._fit_table = (x, y, groups, cand_lists)  # kept for out_of_fold_ranking (not saved)
        # Centre the target per query: only the order within a query matters,
        # and easy queries (all candidates good) should not dominate the fit.
        self.regressor = self.new_regressor().fit(x, y - group_mean(y, groups))
        metrics: dict[str, Any] = {
            "train_pairs": len(pairs),
            "distinct_impressions": len(self.bank),
            "training_candidates": int(len(y)),
        }
        if self.options.edit:
            metrics.update(self.fit_editor(pairs, x, y, groups, cand_lists))
        return metrics

    def out_of_fold_ranking(self, k: int) -> list[list[tuple[str, float]]]:
        """For each training pair of the last fit: its k best candidates as an unseen report would
        get them (leave-one-out neighbours, scores from scorers that never saw that report).

        What a second-stage model (the hybrid recipe's choice) learns from on the training
        split, without the in-sample optimism of scoring a report with a model fitted on it.
        """
        if self._fit_table is None or self.bank is None:
            raise RuntimeError("out_of_fold_ranking needs the model fitted in this process")
        x, y, groups, cand_lists = self._fit_table
        pred = (
            self._out_of_fold
            if self._out_of_fold is not None
            else self.out_of_fold_scores(x, y, groups)
        )
        out, start = [], 0
        for cands in cand_lists:
            scores = pred[start : start + len(cands)]
            start += len(cands)
            order = sorted(range(len(cands)), key=lambda i: (-scores[i], i))[:k]
            out.append([(self.bank.text[cands[i]], float(scores[i])) for i in order])
        return out

    def out_of_fold_scores(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Reranker scores for training candidates from models that never saw their query."""
        pred = np.zeros(len(y))
        n_groups = len(np.unique(groups))
        for a, b in GroupKFold(min(self.options.oof_folds, n_groups)).split(x, y, groups):
            ga = np.unique(groups[a], return_inverse=True)[1]
            pred[b] = self.new_regressor().fit(x[a], y[a] - group_mean(y[a], ga)).predict(x[b])
        return pred

    def fit_editor(self, pairs, x, y, groups, cand_lists) -> dict[str, Any]:
        """Train the prefix editor on what the reranker would pick for unseen queries."""
        assert self.bank is not None
        if len(pairs) < 10:
            self.editor = None
            return {"editor_rows": 0}
        pred = self._out_of_fold = self.out_of_fold_scores(x, y, groups)
        rows, gains = [], []
        probs = (
            list(self.train_token_probs)
            if self.train_token_probs is not None
            else [None] * len(pairs)
        )
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        for qi, report in enumerate(pairs):
            s = np.arange(starts[qi], starts[qi] + len(cand_lists[qi]))
            order = np.argsort(-pred[s], kind="stable")
            pick = cand_lists[qi][order[0]]
            margin = float(pred[s][order[0]] - pred[s][order[1]]) if len(order) > 1 else 0.0
            sentences, feats = self._edit_rows(
                report,
                pick,
                float(pred[s][order[0]]),
                margin,
                self.train_neighbours[qi],
                probs[qi],
            )
            truth = rouge_tokens(report.impression)
            base = float(y[s][order[0]])
            for sent, f in zip(sentences, feats, strict=True):
                rows.append(f)
                gains.append(
                    rouge_l_f(rouge_tokens(edited(sent, self.bank.text[pick])), truth) - base
                )
        if len(rows) < 20:
            self.editor = None
            return {"editor_rows": len(rows)}
        self.editor = PrefixEditor(margin=self.options.edit_margin, seed=self.options.seed).fit(
            np.asarray(rows), np.asarray(gains)
        )
        return {
            "editor_rows": len(rows),
            "editor_mean_gain_if_always": round(float(np.mean(gains)), 4),
        }

    def _edit_rows(
        self, report, pick, score, margin, nbs, probs
    ) -> tuple[list[str], list[list[float]]]:
        assert self.bank is not None
        if not self.bank.facts(pick)[1]:
            return [], []
        sentences = abnormal_sentences(report.findings)
        nb_texts = [self.bank.text[k] for k in nbs[0].keys]
        top_sim = float(nbs[0].sims[0]) if len(nbs[0].keys) else 0.0
        vocab = self.token_model.vocab if self.token_model is not None else {}
        feats = [
            edit_features(
                sent,
                i,
                len(sentences),
                self.bank.text[pick],
                score,
                margin,
                nb_texts,
                top_sim,
                probs,
                vocab,
            )
            for i, sent in enumerate(sentences)
        ]
        return sentences, feats

    # -- inference ----------------------------------------------------------

    def rank(self, reports: Sequence[Report]) -> list[list[tuple[int, float]]]:
        """Per report, (bank key, score) for every candidate, best first."""
        return [ranked for ranked, _ in self.rank_with_edits(reports)]

    def scored_texts(
        self, reports: Sequence[Report], k: int
    ) -> list[list[tuple[str, float | None]]]:
        """Per report, the k best candidates as (text, scorer value), the edit (no value) first."""
        assert self.bank is not None or not reports
        out = []
        for ranked, edit in self.rank_with_edits(reports):
            texts: list[tuple[str, float | None]] = [(edit, None)] if edit else []
            texts += [(self.bank.text[c], s) for c, s in ranked[:k]]  # type: ignore[union-attr]
            out.append(texts)
        return out

    def rank_with_edits(
        self, reports: Sequence[Report]
    ) -> list[tuple[list[tuple[int, float]], str | None]]:
        """Ranked candidates and, when the editor fires, the edited impression."""
        if self.bank is None or self.regressor is None:
            raise RuntimeError("model is not fitted")
        if not reports:
            return []
        # Features for every report first, then one predict call for all of
        # them: the boosted model's per-call overhead dominates small batches.
        probs = self.token_probs(reports)
        neighbours = self.neighbours(reports)
        cand_lists, blocks = [], []
        for qi, (report, nbs) in enumerate(zip(reports, neighbours, strict=True)):
            cands, x = self.candidates(report, nbs, probs[qi])
            cand_lists.append(cands)
            blocks.append(x)
        all_scores = self.regressor.predict(np.vstack(blocks))
        ranked_lists = []
        start = 0
        for cands in cand_lists:
            scores = all_scores[start : start + len(cands)]
            start += len(cands)
            order = sorted(range(len(cands)), key=lambda i: (-scores[i], i))
            ranked_lists.append([(cands[i], float(scores[i])) for i in order])
        edits: list[str | None] = [None] * len(reports)
        if self.editor is not None:
            pending = []  # (query, sentences, feature rows) for queries that could be edited
            for qi, ranked in enumerate(ranked_lists):
                margin = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else 0.0
                sentences, feats = self._edit_rows(
                    reports[qi], ranked[0][0], ranked[0][1], margin, neighbours[qi], probs[qi]
                )
                if feats:
                    pending.append((qi, sentences, feats))
            if pending:
                gains = self.editor.gains(np.vstack([np.asarray(f) for _, _, f in pending]))
                start = 0
                for qi, sentences, feats in pending:
                    g = gains[start : start + len(feats)]
                    start += len(feats)
                    best = int(np.argmax(g))
                    if g[best] > self.editor.margin:
                        edits[qi] = edited(sentences[best], self.bank.text[ranked_lists[qi][0][0]])
        return list(zip(ranked_lists, edits, strict=True))

    def candidate_pool(self, **decoding) -> int:
        return 5  # the scorer ranks every candidate anyway

    def generate(self, reports, num_candidates=1, **decoding):
        out = []
        for ranked, edit in self.rank_with_edits(reports):
            assert self.bank is not None
            texts = ([edit] if edit else []) + [self.bank.text[c] for c, _ in ranked]
            out.append(texts[:num_candidates])
        return out

    # -- persistence --------------------------------------------------------

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        if self.bank is None:
            raise RuntimeError("model is not fitted")
        with (out_dir / "reranker.pkl").open("wb") as fh:
            pickle.dump(
                {
                    "regressor": self.regressor,
                    "indexes": self.indexes,
                    "priors": self.priors,
                    "token_model": self.token_model,
                    "editor": self.editor,
                },
                fh,
            )
        (out_dir / "impressions.json").write_text(
            json.dumps(
                {"texts": self.bank.text, "counts": self.bank.count, "row_key": self.bank.row_key},
                ensure_ascii=False,
            )
        )
        return {"features": self.features}

    @classmethod
    def load_weights(cls, model_dir, recipe, saved):
        m = cls(recipe)
        if saved.get("features", m.features) != m.features:
            raise ValueError(f"{model_dir}: saved with a different feature set; retrain the model")
        with (model_dir / "reranker.pkl").open("rb") as fh:
            state = pickle.load(fh)
        m.regressor, m.indexes, m.priors = state["regressor"], state["indexes"], state["priors"]
        m.token_model, m.editor = state["token_model"], state["editor"]
        data = json.loads((model_dir / "impressions.json").read_text())
        m.bank = ImpressionBank.from_saved(data["texts"], data["counts"], data["row_key"])
        m.frequent = m.bank.most_frequent(m.options.n_frequent)
        return m


def group_mean(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    sums = np.bincount(groups, weights=y)
    counts = np.bincount(groups)
    return (sums / counts)[groups]
