"""Training: one recipe object per way of training, chosen by the recipe's kind.

    from radimpress.models.training import TrainingData, training_recipe
    trained = training_recipe(recipe, TrainingData.from_folder("data/"), work_dir).run("model/")

`FitRecipe` (baselines, reranker), `FineTuneRecipe` (the neural loop, full
or LoRA) and `InContextRecipe` (a pre-trained model, not trained) share the
shape setup -> train -> save. Neural recipes load torch; the others do not.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from radimpress.models.recipes import Recipe, kind_of
from radimpress.models.training.data import TrainingData, load_split
from radimpress.models.training.fit import FitRecipe
from radimpress.models.training.recipe import TrainingRecipe

__all__ = ["FitRecipe", "TrainingData", "TrainingRecipe", "load_split", "training_recipe"]

# Recipes that import torch, named here and imported only when used.
_RECIPES = {
    "finetune": "radimpress.models.training.finetune:FineTuneRecipe",
    "in_context": "radimpress.models.training.in_context:InContextRecipe",
    "hybrid": "radimpress.models.training.hybrid:HybridTraining",
}


def training_recipe(
    recipe: Recipe, data: TrainingData, work_dir: Path | None = None, resume: bool = False
) -> TrainingRecipe:
    """The recipe object that trains ``recipe``'s kind."""
    training = kind_of(recipe.kind).training
    if training == "fit":
        return FitRecipe(recipe, data, work_dir, resume)
    if training == "neural":
        training = "finetune" if recipe.train.trains else "in_context"  # type: ignore[attr-defined]
    module, _, name = _RECIPES[training].partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(recipe, data, work_dir, resume)
