"""The model interface every impression generator implements, and its saved folder.

Baselines, the learned reranker, fine-tuned seq2seq models and causal LLMs
all generate candidates for findings and save to / load from a folder that
carries a ``radimpress.json`` naming its kind and the resolved recipe it was
built from. Everything downstream (drafting, evaluate, serve) talks to this
interface only. How a model is trained is not the model's business: see
`radimpress.models.training`.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import yaml

from radimpress import __version__
from radimpress.models.recipes import Recipe, kind_of, model_class, parse_recipe
from radimpress.records import InputError, Report

MANIFEST = "radimpress.json"
RECIPE_FILE = "recipe.yaml"
# How deep a model that ranks a list (retrieval, rerank, the hybrid's pool) lets safe selection
# look when its first candidates all carry a high-severity warning (`ranked_depth`).
DEEP_POOL = 16


class ImpressionModel(ABC):
    """Findings in, ranked impression candidates out."""

    kind: ClassVar[str]
    # Decoding options a caller may override per call (see radimpress.drafting);
    # asking a model for one it does not list is an error, never silently ignored.
    decoding_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self.name: str = recipe.name or self.kind
        self.version: str = ""
        self.progress: bool = True  # progress bars (a server turns them off)

    @abstractmethod
    def generate(
        self, reports: Sequence[Report], num_candidates: int = 1, **decoding: Any
    ) -> list[list[str]]:
        """Return, per report, up to ``num_candidates`` impressions, best first."""

    @property
    def backend(self) -> str:
        """The engine that generates: "hf" or "ctranslate2" for neural models."""
        return "python"

    def candidate_pool(self, **decoding: Any) -> int:
        """How many candidates the model ranks anyway, at no extra cost (safe selection uses them)."""
        return 1

    def ranked_depth(self, **decoding: Any) -> int:
        """How many candidates it can rank on request: where the first candidates all carry a
        high-severity warning, safe selection asks for this many for those reports alone."""
        return self.candidate_pool(**decoding)

    def place(self, device: str = "auto") -> str:
        """Put the model where it drafts fastest (neural models: a GPU, or bf16 on a CPU with
        AMX); the others draft in Python on the CPU."""
        return "cpu"

    @abstractmethod
    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        """Write the model's own files; return what `load_weights` needs beyond the recipe."""

    @classmethod
    @abstractmethod
    def load_weights(cls, model_dir: Path, recipe: Any, saved: dict[str, Any]) -> ImpressionModel:
        """Rebuild the model from `save_weights`' files."""

    @classmethod
    def load_saved(
        cls, model_dir: Path, recipe: Any, manifest: dict[str, Any], backend: str = "auto"
    ) -> ImpressionModel:
        """Load for drafting on a backend; only neural models have more than one."""
        if backend != "auto":
            raise InputError(
                f"{model_dir}: {cls.kind} models run in Python only; "
                f"--backend {backend} applies to neural (seq2seq, causal) models"
            )
        return cls.load_weights(model_dir, recipe, manifest.get("saved", {}))

    # -- shared behaviour -------------------------------------------------

    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "kind": self.kind}

    def save(self, out_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Weights, radimpress.json (kind, version, resolved recipe), recipe.yaml and a model card."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if not self.version:
            # Time for people, a random suffix so two saves in one second differ.
            stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            self.version = f"{stamp}-{uuid.uuid4().hex[:6]}"
        saved = self.save_weights(out)
        recipe = self.recipe.model_dump(mode="json")
        manifest = {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "radimpress_version": __version__,
            "recipe": recipe,
            "saved": saved,
            **(extra or {}),
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        (out / RECIPE_FILE).write_text(yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True))
        (out / "README.md").write_text(self.card(manifest))
        return out

    def card(self, manifest: dict[str, Any]) -> str:
        """A short README.md so a person opening the folder knows what it is and how it was made."""
        metrics = manifest.get("train_metrics") or {}
        lines = [
            f"# radimpress model: {manifest['name']} ({manifest['kind']})",
            "",
            "Drafts the IMPRESSION of a radiology report from its FINDINGS. A draft for a",
            "radiologist to review, never a final report.",
            "",
            f"- recipe: `{self.recipe.name or 'custom'}` (resolved options in `{RECIPE_FILE}`)",
            f"- version: {manifest['version']}",
            f"- training data: `{manifest.get('data', 'unknown')}` "
            f"(manifest sha256 `{manifest.get('data_manifest_sha256')}`)",
            f"- exams trained on, by body region: {_regions(manifest.get('exam_regions'))}",
            f"- trained in: {manifest.get('train_seconds', '?')} s "
            f"on {manifest.get('threads', '?')} CPU thread(s), device {manifest.get('device', 'cpu')}",
            *self.card_details(manifest),
            "",
            "## Training and validation metrics",
            "",
        ]
        shown = [f"- {k}: {v}" for k, v in metrics.items() if not isinstance(v, list | dict)]
        lines += shown or ["- none recorded"]
        lines += [
            "",
            "Use: `radimpress generate --model THIS_FOLDER --input reports.jsonl "
            "--output predictions.jsonl`",
            "",
        ]
        return "\n".join(lines)

    def card_details(self, manifest: dict[str, Any]) -> list[str]:
        """Kind-specific lines of the model card."""
        return []


def _regions(counts: dict[str, int] | None) -> str:
    if not counts:
        return "none named (every exam is drafted)"
    return ", ".join(f"{region} {n:,}" for region, n in counts.items())


class FittedModel(ImpressionModel):
    """A model that trains itself from the pairs in one call (baselines, the reranker).

    Its options are the recipe's ``settings`` group; keyword arguments build
    that group directly, e.g. ``RetrievalModel(consensus_k=5)``.
    """

    def __init__(self, recipe: Recipe | None = None, **settings: Any) -> None:
        if recipe is None:
            recipe = kind_of(self.kind).recipe(kind=self.kind, settings=settings)
        super().__init__(recipe)

    @property
    def options(self) -> Any:
        return self.recipe.settings  # type: ignore[attr-defined]

    def ranked_depth(self, **decoding: Any) -> int:
        return DEEP_POOL  # a ranked list (retrieved impressions, the reranker's scores)

    @abstractmethod
    def fit(
        self, train: Sequence[Report], validation: Sequence[Report] | None = None
    ) -> dict[str, Any]:
        """Learn from trainable pairs; return training metrics for the manifest."""


def build_model(recipe: Recipe) -> ImpressionModel:
    """An untrained model for a validated recipe."""
    return model_class(recipe.kind)(recipe)


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir) / MANIFEST
    if not path.exists():
        raise InputError(f"{model_dir}: not a radimpress model folder (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON ({e.msg})") from None
    for key in ("kind", "recipe"):
        if key not in manifest:
            raise InputError(
                f"{path}: missing field '{key}' (saved by an older radimpress? retrain the model)"
            )
    return manifest


def load_model(
    model_dir: str | Path, backend: str = "auto", *, place: bool = True
) -> ImpressionModel:
    """Load any saved model by the kind its manifest names, on a backend (see models.backends).

    ``place``: a neural model goes where it drafts fastest (a GPU in bf16, a CPU with AMX in bf16;
    `NeuralImpressionModel.place`). Callers that train or convert the weights pass False: they
    need the saved float32 weights on the CPU, not a bf16 copy.
    """
    manifest = read_manifest(model_dir)
    recipe = parse_recipe(manifest["recipe"], str(Path(model_dir) / MANIFEST))
    model = model_class(manifest["kind"]).load_saved(Path(model_dir), recipe, manifest, backend)
    model.name = manifest.get("name", model.kind)
    model.version = manifest.get("version", "")
    if place:
        model.place()
    return model


def trainable(reports: Sequence[Report]) -> list[Report]:
    return [r for r in reports if r.trainable]
