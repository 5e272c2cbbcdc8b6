"""The safety step of a draft, as plain functions a worker process can run.

The server runs them in a separate process (the parser holds the GIL, so in
a thread it takes turns with the model); the command line runs them in
process. Either way it is these functions, so both paths flag the same things.
medspaCy loads on the first call (seconds): `warm_up` pays that at start-up.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from radimpress.drafting.result import DraftWarning
from radimpress.safety import SafetyChecker

log = logging.getLogger(__name__)

# Per report, per candidate: the warnings found; None when the checker failed.
Checked = list[list[list[DraftWarning]]] | None


class CheckItem(NamedTuple):
    """One report's candidates to check, with its study.

    The follow-up rules read the exam (CT or radiograph) and the indication (risk,
    known cancer, age): without them a CT nodule in a patient with lung cancer was
    checked as a radiograph's and warned for a missing CT work-up.
    """

    findings: str
    candidates: Sequence[str]
    study: dict[str, Any] | None = None  # exam, indication, age, comparison (any may be missing)


@cache
def _checker() -> SafetyChecker:
    return SafetyChecker()


# A plain (findings, candidates) pair is an item without its study.
Item = CheckItem | tuple[str, Sequence[str]]


def check_items(items: Sequence[Item]) -> Checked:
    """Warnings for every candidate of every item, in one parser pass.

    A checker failure is logged without text and returns None, which the
    drafter turns into a `safety_check_failed` warning rather than a failed draft.
    """
    whole = [CheckItem(*item) for item in items]
    pairs = [(it.findings, c) for it in whole for c in it.candidates]
    studies = [it.study or {} for it in whole for _ in it.candidates]
    try:
        found = _checker().check_many(pairs, studies)
    except Exception as exc:  # noqa: BLE001 - never fail a draft because a check broke
        log.warning("safety check failed: %s", type(exc).__name__)
        return None
    out, start = [], 0
    for it in whole:
        per = found[start : start + len(it.candidates)]
        start += len(it.candidates)
        out.append([[DraftWarning.from_safety(w, i) for w in ws] for i, ws in enumerate(per)])
    return out


def warm_up() -> None:
    """Load the checker's language pipeline now, not on the first request."""
    check_items([("Heart size is normal.", ["No acute disease."])])


def safety_available() -> bool:
    """Whether the checks can run here (medspaCy comes with the `safety` extra)."""
    return importlib.util.find_spec("medspacy") is not None
