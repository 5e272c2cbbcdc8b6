"""Measure the scrubber against span-labelled reports.

A planted identifier only counts as caught when every character of it is
inside a removed span: a half-removed name still leaks. Clinical damage is
measured on the words *outside* any labelled identifier: the share of them
that the scrubber removed anyway, plus how many marked eponyms were lost.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from radimpress.privacy.scrub import PHI_TYPES, PhiSpan, find_phi

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")


def phi_set_path(half: str) -> Path:
    """The packaged labelled set: ``heldout`` or ``dev``."""
    return Path(str(resources.files("radimpress") / "data" / "phi" / f"{half}.jsonl"))


def load_phi_set(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class PhiScore:
    total: Counter = field(default_factory=Counter)
    caught: Counter = field(default_factory=Counter)
    clinical_words: int = 0
    clinical_removed: int = 0
    removed_words: Counter = field(default_factory=Counter)
    keep_total: int = 0
    keep_removed: int = 0
    lost_keep: Counter = field(default_factory=Counter)
    missed: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (record id, type, text) for tuning
    reports: int = 0

    def recall(self, kind: str) -> float | None:
        return self.caught[kind] / self.total[kind] if self.total[kind] else None

    @property
    def overall_recall(self) -> float:
        n = sum(self.total.values())
        return sum(self.caught.values()) / n if n else 0.0

    @property
    def clinical_removed_share(self) -> float:
        return self.clinical_removed / self.clinical_words if self.clinical_words else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "recall": {k: self.recall(k) for k in PHI_TYPES if self.total[k]},
            "counts": {k: self.total[k] for k in PHI_TYPES if self.total[k]},
            "overall_recall": self.overall_recall,
            "clinical_words": self.clinical_words,
            "clinical_removed": self.clinical_removed,
            "clinical_removed_share": self.clinical_removed_share,
            "eponyms": self.keep_total,
            "eponyms_removed": self.keep_removed,
        }


def _covered(start: int, end: int, text: str, spans: list[PhiSpan]) -> bool:
    need = {i for i in range(start, end) if not text[i].isspace()}
    for sp in spans:
        need -= set(range(sp.start, sp.end))
    return not need


def score_phi_set(
    rows: Iterable[dict[str, Any]], detect: Callable[[str], list[PhiSpan]] = find_phi
) -> PhiScore:
    score = PhiScore()
    for row in rows:
        text = row["text"]
        pred = detect(text)
        score.reports += 1
        for g in row["spans"]:
            score.total[g["type"]] += 1
            if _covered(g["start"], g["end"], text, pred):
                score.caught[g["type"]] += 1
            else:
                score.missed.append((row["id"], g["type"], text[g["start"] : g["end"]]))
        gold = [(g["start"], g["end"]) for g in row["spans"]]
        for m in _WORD.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in gold):
                continue
            score.clinical_words += 1
            if any(p.start < m.end() and m.start() < p.end for p in pred):
                score.clinical_removed += 1
                score.removed_words[m.group()] += 1
        for k in row.get("keep", []):
            score.keep_total += 1
            if any(p.start < k["end"] and k["start"] < p.end for p in pred):
                score.keep_removed += 1
                score.lost_keep[k["term"]] += 1
    return score
