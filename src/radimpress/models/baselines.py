"""Two honest non-neural baselines that every neural recipe must beat."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from radimpress.models.base import FittedModel, trainable
from radimpress.models.retrieval_index import NeighbourIndex

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer


class ConstantModel(FittedModel):
    """Always the most frequent training impression: the floor any model must clear."""

    kind = "constant"

    def __init__(self, recipe=None, **settings) -> None:
        super().__init__(recipe, **settings)
        self.ranked: list[str] = []

    def fit(self, train, validation=None) -> dict[str, Any]:
        counts = Counter(r.impression.strip() for r in trainable(train))
        if not counts:
            raise ValueError("no trainable pairs (findings and impression) to fit on")
        # most_common keeps first-seen order among ties: deterministic for a given file.
        self.ranked = [text for text, _ in counts.most_common(20)]
        return {
            "train_pairs": sum(counts.values()),
            "top_share": counts.most_common(1)[0][1] / sum(counts.values()),
        }

    def generate(self, reports, num_candidates=1, **decoding):
        return [self.ranked[:num_candidates] for _ in reports]

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        return {"ranked": self.ranked}

    @classmethod
    def load_weights(cls, model_dir, recipe, saved):
        m = cls(recipe)
        m.ranked = list(saved["ranked"])
        return m


def consensus_order(
    candidates: Sequence[str], weights: Sequence[float], scorer: RougeScorer
) -> list[int]:
    """Order candidates by similarity-weighted ROUGE-L agreement with the others.

    The impression most neighbours agree with is usually the safest pick: it
    filters out a nearest neighbour whose impression mentions something
    idiosyncratic. Ties keep retrieval order.
    """
    n = len(candidates)
    if n <= 2:
        return list(range(n))
    agreement = [0.0] * n
    for i in range(n):
        for j in range(i + 1, n):
            f = scorer.score(candidates[i], candidates[j])["rougeL"].fmeasure
            agreement[i] += weights[j] * f
            agreement[j] += weights[i] * f
    return sorted(range(n), key=lambda i: (-agreement[i], i))


class RetrievalModel(FittedModel):
    """Impression of the most similar training report (TF-IDF over findings).

    With ``consensus_k > 1`` it picks, among the top-k neighbours, the
    impression that agrees most with the others.
    """

    kind = "retrieval"

    def __init__(self, recipe=None, **settings) -> None:
        super().__init__(recipe, **settings)
        self.consensus_k = self.options.consensus_k
        self.index = NeighbourIndex(ngram_max=self.options.ngram_max)
        self.impressions: list[str] = []
        self.ids: list[str] = []
        from rouge_score import rouge_scorer  # here: nltk behind it costs every other model seconds

        self._scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)

    def fit(self, train, validation=None) -> dict[str, Any]:
        pairs = trainable(train)
        if not pairs:
            raise ValueError("no trainable pairs (findings and impression) to fit on")
        self.index.fit([r.findings for r in pairs])
        self.impressions = [r.impression.strip() for r in pairs]
        self.ids = [r.id for r in pairs]
        return {"train_pairs": len(pairs), "vocabulary": len(self.index.vectorizer.vocabulary_)}

    def candidate_pool(self, **decoding) -> int:
        return max(3, self.consensus_k)

    def generate(self, reports, num_candidates=1, **decoding):
        if not reports:
            return []
        # Fetch extra neighbours: normal reports share impressions, and
        # candidates are meant to be distinct texts.
        k = max(self.consensus_k, 4 * num_candidates)
        idx, sims = self.index.search([r.findings for r in reports], k)
        out: list[list[str]] = []
        for row, sim in zip(idx, sims, strict=True):
            texts = [self.impressions[j] for j in row]
            if self.consensus_k > 1:
                order = consensus_order(
                    texts[: self.consensus_k], list(sim[: self.consensus_k]), self._scorer
                )
                order += list(range(self.consensus_k, len(texts)))
            else:
                order = list(range(len(texts)))
            ranked: list[str] = []
            for i in order:  # distinct candidates only: duplicates add nothing to choose from
                if texts[i] not in ranked:
                    ranked.append(texts[i])
            out.append(ranked[:num_candidates])
        return out

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        self.index.save(out_dir / "index.pkl")
        (out_dir / "impressions.json").write_text(
            json.dumps({"ids": self.ids, "impressions": self.impressions}, ensure_ascii=False)
        )
        return {}

    @classmethod
    def load_weights(cls, model_dir, recipe, saved):
        m = cls(recipe)
        m.index = NeighbourIndex.load(model_dir / "index.pkl")
        data = json.loads((model_dir / "impressions.json").read_text())
        m.ids, m.impressions = data["ids"], data["impressions"]
        return m
