"""What a neural model reads: one prompt template per recipe, shared by training and inference.

The seed project trained without its instruction and inferred with it; a
model then sees at inference a text it never saw in training. Here the same
``PromptBuilder`` renders both, so that cannot happen, and a test checks it.

Two kinds of retrieved context can be added, both from the same TF-IDF
``NeighbourIndex`` as the retrieval baseline:

- in-context examples: the k most similar training pairs as
  "Findings: ...\\nImpression: ..." blocks (for a model used without training);
- retrieval-augmented input: only the impressions of the k most similar
  *other* training reports, so a fine-tuned model learns to reuse a
  radiologist's phrasing and to change what the findings change.

At training time a report never retrieves itself (leave-one-out); at
inference a report whose id is in the training set is excluded in the same
way, so the prompt of a training report is identical on both paths.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radimpress.models.features import abnormal_sentences
from radimpress.models.options import PromptOptions
from radimpress.models.retrieval_index import NeighbourIndex
from radimpress.records import InputError, Report

# The label of a findings line; the report's own findings are the prompt's last one.
FINDINGS_LABEL = "Findings: "


def render_prompt(
    template: PromptOptions,
    report: Report,
    examples: Sequence[tuple[str, str]] = (),
    neighbour_impressions: Sequence[str] = (),
) -> str:
    """The full input text; ends with the answer prefix the model completes."""
    cut = template.max_context_chars
    lines: list[str] = []
    if template.instruction:
        lines.append(template.instruction)
    for findings, impression in examples:
        lines.append("")
        lines.append(f"{FINDINGS_LABEL}{_clip(findings, cut)}")
        lines.append(f"Impression: {_clip(impression, cut)}")
    if neighbour_impressions:
        lines.append("")
        lines.append("Impressions of similar reports:")
        lines.extend(f"- {_clip(text, cut)}" for text in neighbour_impressions)
    lines.append("")
    if template.include_exam and report.exam and report.exam.strip():
        lines.append(f"Exam: {_one_line(report.exam)}")
    if template.include_indication and report.indication and report.indication.strip():
        lines.append(f"Indication: {_one_line(report.indication)}")
    lines.append(f"{FINDINGS_LABEL}{_one_line(report.findings)}")
    if template.abnormal_hint:
        # the study's abnormal sentences, named: a model that copies its nearest
        # neighbour's normal impression is told the findings are not normal
        found = abnormal_sentences(report.findings, rare=True)
        lines.append(f"Abnormal: {_one_line(' '.join(found)) if found else 'none'}")
    lines.append(template.answer_prefix)
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if limit <= 0 or len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class PromptBuilder:
    """A template plus the training pairs its retrieved context comes from."""

    template: PromptOptions = field(default_factory=PromptOptions)
    index: NeighbourIndex | None = None
    findings: list[str] = field(default_factory=list)
    impressions: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def fit(self, train: Sequence[Report]) -> PromptBuilder:
        """Index the training pairs (only needed when the template retrieves)."""
        if not self.template.needs_index:
            return self
        pairs = [r for r in train if r.trainable]
        if len(pairs) < 2:
            raise InputError("retrieved context needs at least 2 training pairs")
        self.findings = [r.findings for r in pairs]
        self.impressions = [r.impression.strip() for r in pairs]  # type: ignore[union-attr]
        self.ids = [r.id for r in pairs]
        self.index = NeighbourIndex().fit(self.findings)
        return self

    def prompts(self, reports: Sequence[Report]) -> list[str]:
        """Prompts for training and inference alike.

        A report whose id belongs to the training set never sees its own pair:
        that is leave-one-out during training, and the same text at inference.
        """
        if not reports:
            return []
        t = self.template
        if not t.needs_index:
            return [render_prompt(t, r) for r in reports]
        if self.index is None:
            raise RuntimeError("PromptBuilder.fit must run before prompts with retrieved context")
        first_rag = t.icl_k if t.rag_after_examples else 0
        k = max(t.icl_k, first_rag + t.rag_k)
        row_of = {rid: i for i, rid in enumerate(self.ids)}
        exclude = [row_of.get(r.id) for r in reports]
        idx, _ = self.index.search([r.findings for r in reports], k, exclude=exclude)
        out = []
        for report, row in zip(reports, idx, strict=True):
            rows = [int(j) for j in row]
            examples = [(self.findings[j], self.impressions[j]) for j in rows[: t.icl_k]]
            # Most similar last: nearest to the findings the model must complete.
            examples.reverse()
            rag = [self.impressions[j] for j in rows[first_rag : first_rag + t.rag_k]]
            out.append(render_prompt(t, report, examples, rag))
        return out

    def neighbour_impressions(self, reports: Sequence[Report], k: int) -> list[list[str]]:
        """The k nearest training impressions per report (candidates for MBR selection)."""
        if self.index is None or k <= 0 or not reports:
            return [[] for _ in reports]
        row_of = {rid: i for i, rid in enumerate(self.ids)}
        idx, _ = self.index.search(
            [r.findings for r in reports], k, exclude=[row_of.get(r.id) for r in reports]
        )
        return [[self.impressions[int(j)] for j in row] for row in idx]

    # -- persistence: the index travels with the model so inference needs no training data

    def save(self, out_dir: Path) -> dict[str, Any]:
        if self.index is not None:
            self.index.save(out_dir / "prompt_index.pkl")
            (out_dir / "prompt_pairs.json").write_text(
                json.dumps(
                    {"ids": self.ids, "findings": self.findings, "impressions": self.impressions},
                    ensure_ascii=False,
                )
            )
        return {"indexed": self.index is not None}

    @classmethod
    def load(cls, model_dir: Path, template: PromptOptions, saved: dict[str, Any]) -> PromptBuilder:
        builder = cls(template=template)
        if saved.get("indexed"):
            builder.index = NeighbourIndex.load(model_dir / "prompt_index.pkl")
            data = json.loads((model_dir / "prompt_pairs.json").read_text())
            builder.ids, builder.findings, builder.impressions = (
                data["ids"],
                data["findings"],
                data["impressions"],
            )
        return builder
