"""Recipe: train the hybrid's two parts, then learn its choice on the validation split.

setup: the reranker's fit recipe and the generator's own training recipe
(fine-tune or in-context, with its work dir under ``generator/``).
train: the reranker on the training pairs, the generator on the training
pairs, then the scorer on the validation pairs, which neither part saw.
"""

from __future__ import annotations

import time
from typing import Any

from radimpress.models.hybrid import HybridModel
from radimpress.models.recipes import HybridRecipe, RerankRecipe
from radimpress.models.training import training_recipe
from radimpress.models.training.fit import FitRecipe
from radimpress.models.training.recipe import TrainingRecipe
from radimpress.records import Report


class HybridTraining(TrainingRecipe):
    recipe: HybridRecipe
    model: HybridModel

    def setup(self) -> None:
        r = self.recipe
        rerank = RerankRecipe(kind="rerank", name=f"{r.name}/rerank", settings=r.rerank)
        self.rerank_step = FitRecipe(rerank, self.data)
        generator_dir = self.work_dir / "generator" if self.work_dir else None
        self.generator_step = (
            training_recipe(r.generator, self.data, generator_dir, self.resume)
            if r.generator is not None
            else None
        )
        self.rerank_s = self.generator_s = 0.0  # wall clock of each part (fit_parts)

    @property
    def device(self) -> str:
        return self.generator_step.device if self.generator_step else "cpu"

    def fit_parts(self) -> list[Report]:
        """The reranker, then the generator (if any); returns the pairs the reranker was fitted
        on, in its order, which the choice's out-of-fold rows are built from."""
        start = time.perf_counter()
        self.rerank_step.run()
        self.rerank_s = time.perf_counter() - start
        generator = self.generator_step.run() if self.generator_step else None
        self.generator_s = time.perf_counter() - start - self.rerank_s
        self.model = HybridModel(self.recipe, self.rerank_step.model, generator)
        self.model.progress = True
        # The reranker was fitted on exactly these pairs, in this order (FitRecipe.train).
        return [*self.data.index_extra, *self.data.train]

    def train(self) -> dict[str, Any]:
        start = time.perf_counter()
        fitted_on = self.fit_parts()  # sets self.model
        choice = self.model.fit_scorer(fitted_on, self.data.validation)
        self.seconds += time.perf_counter() - start
        self.metrics = {
            "train_pairs": self.rerank_step.metrics.get("train_pairs"),
            "rerank": self.rerank_step.metrics,
            "generator": {
                k: v
                for k, v in (self.generator_step.metrics if self.generator_step else {}).items()
                if k != "loss_history"
            },
            **choice,
            "rerank_seconds": round(self.rerank_s, 1),
            "generator_seconds": round(self.generator_s, 1),
            "choice_seconds": round(self.seconds - self.rerank_s - self.generator_s, 1),
        }
        return self.metrics
