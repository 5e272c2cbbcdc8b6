"""Small synthetic report pairs shared by the model tests (no real data in unit tests).

The impression is a deterministic function of the findings, so a model that
learns anything should beat chance on them; fast enough for CPU tests.
"""

from __future__ import annotations

import random

from radimpress.records import Report, write_jsonl

_FINDINGS = [
    ("The heart size is normal. The lungs are clear. No pleural effusion or pneumothorax.", "No acute cardiopulmonary disease."),
    ("Heart is enlarged. Lungs are clear. No effusion.", "Cardiomegaly without acute disease."),
    ("Large left pleural effusion with adjacent atelectasis. Heart size normal.", "Large left pleural effusion."),
    ("Small right pleural effusion. Lungs otherwise clear.", "Small right pleural effusion."),
    ("Right upper lobe consolidation. Heart normal. No effusion.", "Right upper lobe pneumonia."),
    ("Left lower lobe opacity suggesting pneumonia. Heart normal.", "Left lower lobe pneumonia."),
    ("Small left apical pneumothorax. Lungs otherwise clear.", "Small left pneumothorax."),
    ("Hyperinflated lungs with flattened diaphragms. No focal consolidation.", "Emphysema. No acute disease."),
]
_EXTRAS = ["", " Degenerative changes of the spine.", " Stable surgical clips.", " Calcified granuloma."]


def synthetic_reports(n: int, seed: int = 0, prefix: str = "r") -> list[Report]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        findings, impression = _FINDINGS[rng.randrange(len(_FINDINGS))]
        extra = _EXTRAS[rng.randrange(len(_EXTRAS))]
        exam = "XR CHEST 2 VIEWS" if i % 3 == 0 else None
        out.append(Report(f"{prefix}{i}", findings + extra, impression, exam=exam))
    return out


def write_dataset(folder, n_train: int = 48, n_val: int = 8, n_test: int = 8):
    """A dataset folder in the layout `radimpress dataset build` writes."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", synthetic_reports(n_train, 1, "tr"))
    write_jsonl(folder / "validation.jsonl", synthetic_reports(n_val, 2, "va"))
    write_jsonl(folder / "test.jsonl", synthetic_reports(n_test, 3, "te"))
    (folder / "manifest.json").write_text('{"name": "synthetic"}')
    return folder
