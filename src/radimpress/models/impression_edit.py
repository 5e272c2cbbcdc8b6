"""Second stage of the reranker: put an abnormal finding in front of a normal impression.

When the chosen impression is a normal phrase ("No acute disease.") but the
findings report something the radiologist may still name ("Low lung
volumes."), radiologists often write "Low lung volumes. No acute disease.".
Doing that blindly loses badly (most abnormal-looking sentences are chronic
or incidental and left out of the impression: about -15 ROUGE-L on average on
Open-i), so a small regressor, trained on out-of-fold picks of the reranker,
predicts the ROUGE-L gain of each possible edit and the edit is applied only
when the predicted gain clears a margin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from radimpress.models.features import ABNORMAL_STEMS, abnormal_mentions, rouge_tokens


def edit_features(
    sentence: str,
    position: int,
    n_sentences: int,
    pick_text: str,
    pick_score: float,
    pick_margin: float,
    neighbour_texts: Sequence[str],
    top_sim: float,
    token_probs: np.ndarray | None,
    vocab: dict[str, int],
) -> list[float]:
    """Why an edit may help: neighbours that also name this observation, expected words."""
    positive, _ = abnormal_mentions(sentence)
    toks = rouge_tokens(sentence)
    low = [t.lower() for t in neighbour_texts]
    named_all = np.mean([any(s in t for s in positive) for t in low]) if low else 0.0
    named_5 = np.mean([any(s in t for s in positive) for t in low[:5]]) if low else 0.0
    ids = [vocab[t] for t in set(toks) if t in vocab]
    if token_probs is not None and ids:
        p_mean, p_max, p_total = (
            float(token_probs[ids].sum() / len(set(toks))),
            float(token_probs[ids].max()),
            float(token_probs.sum()),
        )
    else:
        p_mean, p_max, p_total = 0.0, 0.0, 0.0
    return [
        position,
        n_sentences,
        len(toks),
        len(positive),
        named_all,
        named_5,
        p_mean,
        p_max,
        p_total,
        pick_score,
        pick_margin,
        len(rouge_tokens(pick_text)),
        top_sim,
        *(float(stem in positive) for stem in ABNORMAL_STEMS),
    ]


def edited(sentence: str, pick_text: str) -> str:
    return f"{sentence} {pick_text}"


class PrefixEditor:
    """Predicts the ROUGE-L gain of prefixing each abnormal sentence; applies the best if worth it."""

    def __init__(self, margin: float = 0.05, seed: int = 13) -> None:
        self.margin = margin
        self.seed = seed
        self.regressor: Any = None

    def fit(self, rows: np.ndarray, gains: np.ndarray) -> PrefixEditor:
        self.regressor = HistGradientBoostingRegressor(
            max_iter=200, learning_rate=0.05, min_samples_leaf=20, random_state=self.seed
        ).fit(rows, gains)
        return self

    def gains(self, rows: np.ndarray) -> np.ndarray:
        """Predicted ROUGE-L gain of each candidate edit (rows from ``edit_features``)."""
        if self.regressor is None:
            raise RuntimeError("editor is not fitted")
        return self.regressor.predict(rows)

    def choose(self, rows: np.ndarray) -> int | None:
        """Index of the sentence to prefix, or None to keep the impression as it is."""
        if self.regressor is None or len(rows) == 0:
            return None
        gain = self.regressor.predict(rows)
        best = int(np.argmax(gain))
        return best if gain[best] > self.margin else None
