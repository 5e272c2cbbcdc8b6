"""Seeded, grouped train/validation/test assignment that is stable as data grows.

Each group (a patient, else a study, else the report itself) is placed by a
hash of ``seed`` and its key, not by shuffling a list. So a group's split never
depends on which other reports are present: adding new reports to an archive
leaves every old report where it was, and a model trained on an old train split
is never evaluated on its own training data. Grouping by patient keeps a
patient's follow-up studies (near-identical findings) out of both sides of the
split, which would otherwise inflate test scores.

The price of hashing is that fractions are approximate (binomial noise; about
+-1.5 points for a 10 % split of 3,500 reports). On very small inputs a split
could come out empty; then the lowest-hash train groups are moved into it, so a
demo on a dozen reports still has something to evaluate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from radimpress.records import InputError, Report

SPLITS = ("train", "validation", "test")
GROUP_BY_CHOICES = ("auto", "patient", "study", "none")


def group_key(report: Report, group_by: str) -> tuple[str, str]:
    """Return (kind, key) of the group a report belongs to; ungrouped reports stand alone."""
    if group_by not in GROUP_BY_CHOICES:
        raise InputError(
            f"--group-by must be one of {', '.join(GROUP_BY_CHOICES)}, got {group_by!r}"
        )
    if group_by in ("auto", "patient") and report.patient_id:
        return "patient", str(report.patient_id)
    if group_by in ("auto", "study") and report.study_id:
        return "study", str(report.study_id)
    return "report", report.id


def unit_hash(seed: int, key: str) -> float:
    """Map (seed, key) to a uniform number in [0, 1), the same on every machine and run."""
    digest = hashlib.sha256(f"radimpress-split:{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(
    reports: Sequence[Report],
    *,
    seed: int = 13,
    val_frac: float = 0.1,
    test_frac: float = 0.1,
    group_by: str = "auto",
) -> tuple[dict[str, list[Report]], dict[str, object]]:
    """Split reports by group; return ({split: reports in input order}, info for the manifest)."""
    for name, frac in (("val-frac", val_frac), ("test-frac", test_frac)):
        if not 0.0 <= frac < 1.0:
            raise InputError(f"--{name} must be in [0, 1), got {frac}")
    if val_frac + test_frac >= 1.0:
        raise InputError(f"--val-frac + --test-frac must be below 1, got {val_frac + test_frac}")

    keys = [group_key(r, group_by) for r in reports]
    groups = sorted(set(keys))
    u = {g: unit_hash(seed, f"{g[0]}:{g[1]}") for g in groups}
    where: dict[tuple[str, str], str] = {}
    for g in groups:
        if u[g] < test_frac:
            where[g] = "test"
        elif u[g] < test_frac + val_frac:
            where[g] = "validation"
        else:
            where[g] = "train"

    moved: list[str] = []
    for split, frac in (("test", test_frac), ("validation", val_frac)):
        if frac > 0 and split not in where.values():
            train_groups = sorted((g for g in groups if where[g] == "train"), key=lambda g: u[g])
            if len(train_groups) >= 2:  # never empty train to fill another split
                where[train_groups[0]] = split
                moved.append(f"{train_groups[0][0]}:{train_groups[0][1]} -> {split}")

    out: dict[str, list[Report]] = {s: [] for s in SPLITS}
    for report, key in zip(reports, keys, strict=True):
        out[where[key]].append(report)
    kinds: dict[str, int] = {}
    for g in groups:
        kinds[g[0]] = kinds.get(g[0], 0) + 1
    info = {
        "method": "sha256(seed, group key) thresholds",
        "group_by": group_by,
        "groups": len(groups),
        "group_kinds": dict(sorted(kinds.items())),
        "groups_per_split": {s: sum(1 for g in groups if where[g] == s) for s in SPLITS},
        "moved_to_fill_empty_split": moved,
    }
    return out, info
