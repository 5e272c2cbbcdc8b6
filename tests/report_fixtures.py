"""Five systems' predictions for the built-in sample, shaped like the demo's evaluation.

Predictions are made from the references by fixed rules (copy, shift, flip a
side, drop sentences), so each section of the report has something to show:
clear and unclear differences, label errors, safety warnings and a worst
report per system. No model is run.
"""

from __future__ import annotations

import random

from radimpress.ingest import ingest_paths, sample_paths
from radimpress.records import Report

SYSTEMS = (
    "retrieval-consensus",
    "constant",
    "default recipe (rerank)",
    "pre-trained (gemma3-270m, in-context)",
    "fine-tuned (t5-scratch-rag, 3 min)",
)


def sample_references() -> list[Report]:
    """The built-in sample's trainable reports (52), in a fixed order."""
    reports = [r for r in ingest_paths(sample_paths()).reports if r.impression]
    return sorted(reports, key=lambda r: r.id)


def _flip(text: str) -> str:
    return text.replace("left", "\0").replace("right", "left").replace("\0", "right")


def sample_systems(refs: list[Report], seed: int = 3) -> dict[str, dict[str, str]]:
    rng = random.Random(seed)
    impressions = [r.impression or "" for r in refs]
    out: dict[str, dict[str, str]] = {name: {} for name in SYSTEMS}
    for i, r in enumerate(refs):
        imp = impressions[i]
        other = impressions[(i + 7) % len(refs)]
        first_sentence = imp.split(". ")[0].split("\n")[0]
        out["retrieval-consensus"][r.id] = other if rng.random() < 0.6 else imp
        out["constant"][r.id] = "No acute cardiopulmonary process."
        out["default recipe (rerank)"][r.id] = imp if rng.random() < 0.55 else other
        out["pre-trained (gemma3-270m, in-context)"][r.id] = (
            r.findings.split(". ")[0] if rng.random() < 0.7 else first_sentence
        )
        roll = rng.random()
        out["fine-tuned (t5-scratch-rag, 3 min)"][r.id] = (
            imp if roll < 0.55 else _flip(imp) if roll < 0.7 else first_sentence
        )
    return out
