"""Recipe: a model that fits itself in one call (the baselines, the learned reranker)."""

from __future__ import annotations

import time
from typing import Any

from radimpress.models.base import FittedModel, build_model
from radimpress.models.training.recipe import TrainingRecipe


class FitRecipe(TrainingRecipe):
    model: FittedModel

    def setup(self) -> None:
        """A fresh model, unless one was given (``--resume-from`` refits the trained one)."""
        if self.model is None:
            self.model = build_model(self.recipe)  # type: ignore[assignment]

    def train(self) -> dict[str, Any]:
        start = time.perf_counter()
        pairs = [*self.data.index_extra, *self.data.train]
        self.metrics = self.model.fit(pairs, self.data.validation)
        self.seconds += time.perf_counter() - start
        return self.metrics
