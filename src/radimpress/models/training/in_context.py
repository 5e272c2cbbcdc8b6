"""Recipe: a pre-trained language model used as it is, with retrieved examples in its prompt.

Nothing is trained: setup loads the base model and indexes the training pairs
the prompts draw their examples from; the saved folder points to the base
model instead of copying it.
"""

from __future__ import annotations

import time
from typing import Any

from radimpress.models.base import build_model, trainable
from radimpress.models.neural import NeuralImpressionModel
from radimpress.models.training.recipe import TrainingRecipe
from radimpress.records import InputError


class InContextRecipe(TrainingRecipe):
    model: NeuralImpressionModel

    def setup(self) -> None:
        if not getattr(self.recipe, "base", None):
            raise InputError(f"recipe '{self.recipe.name}': an in-context model needs a base model")
        start = time.perf_counter()
        self.model = build_model(self.recipe)  # type: ignore[assignment]
        self.model.builder.fit([*self.data.index_extra, *self.data.train])
        self.model.build()
        self.model.model.eval()
        self.seconds += time.perf_counter() - start

    def train(self) -> dict[str, Any]:
        self.metrics = {"trained": False, "train_pairs": len(trainable(self.data.train))}
        return self.metrics
