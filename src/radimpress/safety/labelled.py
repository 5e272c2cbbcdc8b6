"""The project's labelled safety set and how the checker is scored on it.

Each case is a findings text, an impression (correct or with an injected error)
and the warning types a careful reader expects. Scoring is per case and type:
a type fired on a case that expects it is a true positive, so one real problem
counted by two overlapping warnings is not double-counted.

``labelled_dev.jsonl`` was used while writing the rules; ``labelled_heldout.jsonl``
was written before any tuning and is only scored, so its numbers say how the
rules generalise to phrasings they were not fitted to.

The follow-up set (``followup/labelled/fleischner-2017.jsonl``, written by
``bench/make_fleischner_set.py`` from its own transcription of the guideline
table) is scored by exact rule-cell match.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from radimpress.records import InputError, read_jsonl
from radimpress.safety.checks import WARNING_TYPES, SafetyChecker
from radimpress.safety.followup import RuleTable, assess

SPLITS = ("dev", "heldout")
# The types these sets label. They were written before missing_follow_up existed and
# say nothing about follow-up, so that type is scored on the Fleischner set instead.
LABELLED_TYPES = ("contradiction", "laterality_mismatch", "omitted_critical", "unsupported_finding")


def labelled_path(split: str) -> Path:
    if split not in SPLITS:
        raise InputError(f"unknown labelled split {split!r}; choose from {SPLITS}")
    return Path(str(resources.files("radimpress") / "data" / "safety" / f"labelled_{split}.jsonl"))


def load_labelled(path_or_split: str | Path) -> list[dict[str, Any]]:
    path = (
        labelled_path(str(path_or_split)) if str(path_or_split) in SPLITS else Path(path_or_split)
    )
    cases = []
    for no, obj in read_jsonl(path):
        for key in ("id", "findings", "impression", "expected"):
            if key not in obj:
                raise InputError(f"{path}:{no}: missing field {key!r}")
        bad = [t for t in obj["expected"] if t not in WARNING_TYPES]
        if bad:
            raise InputError(f"{path}:{no}: unknown warning type(s) {bad}")
        cases.append(obj)
    return cases


def score_cases(
    cases: Sequence[dict[str, Any]],
    fired: Sequence[Sequence[str]],
    types: Sequence[str] = LABELLED_TYPES,
) -> dict[str, Any]:
    """Per-type precision/recall over cases, and the false-alarm rate on cases expecting nothing."""
    fired = [[t for t in f if t in types] for f in fired]
    per_type: dict[str, dict[str, Any]] = {}
    for t in types:
        tp = fp = fn = 0
        for case, types in zip(cases, fired, strict=True):
            exp, got = t in case["expected"], t in types
            tp += exp and got
            fp += got and not exp
            fn += exp and not got
        per_type[t] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "expected": tp + fn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
        }
    clean = [types for case, types in zip(cases, fired, strict=True) if not case["expected"]]
    tp = sum(v["tp"] for v in per_type.values())
    fp = sum(v["fp"] for v in per_type.values())
    fn = sum(v["fn"] for v in per_type.values())
    return {
        "cases": len(cases),
        "clean_cases": len(clean),
        "false_alarm_rate": sum(bool(t) for t in clean) / len(clean) if clean else None,
        "micro_precision": tp / (tp + fp) if tp + fp else None,
        "micro_recall": tp / (tp + fn) if tp + fn else None,
        "per_type": per_type,
    }


def evaluate_labelled(cases: Sequence[dict[str, Any]], checker: SafetyChecker | None = None):
    """Run the checker on labelled cases; return (score dict, warnings per case)."""
    checker = checker or SafetyChecker()
    warnings = checker.check_many([(c["findings"], c["impression"]) for c in cases])
    fired = [sorted({w.type for w in ws}) for ws in warnings]
    return score_cases(cases, fired), warnings


# --- follow-up recommendations ------------------------------------------------------------


def followup_labelled_path(name: str = "fleischner-2017") -> Path:
    return Path(
        str(resources.files("radimpress") / "data" / "followup" / "labelled" / f"{name}.jsonl")
    )


def load_followup_labelled(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Cases with findings, exam, indication, age, expected rule ids and expected exclusion."""
    path = Path(path) if path is not None else followup_labelled_path()
    cases = []
    for no, obj in read_jsonl(path):
        for key in ("id", "findings", "expected"):
            if key not in obj:
                raise InputError(f"{path}:{no}: missing field {key!r}")
        if not isinstance(obj["expected"], list):
            raise InputError(f"{path}:{no}: 'expected' must be a list of rule ids")
        cases.append(obj)
    return cases


def evaluate_followup(
    cases: Sequence[dict[str, Any]], rules: Sequence[RuleTable] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Exact-match score: a case is right when the rule ids and the exclusion both match.

    Returns (score, one row per case with what was expected and what came out).
    """
    rows = []
    for c in cases:
        result = assess(
            c["findings"], None, c.get("exam"), c.get("indication"), c.get("age"), rules
        )
        got = sorted({i for r in result.recommendations for i in r.rule_id.split(" | ")})
        excluded = result.excluded[0]["id"] if result.excluded else None
        ok = got == sorted(c["expected"]) and excluded == c.get("excluded")
        rows.append(
            {
                "id": c["id"],
                "note": c.get("note", ""),
                "expected": sorted(c["expected"]),
                "got": got,
                "expected_excluded": c.get("excluded"),
                "excluded": excluded,
                "correct": ok,
                "sentences": [r.sentence for r in result.recommendations],
            }
        )
    cells = sorted({i for c in cases for i in c["expected"]})
    correct = sum(r["correct"] for r in rows)
    return (
        {
            "cases": len(rows),
            "correct": correct,
            "accuracy": correct / len(rows) if rows else None,
            "cells_covered": len(cells),
            "cells": cells,
        },
        rows,
    )
