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

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from radimpress.models.retrieval_index import NeighbourIndex
from radimpress.records import InputError, Report

DEFAULT_INSTRUCTION = "Generate radiology report impressions based on the following findings."


@dataclass
class PromptTemplate:
    """How findings (and optional context) become the model's input text."""

    instruction: str = DEFAULT_INSTRUCTION
    include_exam: bool = True  # add "Exam: ..." when the report names one
    include_indication: bool = True  # add "Indication: ..." when present
    icl_k: int = 0  # in-context examples (full findings + impression pairs)
    rag_k: int = 0  # neighbours' impressions only
    max_context_chars: int = 600  # per retrieved text: keeps prompts bounded
    answer_prefix: str = "Impression:"

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> PromptTemplate:
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(
                f"prompt: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def needs_index(self) -> bool:
        return self.icl_k > 0 or self.rag_k > 0

    def render(
        self,
        report: Report,
        examples: Sequence[tuple[str, str]] = (),
        neighbour_impressions: Sequence[str] = (),
    ) -> str:
        """The full input text; ends with the answer prefix the model completes."""
        cut = self.max_context_chars
        lines: list[str] = []
        if self.instruction:
            lines.append(self.instruction)
        for findings, impression in examples:
            lines.append("")
            lines.append(f"Findings: {_clip(findings, cut)}")
            lines.append(f"Impression: {_clip(impression, cut)}")
        if neighbour_impressions:
            lines.append("")
            lines.append("Impressions of similar reports:")
            lines.extend(f"- {_clip(text, cut)}" for text in neighbour_impressions)
        lines.append("")
        if self.include_exam and report.exam and report.exam.strip():
            lines.append(f"Exam: {_one_line(report.exam)}")
        if self.include_indication and report.indication and report.indication.strip():
            lines.append(f"Indication: {_one_line(report.indication)}")
        lines.append(f"Findings: {_one_line(report.findings)}")
        lines.append(self.answer_prefix)
        return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if limit <= 0 or len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class PromptBuilder:
    """A template plus the training pairs its retrieved context comes from."""

    template: PromptTemplate = field(default_factory=PromptTemplate)
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
            return [t.render(r) for r in reports]
        if self.index is None:
            raise RuntimeError("PromptBuilder.fit must run before prompts with retrieved context")
        k = max(t.icl_k, t.rag_k)
        row_of = {rid: i for i, rid in enumerate(self.ids)}
        exclude = [row_of.get(r.id) for r in reports]
        idx, _ = self.index.search([r.findings for r in reports], k, exclude=exclude)
        out = []
        for report, row in zip(reports, idx, strict=True):
            rows = [int(j) for j in row]
            examples = [(self.findings[j], self.impressions[j]) for j in rows[: t.icl_k]]
            # Most similar last: nearest to the findings the model must complete.
            examples.reverse()
            rag = [self.impressions[j] for j in rows[: t.rag_k]]
            out.append(t.render(report, examples, rag))
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
        import json

        if self.index is not None:
            self.index.save(out_dir / "prompt_index.pkl")
            (out_dir / "prompt_pairs.json").write_text(
                json.dumps(
                    {"ids": self.ids, "findings": self.findings, "impressions": self.impressions},
                    ensure_ascii=False,
                )
            )
        return {"template": self.template.to_dict(), "indexed": self.index is not None}

    @classmethod
    def load(cls, model_dir: Path, settings: dict[str, Any]) -> PromptBuilder:
        import json

        builder = cls(template=PromptTemplate.from_dict(settings.get("template")))
        if settings.get("indexed"):
            builder.index = NeighbourIndex.load(model_dir / "prompt_index.pkl")
            data = json.loads((model_dir / "prompt_pairs.json").read_text())
            builder.ids, builder.findings, builder.impressions = (
                data["ids"],
                data["findings"],
                data["impressions"],
            )
        return builder
