"""Which of the site's stock impressions this report's radiologist would write.

Most normal studies end in one of a few dozen stock sentences ("No acute
cardiopulmonary abnormality.", "No active disease.", "Negative chest x-ray."),
and which one is a habit of the radiologist, not a fact of the study. The
habit shows in how the findings are written ("The heart is normal in size.
The mediastinum is unremarkable." against "Heart size normal. Lungs clear.")
and in the exam and comparison lines. The reranker sees it only through its
neighbours and a per-word model; on the Open-i split, the hybrid returned the
radiologist's exact stock sentence for 68 % of normal studies while its pool
held it for 82 %. A plain logistic regression over the findings' word n-grams,
with one class per frequent impression and one for "anything else", names the
exact sentence for 71 % on its own, and its "anything else" probability says
how likely the report is to need more than a stock sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline

from radimpress.models.features import rouge_tokens
from radimpress.records import Report

OTHER = ("__other__",)


def classifier_text(report: Report) -> str:
    """The findings, then the exam and comparison lines (templated per site and radiologist)."""
    return " || ".join([report.findings or "", report.exam or "", report.comparison or ""])


class StockPhrases:
    """A classifier over the impressions that training pairs repeat at least ``min_count`` times.

    Classes are impressions as ROUGE tokens (what a candidate is compared by);
    ``texts`` keeps the commonest spelling of each, to offer as a candidate.
    """

    def __init__(self, min_count: int = 5, c: float = 10.0, seed: int = 13) -> None:
        self.min_count = min_count
        self.c = c
        self.seed = seed
        self.classes: list[tuple[str, ...]] = []
        self.texts: list[str] = []
        self.model: Pipeline | None = None
        self._index: dict[tuple[str, ...], int] = {}

    def _new_model(self) -> Pipeline:
        return make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            LogisticRegression(C=self.c, max_iter=2000),
        )

    def fit(self, reports: Sequence[Report]) -> np.ndarray | None:
        """Fit on the training pairs; returns their out-of-fold probabilities (rows: reports,
        columns: ``classes``), which a second-stage model can learn from without the optimism
        of scoring a report with a model fitted on it. None when no impression repeats enough,
        or every impression is the same stock phrase (nothing to tell apart)."""
        keys = [rouge_tokens(r.impression or "") for r in reports]
        spelling: dict[tuple[str, ...], Counter[str]] = {}
        for k, r in zip(keys, reports, strict=True):
            spelling.setdefault(k, Counter())[(r.impression or "").strip()] += 1
        frequent = sorted(
            (k for k, c in spelling.items() if k and c.total() >= self.min_count),
            key=lambda k: -spelling[k].total(),
        )
        index = {k: i for i, k in enumerate(frequent)}
        y = np.asarray([index.get(k, len(frequent)) for k in keys])  # the last class: OTHER
        if len(np.unique(y)) < 2:
            self.model = None
            return None
        self.classes = [*frequent, OTHER]
        self._index = index
        self.texts = [spelling[k].most_common(1)[0][0] for k in frequent] + [""]
        x = [classifier_text(r) for r in reports]
        self.model = self._new_model().fit(x, y)
        # Not cross_val_predict: a stock phrase said 5 times can miss a training fold, which
        # it answers with a warning per fold; here its column simply stays 0 for that fold.
        oof = np.zeros((len(reports), len(self.classes)))
        folds = KFold(5, shuffle=True, random_state=self.seed)
        for a, b in folds.split(x):
            model = self._new_model().fit([x[i] for i in a], y[a])
            oof[np.ix_(b, model.classes_)] = model.predict_proba([x[i] for i in b])
        return oof

    def predict(self, reports: Sequence[Report]) -> np.ndarray | None:
        """Probabilities of each class (``classes``) per report; None before a successful fit."""
        if self.model is None:
            return None
        out = np.zeros((len(reports), len(self.classes)))
        if reports:
            out[:, self.model.classes_] = self.model.predict_proba(
                [classifier_text(r) for r in reports]
            )
        return out

    @staticmethod
    def likeliest(probs: np.ndarray) -> np.ndarray:
        """One report's stock classes (``OTHER`` left out), likeliest first; ties keep the
        classes' order (commonest impression first)."""
        return np.argsort(-probs[:-1], kind="stable")

    def index(self, tokens: tuple[str, ...]) -> int | None:
        """The class of a candidate's tokens, if it is one of the stock impressions."""
        return self._index.get(tokens)
