"""Generate and choose (kind ``hybrid``): retrieved impressions and a language model's drafts,
ranked by one learned scorer that also reads the safety checks.

The reranker picks well among radiologists' own sentences, but a picker
cannot write what no neighbour wrote, and what it copies is another
patient's impression. A generator writes from the findings, but alone it is
less fluent than the retrieved text. So the candidates are both: the
reranker's best retrieved impressions (and its edit) and the generator's
beams. Each candidate gets features from both models (the reranker's score,
the generator's length-normalised log-likelihood of the candidate given the
findings and neighbours, agreement with the other candidates), plus the
safety checks' warnings on it, and a gradient-boosted ranker orders each
report's pool. It learns from reports the parts did not learn from: the
validation split, and the training pairs out of fold (`choice_rows`). The
drafting path's safe selection still runs after it.

Normal studies end in a stock sentence that is the radiologist's habit, so a
stock-phrase classifier (`radimpress.models.stock_phrases`) adds its likeliest
stock sentences to the pool and its probabilities to the features.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from tqdm.auto import tqdm

from radimpress.models.base import DEEP_POOL, ImpressionModel, load_model, trainable
from radimpress.models.extractive import VERBATIM, extractive_candidates
from radimpress.models.features import abnormal_mentions, is_normal_phrase, rouge_l_f, rouge_tokens
from radimpress.models.options import ChoiceOptions
from radimpress.models.recipes import HybridRecipe
from radimpress.models.rerank import RerankModel
from radimpress.models.stock_phrases import StockPhrases
from radimpress.records import InputError, Report
from radimpress.safety import SafetyChecker
from radimpress.threads import resolve_threads

if TYPE_CHECKING:  # the default hybrid has no generator: drafting it imports no transformers
    from radimpress.models.neural import NeuralImpressionModel

# What the stock-phrase classifier tells about a candidate (see `_stock_features`).
STOCK_FEATURES: tuple[str, ...] = (
    "from_stock",
    "stock_prob",
    "stock_rank",
    "q_stock_top",
    "q_stock_other",
)
BASE_FEATURES: tuple[str, ...] = (
    "from_retrieval",
    "from_edit",
    "from_generator",
    "from_findings",
    "findings_construction",
    "findings_sentences",
    "findings_first_sentence",
    "rerank_score",
    "rerank_rank",
    "rerank_gap",
    "beam_rank",
    "ll_mean",
    "ll_sum",
    "ll_rank",
    "ll_gap",
    "tokens",
    "tokens_vs_findings",
    "agree_top_beam",
    "agree_top_retrieved",
    "agree_pool",
    "findings_precision",
    "words_precision",
    "words_recall",
    "words_f",
    "words_missing",
    "normal_phrase",
    "abnormal_named",
    "abnormal_in_findings",
    "abnormal_left_out",
    "warn_high",
    "warn_contradiction",
    "warn_laterality",
    "warn_omitted",
    "warn_unsupported",
    "q_rerank_top",
    "q_ll_top_beam",
    "q_pool",
    "q_findings_tokens",
    "q_findings_abnormal",
    "q_top_normal",
    *STOCK_FEATURES,
)
# Features also given as the distance to the pool's best value: a tree splits one feature at a
# time, and "the highest word-model score in this pool" is a different threshold in every pool.
RELATIVE: tuple[str, ...] = (
    "stock_prob",
    "words_f",
    "words_precision",
    "words_recall",
    "agree_pool",
    "agree_top_retrieved",
    "findings_precision",
    "tokens",
    "abnormal_left_out",
    "abnormal_in_findings",
)
FEATURES = BASE_FEATURES + tuple(f"{name}_below_best" for name in RELATIVE)
WARNING_FEATURES = {
    "contradiction": "warn_contradiction",
    "laterality_mismatch": "warn_laterality",
    "omitted_critical": "warn_omitted",
    "unsupported_finding": "warn_unsupported",
}


class Candidate:
    """One text in a report's pool, with where it came from."""

    __slots__ = (
        "beam",
        "extract",
        "first",
        "rerank",
        "rerank_rank",
        "sentences",
        "stock",
        "text",
        "tokens",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = rouge_tokens(text)
        self.rerank: float | None = None  # the reranker's score (None: not retrieved, or the edit)
        self.rerank_rank: int | None = None  # position in the reranker's list (the edit is 0)
        self.beam: int | None = None  # position among the generator's beams
        self.extract: int | None = None  # built from the findings (radimpress.models.extractive)
        self.sentences = 0  # findings sentences it uses
        self.first: int | None = None  # which abnormal findings sentence it starts with
        self.stock: int | None = None  # offered by the stock-phrase classifier (its rank)


class HybridModel(ImpressionModel):
    kind = "hybrid"
    recipe: HybridRecipe

    def __init__(
        self,
        recipe: HybridRecipe,
        rerank: RerankModel | None = None,
        generator: NeuralImpressionModel | None = None,
    ) -> None:
        super().__init__(recipe)
        self.rerank = rerank
        self.generator = generator
        self.scorer: Any = None
        self.checker = SafetyChecker() if recipe.choice.safety_features else None
        c = recipe.choice
        self.stock = StockPhrases(c.stock_min_count, seed=c.seed) if c.stock_phrases else None

    # -- the candidate pool and its features ----------------------------------

    def pools(
        self,
        reports: Sequence[Report],
        retrieved: Sequence[Sequence[tuple[str, float | None]]] | None = None,
        stock: np.ndarray | None = None,
    ) -> list[list[Candidate]]:
        """Retrieved impressions (and the edit), the findings' own sentences, the stock phrases
        the classifier finds likeliest, then the generator's beams; distinct texts.
        ``retrieved`` and ``stock`` replace the reranker's list and the classifier's
        probabilities (out of fold, for training rows)."""
        if self.rerank is None:
            raise RuntimeError("model is not trained")
        c = self.recipe.choice
        # Training rows bring their own (out-of-fold) list, and no beams: the generator
        # has learnt those very impressions.
        beams = (
            self.generator.generate(reports, c.beams, num_beams=max(c.beams, 1), progress=False)
            if self.generator is not None and c.beams and retrieved is None
            else [[] for _ in reports]
        )
        if retrieved is None:
            retrieved = self.rerank.scored_texts(reports, c.top_k)
        if stock is None:
            stock = self.stock_probs(reports)
        out = []
        for q, (report, texts, generated) in enumerate(zip(reports, retrieved, beams, strict=True)):
            pool: dict[tuple[str, ...], Candidate] = {}
            for rank, (text, score) in enumerate(texts):
                cand = pool.setdefault(rouge_tokens(text), Candidate(text))
                cand.rerank, cand.rerank_rank = score, rank
            if c.extractive:
                normal = [text for text, _ in texts]
                for text, how, used, first in extractive_candidates(report.findings, normal):
                    cand = pool.setdefault(rouge_tokens(text), Candidate(text))
                    if cand.extract is None:
                        cand.extract, cand.sentences, cand.first = how, used, first
            if stock is not None and self.stock is not None:
                for rank, k in enumerate(self.stock.likeliest(stock[q])[: c.stock_phrases]):
                    cand = pool.setdefault(self.stock.classes[k], Candidate(self.stock.texts[k]))
                    cand.stock = rank if cand.stock is None else cand.stock
            for rank, text in enumerate(generated):
                if not text.strip():
                    continue
                cand = pool.setdefault(rouge_tokens(text), Candidate(text))
                cand.beam = rank if cand.beam is None else cand.beam
            out.append(list(pool.values()))
        return out

    def features(
        self,
        reports: Sequence[Report],
        pools: list[list[Candidate]],
        word_probs: Sequence[np.ndarray | None] | None = None,
        likelihoods: bool = True,
        stock: np.ndarray | None = None,
    ) -> np.ndarray:
        """One row per candidate, report by report (see FEATURES).

        ``word_probs`` and ``stock`` replace the reranker's word model and the
        stock-phrase classifier for these reports (their out-of-fold values for
        training pairs); without ``likelihoods`` (or a generator) the generator's
        features are missing values.
        """
        assert self.rerank is not None
        texts = [[c.text for c in p] for p in pools]
        if self.generator is not None and likelihoods:
            lls = self.generator.log_likelihoods(reports, texts)
        else:
            lls = [[(np.nan, len(c.tokens)) for c in p] for p in pools]
        warnings = self._warnings(reports, pools)
        # The reranker's word model: how likely each word is to be in this report's impression.
        if word_probs is None:
            word_probs = self.rerank.token_probs(reports)
        words = self.rerank.token_model
        if stock is None:
            stock = self.stock_probs(reports)
        blocks = []
        for q, (report, pool, ll, warns, probs) in enumerate(
            zip(reports, pools, lls, warnings, word_probs, strict=True)
        ):
            stock_of = self._stock_features(pool, None if stock is None else stock[q])
            rows = []
            f_tokens = rouge_tokens(report.findings)
            f_set = set(f_tokens)
            f_abnormal, _ = abnormal_mentions(report.findings)
            means = [s / max(n, 1) for s, n in ll]
            ll_order = {i: r for r, i in enumerate(np.argsort(-np.nan_to_num(means, nan=0.0)))}
            if np.isnan(means).all():
                ll_order = dict.fromkeys(range(len(pool)), np.nan)
            scores = [c.rerank for c in pool if c.rerank is not None]
            top_score = max(scores) if scores else 0.0
            top_beam = next((c for c in sorted(pool, key=_beam_key) if c.beam is not None), None)
            top_retrieved = next((c for c in pool if c.rerank_rank == 0), pool[0])
            top_beam_ll = means[pool.index(top_beam)] if top_beam is not None else np.nan
            top_normal = float(is_normal_phrase(top_retrieved.text))
            for i, c in enumerate(pool):
                others = [o for o in pool if o is not c]
                c_abnormal, _ = abnormal_mentions(c.text)
                agree = [rouge_l_f(c.tokens, o.tokens) for o in others]
                row = {
                    "from_retrieval": float(c.rerank is not None),
                    "from_edit": float(c.rerank_rank == 0 and c.rerank is None),
                    "from_generator": float(c.beam is not None),
                    "from_findings": float(c.extract is not None),
                    "findings_construction": np.nan if c.extract is None else c.extract,
                    "findings_sentences": c.sentences,
                    "findings_first_sentence": np.nan if c.first is None else c.first,
                    "rerank_score": np.nan if c.rerank is None else c.rerank,
                    "rerank_rank": np.nan if c.rerank_rank is None else c.rerank_rank,
                    "rerank_gap": np.nan if c.rerank is None else top_score - c.rerank,
                    "beam_rank": np.nan if c.beam is None else c.beam,
                    "ll_mean": means[i],
                    "ll_sum": ll[i][0],
                    "ll_rank": ll_order[i],
                    "ll_gap": np.nanmax(means) - means[i] if not np.isnan(means).all() else np.nan,
                    "tokens": len(c.tokens),
                    "tokens_vs_findings": len(c.tokens) / max(len(f_tokens), 1),
                    "agree_top_beam": rouge_l_f(c.tokens, top_beam.tokens) if top_beam else np.nan,
                    "agree_top_retrieved": rouge_l_f(c.tokens, top_retrieved.tokens),
                    "agree_pool": float(np.mean(agree)) if agree else 0.0,
                    "findings_precision": sum(t in f_set for t in c.tokens) / max(len(c.tokens), 1),
                    **_word_features(words, probs, c.tokens),
                    "normal_phrase": float(is_normal_phrase(c.text)),
                    "abnormal_named": len(c_abnormal),
                    "abnormal_in_findings": len(c_abnormal & f_abnormal) / max(len(c_abnormal), 1),
                    "abnormal_left_out": len(f_abnormal - c_abnormal),
                    "warn_high": np.nan,
                    "q_rerank_top": top_score,
                    "q_ll_top_beam": top_beam_ll,
                    "q_pool": len(pool),
                    "q_findings_tokens": len(f_tokens),
                    "q_findings_abnormal": len(f_abnormal),
                    "q_top_normal": top_normal,
                    **stock_of[i],
                }
                for name in WARNING_FEATURES.values():
                    row[name] = np.nan
                if warns is not None:
                    row["warn_high"] = sum(w.severity == "high" for w in warns[i])
                    for w_type, name in WARNING_FEATURES.items():
                        row[name] = sum(w.type == w_type for w in warns[i])
                rows.append([row[name] for name in BASE_FEATURES])
            blocks.append(with_relative(np.asarray(rows, dtype=float)))
        return np.vstack(blocks) if blocks else np.empty((0, len(FEATURES)))

    def stock_probs(self, reports: Sequence[Report]) -> np.ndarray | None:
        return self.stock.predict(reports) if self.stock is not None else None

    def _stock_features(self, pool: list[Candidate], probs: np.ndarray | None) -> list[dict]:
        """The classifier's probability that each candidate is the radiologist's stock phrase,
        its rank among the stock phrases, and how sure the classifier is of any stock phrase."""
        if probs is None or self.stock is None:
            return [dict.fromkeys(STOCK_FEATURES, np.nan) for _ in pool]
        rank = np.empty(len(probs) - 1)
        rank[self.stock.likeliest(probs)] = np.arange(len(probs) - 1)
        top, other = float(probs[:-1].max()), float(probs[-1])
        out = []
        for c in pool:
            k = self.stock.index(c.tokens)
            out.append(
                {
                    "from_stock": float(c.stock is not None),
                    "stock_prob": 0.0 if k is None else float(probs[k]),
                    "stock_rank": np.nan if k is None else float(rank[k]),
                    "q_stock_top": top,
                    "q_stock_other": other,
                }
            )
        return out

    def _warnings(self, reports: Sequence[Report], pools: list[list[Candidate]]) -> list[Any]:
        """Safety warnings per candidate; a verbatim copy of the findings' own sentences is not
        checked against those findings (nothing to contradict), which saves a quarter of the work."""
        if self.checker is None:
            return [None] * len(reports)
        pairs = [
            (r.findings, c.text)
            for r, pool in zip(reports, pools, strict=True)
            for c in pool
            if c.extract not in VERBATIM
        ]
        found = iter(self.checker.check_many(pairs))
        return [[[] if c.extract in VERBATIM else next(found) for c in pool] for pool in pools]

    # -- training the choice ---------------------------------------------------

    def choice_rows(
        self, train: Sequence[Report], validation: Sequence[Report], batch: int = 64
    ) -> ChoiceRows:
        """The scorer's training rows: every candidate of every report the parts did not learn from.

        Training pairs contribute as unseen reports would look: the reranker's
        leave-one-out neighbours and out-of-fold scores, its leave-one-out word
        model, the findings' own sentences; the generator's features are left
        missing there (it was trained on those very impressions). Validation
        pairs, which neither part saw, contribute every feature, the
        generator's beams and likelihoods included. ``train`` must be the pairs
        the reranker was fitted on, in the same order.
        """
        assert self.rerank is not None
        pairs, held_out = trainable(train), trainable(validation)
        if self.generator is not None and len(held_out) < 20:
            raise InputError(
                f"the hybrid recipe learns how far to trust its generator on the validation "
                f"split: it has {len(held_out)} pairs, at least 20 are needed (dataset build "
                "--val-frac), or drop the generator"
            )
        retrieved = self.rerank.out_of_fold_ranking(self.recipe.choice.top_k)
        word_probs = self.rerank.train_token_probs
        # the stock-phrase classifier is the choice's own part: fitted here, on the same pairs
        stock = self.stock.fit(pairs) if self.stock is not None else None
        parts = [
            (pairs, retrieved, word_probs, stock, False),
            (held_out, None, None, self.stock_probs(held_out), True),
        ]
        xs, ys, groups, offset = [], [], [], 0
        bar = tqdm(
            total=len(pairs) + len(held_out),
            desc="hybrid: candidate features",
            unit="report",
            disable=not self.progress,
            leave=False,
        )
        for reports, ranked, probs, stock_probs, likelihoods in parts:
            for s in range(0, len(reports), batch):
                chunk = reports[s : s + batch]
                chunk_stock = stock_probs[s : s + batch] if stock_probs is not None else None
                pools = self.pools(
                    chunk, ranked[s : s + batch] if ranked is not None else None, chunk_stock
                )
                chunk_probs = list(probs[s : s + batch]) if probs is not None else None
                xs.append(self.features(chunk, pools, chunk_probs, likelihoods, chunk_stock))
                for q, (report, pool) in enumerate(zip(chunk, pools, strict=True)):
                    truth = rouge_tokens(report.impression or "")
                    ys += [rouge_l_f(c.tokens, truth) for c in pool]
                    groups += [offset + q] * len(pool)
                offset += len(chunk)
                bar.update(len(chunk))
        bar.close()
        x, y, g = np.vstack(xs), np.asarray(ys), np.asarray(groups)
        x[:, np.isnan(x).all(axis=0)] = 0.0  # a feature switched off (no beams, no checks)
        return ChoiceRows(x, y, g, validation_from=len(pairs))

    def fit_scorer(
        self, train: Sequence[Report], validation: Sequence[Report], batch: int = 64
    ) -> dict[str, Any]:
        """Learn which candidate to put first, from reports the parts did not learn from
        (see `choice_rows`)."""
        rows = self.choice_rows(train, validation, batch)
        x, y, g = rows.x, rows.y, rows.groups
        self.scorer = fit_choice(self.recipe.choice, x, rows)
        first = rows.starts()[:-1]
        oracle = float(group_max(y, g)[first].mean())
        reports = int(g.max()) + 1
        return {
            "choice_reports": reports,
            "choice_validation_reports": reports - rows.validation_from,
            "choice_candidates": int(len(y)),
            "choice_candidates_per_report": round(len(y) / max(reports, 1), 2),
            "choice_generated_share": round(
                float(x[:, FEATURES.index("from_generator")].mean()), 3
            ),
            "choice_findings_share": round(float(x[:, FEATURES.index("from_findings")].mean()), 3),
            "choice_stock_phrases": max(len(self.stock.classes) - 1, 0) if self.stock else 0,
            "choice_rougeL_first_retrieved": round(100 * float(y[first].mean()), 2),
            "choice_rougeL_oracle": round(100 * oracle, 2),
        }

    # -- drafting ----------------------------------------------------------------

    def candidate_pool(self, **decoding: Any) -> int:
        # The choice already read every candidate's safety warnings, so 3 are checked for
        # every report; where all 3 are flagged, the drafter asks for the pool (`ranked_depth`).
        return 3

    def ranked_depth(self, **decoding: Any) -> int:
        return DEEP_POOL  # its whole pool: the reranker's top_k, extractive and stock candidates

    def generate(
        self, reports: Sequence[Report], num_candidates: int = 1, **decoding: Any
    ) -> list[list[str]]:
        if self.scorer is None:
            raise RuntimeError("model is not trained")
        if not reports:
            return []
        stock = self.stock_probs(reports)
        pools = self.pools(reports, stock=stock)
        scores = self.scorer.predict(self.features(reports, pools, stock=stock))
        out, start = [], 0
        for pool in pools:
            s = scores[start : start + len(pool)]
            start += len(pool)
            order = sorted(range(len(pool)), key=lambda i: (-s[i], i))
            out.append([pool[i].text for i in order[: max(1, num_candidates)]])
        return out

    # -- persistence ---------------------------------------------------------------

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        assert self.rerank is not None
        self.rerank.save(out_dir / "rerank")
        if self.generator is not None:
            self.generator.save(out_dir / "generator")
        with (out_dir / "scorer.pkl").open("wb") as fh:
            pickle.dump(self.scorer, fh)
        if self.stock is not None:
            with (out_dir / "stock_phrases.pkl").open("wb") as fh:
                pickle.dump(self.stock, fh)
        return {"features": list(FEATURES)}

    @classmethod
    def load_weights(
        cls, model_dir: Path, recipe: HybridRecipe, saved: dict[str, Any]
    ) -> HybridModel:
        if saved.get("features", list(FEATURES)) != list(FEATURES):
            raise InputError(f"{model_dir}: saved with a different feature set; retrain the model")
        rerank = load_model(model_dir / "rerank")
        generator = None
        if recipe.generator is not None:  # scoring candidates needs transformers, not a fast copy
            generator = load_model(model_dir / "generator", backend="hf")
        m = cls(recipe, rerank, generator)  # type: ignore[arg-type]
        if recipe.choice.objective == "lambdarank":
            load_lightgbm()  # the pickled ranker needs it: say so before unpickling fails
        with (model_dir / "scorer.pkl").open("rb") as fh:
            m.scorer = pickle.load(fh)
        if m.stock is not None:
            with (model_dir / "stock_phrases.pkl").open("rb") as fh:
                m.stock = pickle.load(fh)
        return m

    def card_details(self, manifest: dict[str, Any]) -> list[str]:
        g = self.recipe.generator
        if g is None:
            return [
                f"- candidates: the reranker's {self.recipe.choice.top_k} best retrieved "
                "impressions, the findings' own abnormal sentences and the stock-phrase "
                f"classifier's {self.recipe.choice.stock_phrases} likeliest stock sentences "
                "(no generator)",
                f"- choice: gradient-boosted trees ({self.recipe.choice.objective}; reranker "
                "score, word model, stock-phrase probability, agreement, safety warnings) "
                "trained on out-of-fold training pairs",
                "- parts: `rerank/` is a model folder of its own",
            ]
        return [
            f"- candidates: the reranker's {self.recipe.choice.top_k} best retrieved impressions, "
            "the findings' own abnormal sentences, "
            f"and the generator's {self.recipe.choice.beams} beams "
            f"({g.name or g.kind}, base `{g.base or 'from scratch: ' + (g.scratch.size if g.scratch else '?')}`)",
            f"- choice: gradient-boosted trees ({self.recipe.choice.objective}) trained on "
            "out-of-fold training pairs and the validation split "
            "(reranker score, generator log-likelihood, agreement, safety warnings)",
            "- parts: `rerank/` and `generator/` are model folders of their own",
        ]


@dataclass
class ChoiceRows:
    """The choice's training data: one row per candidate, grouped by report.

    ``y`` is each candidate's ROUGE-L against the report's impression; reports
    from ``validation_from`` on are the validation split (the rest are
    out-of-fold training pairs).
    """

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    validation_from: int

    def regret(self) -> np.ndarray:
        return self.y - group_max(self.y, self.groups)

    def relevance(self, levels: int) -> np.ndarray:
        """Each candidate's grade for ranking: ``levels`` at its pool's best, one less per
        ``1 / levels`` of ROUGE-L below it, 0 at the floor."""
        return np.rint(levels * np.clip(1.0 + self.regret(), 0.0, 1.0)).astype(int)

    def starts(self) -> np.ndarray:
        """The first row of each report, and the row count at the end (each report's rows are
        contiguous)."""
        return np.flatnonzero(np.r_[True, self.groups[1:] != self.groups[:-1], True])

    def group_sizes(self) -> np.ndarray:
        """Candidates per report, in row order."""
        return np.diff(self.starts())


def load_lightgbm() -> Any:
    """The LightGBM module, or an error that says how to do without it.

    Its wheel loads the system's OpenMP runtime (libgomp), which a minimal
    server image may lack; then every other recipe still works, and this one
    can train with the scikit-learn objective instead.
    """
    try:
        import lightgbm
    except (ImportError, OSError) as e:
        raise InputError(
            f"the hybrid's choice (objective lambdarank) needs LightGBM, which did not load "
            f"({e}); install the OpenMP runtime (Debian/Ubuntu: apt install libgomp1) or train "
            "with --set choice.objective=regret"
        ) from None
    return lightgbm


def fit_choice(c: ChoiceOptions, x: np.ndarray, rows: ChoiceRows) -> Any:
    """The choice's model fitted on ``x`` (one row per candidate of ``rows``); its
    ``predict`` is higher for the candidate to put first.

    Only the first place of each pool is drafted, so ``lambdarank`` learns the
    order within each report's pool rather than every candidate's score on one
    scale (``regret``): a regressor spends its trees on telling a poor
    candidate from a worse one, which never changes what is drafted. Measured
    in bench/choice_cv.py (BENCHMARKS.md, Choice cross-validation).
    """
    if c.objective == "regret":
        return HistGradientBoostingRegressor(
            max_iter=c.max_iter,
            learning_rate=c.learning_rate,
            max_leaf_nodes=c.max_leaf_nodes,
            min_samples_leaf=c.min_samples_leaf,
            l2_regularization=1.0,
            random_state=c.seed,
        ).fit(x, rows.regret())
    ranker = load_lightgbm().LGBMRanker(
        objective="lambdarank",
        n_estimators=c.max_iter,
        learning_rate=c.learning_rate,
        num_leaves=c.max_leaf_nodes,
        min_child_samples=c.min_samples_leaf,
        reg_lambda=1.0,
        label_gain=list(range(c.relevance_levels + 1)),
        lambdarank_truncation_level=c.truncation,
        random_state=c.seed,
        n_jobs=resolve_threads(),
        verbose=-1,
    )
    return ranker.fit(x, rows.relevance(c.relevance_levels), group=rows.group_sizes())


def with_relative(rows: np.ndarray) -> np.ndarray:
    """One pool's rows (BASE_FEATURES) with each RELATIVE feature's distance to the pool's best
    value appended; a missing value counts as -1."""
    if not len(rows):
        return np.empty((0, len(FEATURES)))
    values = np.nan_to_num(rows[:, [BASE_FEATURES.index(n) for n in RELATIVE]], nan=-1.0)
    return np.hstack([rows, values - values.max(axis=0)])


def group_max(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The best value of each row's group, per row.

    The choice learns from each candidate's regret (its ROUGE-L below the best in
    its pool; graded, it is also the ranker's relevance) rather than its ROUGE-L
    around the pool's mean: as a regression target on the Open-i split this scored
    70.3 against 69.6 ROUGE-L, the regret being zero exactly for the candidates
    worth returning.
    """
    best = np.full(int(groups.max()) + 1, -np.inf)
    np.maximum.at(best, groups, y)
    return best[groups]


def _word_features(model: Any, probs: np.ndarray | None, tokens: Sequence[str]) -> dict[str, float]:
    if model is None or probs is None:
        return dict.fromkeys(
            ("words_precision", "words_recall", "words_f", "words_missing"), np.nan
        )
    p, r, f, missing = model.candidate_scores(probs, tokens)
    return {"words_precision": p, "words_recall": r, "words_f": f, "words_missing": missing}


def _beam_key(c: Candidate) -> float:
    return float("inf") if c.beam is None else c.beam
