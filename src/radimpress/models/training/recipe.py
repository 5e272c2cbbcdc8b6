"""What every training recipe is: setup -> train -> save, read top to bottom.

A recipe object (torchtune's shape) owns one way of training: `FitRecipe`
for models that fit themselves (baselines, the reranker), `FineTuneRecipe`
for the neural training loop (full or LoRA, seq2seq or causal),
`InContextRecipe` for a pre-trained model used as it is. The model never
calls its recipe back; the recipe calls the model.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
from pathlib import Path
from typing import Any

from radimpress.models.base import ImpressionModel
from radimpress.models.recipes import Recipe
from radimpress.models.training.data import TrainingData

LIBRARIES = ("scikit-learn", "torch", "transformers", "tokenizers", "peft", "accelerate")


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


class TrainingRecipe:
    def __init__(
        self,
        recipe: Recipe,
        data: TrainingData,
        work_dir: Path | None = None,
        resume: bool = False,
    ) -> None:
        self.recipe = recipe
        self.data = data
        self.work_dir = work_dir
        self.resume = resume
        self.model: Any = None
        self.metrics: dict[str, Any] = {}
        self.seconds = 0.0  # setup and training, wall clock

    @property
    def is_main_process(self) -> bool:
        """Under `accelerate launch` only rank 0 writes the model folder."""
        return True

    @property
    def device(self) -> str:
        return "cpu"

    def setup(self) -> None:
        raise NotImplementedError

    def train(self) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, out_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """The model folder: weights, manifest with provenance, recipe.yaml, model card."""
        return self.model.save(
            out_dir,
            extra={
                **self.data.provenance(),
                "train_seconds": round(self.seconds, 3),
                "train_metrics": self.metrics,
                "threads": int(os.environ.get("RADIMPRESS_THREADS", "0")) or None,
                "device": self.device,
                "library_versions": library_versions(),
                **(extra or {}),
            },
        )

    def run(self, out_dir: str | Path | None = None) -> ImpressionModel:
        """setup -> train -> save (when ``out_dir`` is given and this is the main process)."""
        self.setup()
        self.train()
        if out_dir is not None and self.is_main_process:
            self.save(out_dir)
        return self.model
