"""The model interface every impression generator implements, and its registry.

Baselines, fine-tuned seq2seq models and causal LLMs all fit on training
pairs, generate candidates for findings, and save to / load from a folder
that carries a ``radimpress.json`` naming its kind. Everything downstream
(generate, evaluate, serve) talks to this interface only.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from radimpress import __version__
from radimpress.records import InputError, Report

MANIFEST = "radimpress.json"

# kind -> "module:Class"; imported only when used so that `radimpress --help`
# and the baselines never pay for importing torch.
_REGISTRY: dict[str, str] = {
    "constant": "radimpress.models.baselines:ConstantModel",
    "retrieval": "radimpress.models.baselines:RetrievalModel",
    "rerank": "radimpress.models.rerank:RerankModel",
}


def register_model(kind: str, target: str) -> None:
    """Make a model kind loadable by name (``target`` is ``module:Class``)."""
    _REGISTRY[kind] = target


def model_kinds() -> list[str]:
    return sorted(_REGISTRY)


def model_class(kind: str) -> type[ImpressionModel]:
    if kind not in _REGISTRY:
        raise InputError(f"unknown model kind '{kind}'; known: {', '.join(model_kinds())}")
    module, _, name = _REGISTRY[kind].partition(":")
    return getattr(importlib.import_module(module), name)


class ImpressionModel(ABC):
    """Findings in, ranked impression candidates out."""

    kind: ClassVar[str]

    def __init__(self) -> None:
        self.name: str = self.kind
        self.version: str = ""

    @abstractmethod
    def fit(
        self, train: Sequence[Report], validation: Sequence[Report] | None = None
    ) -> dict[str, Any]:
        """Learn from trainable pairs; return training metrics for the manifest."""

    @abstractmethod
    def generate(self, reports: Sequence[Report], num_candidates: int = 1) -> list[list[str]]:
        """Return, per report, up to ``num_candidates`` impressions, best first."""

    @abstractmethod
    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        """Write the model's own files; return settings needed by ``load_weights``."""

    @classmethod
    @abstractmethod
    def load_weights(cls, model_dir: Path, settings: dict[str, Any]) -> ImpressionModel:
        """Rebuild the model from ``save_weights``' files and settings."""

    # -- shared behaviour -------------------------------------------------

    def info(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "kind": self.kind}

    def save(self, out_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Save weights plus a self-describing manifest."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if not self.version:
            # Time for people, a random suffix so two saves in one second differ.
            stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            self.version = f"{stamp}-{uuid.uuid4().hex[:6]}"
        settings = self.save_weights(out)
        manifest = {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "radimpress_version": __version__,
            "settings": settings,
            **(extra or {}),
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        return out


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir) / MANIFEST
    if not path.exists():
        raise InputError(f"{model_dir}: not a radimpress model folder (no {MANIFEST})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON ({e.msg})") from None


def load_model(model_dir: str | Path) -> ImpressionModel:
    """Load any saved model by the kind its manifest names."""
    manifest = read_manifest(model_dir)
    if "kind" not in manifest:
        raise InputError(f"{Path(model_dir) / MANIFEST}: missing field 'kind'")
    cls = model_class(manifest["kind"])
    model = cls.load_weights(Path(model_dir), manifest.get("settings", {}))
    model.name = manifest.get("name", cls.kind)
    model.version = manifest.get("version", "")
    return model


def trainable(reports: Sequence[Report]) -> list[Report]:
    return [r for r in reports if r.trainable]
