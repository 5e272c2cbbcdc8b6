"""What a training recipe reads: the dataset folder's splits and how it was cleaned."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radimpress.dataset.clean import CleanOptions
from radimpress.dataset.exams import region_counts
from radimpress.records import InputError, Report, read_reports


def load_split(data_dir: str | Path, split: str) -> list[Report]:
    """Read one split written by `radimpress dataset build`."""
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.exists():
        raise InputError(f"{path}: split not found (run `radimpress dataset build` first)")
    return read_reports(path)


@dataclass
class TrainingData:
    """Training and validation pairs, plus where they came from.

    ``index_extra`` are pairs for the neighbour index only (not trained on):
    `train --resume-from` adapts on reviewed drafts while the prompts keep
    the original training context.
    """

    train: list[Report]
    validation: list[Report] = field(default_factory=list)
    index_extra: list[Report] = field(default_factory=list)
    source: Path | None = None
    cleaning: CleanOptions = field(default_factory=CleanOptions)

    @classmethod
    def from_folder(cls, data_dir: str | Path) -> TrainingData:
        data_dir = Path(data_dir)
        validation = (
            load_split(data_dir, "validation") if (data_dir / "validation.jsonl").exists() else []
        )
        manifest = data_dir / "manifest.json"
        options = json.loads(manifest.read_text()).get("options", {}) if manifest.exists() else {}
        return cls(
            train=load_split(data_dir, "train"),
            validation=validation,
            source=data_dir,
            cleaning=CleanOptions.from_dict(options),
        )

    def provenance(self) -> dict[str, Any]:
        """What the model folder records about its data."""
        manifest = self.source / "manifest.json" if self.source else None
        return {
            "data": str(self.source) if self.source else None,
            "data_manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()
            if manifest and manifest.exists()
            else None,
            "cleaning": self.cleaning.to_dict(),
            "exam_regions": self.exam_regions(),
        }

    def exam_regions(self) -> dict[str, int]:
        """How many training exams name each body region: drafting flags an exam of a region
        the model barely saw (radimpress.dataset.exams)."""
        return region_counts(r.exam for r in self.train)
