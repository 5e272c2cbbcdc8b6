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

from radimpress.drafting.result import DraftWarning
from radimpress.safety import SafetyChecker

log = logging.getLogger(__name__)

# Per report, per candidate: the warnings found; None when the checker failed.
Checked = list[list[list[DraftWarning]]] | None


@cache
def _checker() -> SafetyChecker:
    return SafetyChecker()


def check_items(items: Sequence[tuple[str, Sequence[str]]]) -> Checked:
    """Warnings for every candidate of every (findings, candidates) item, in one parser pass.

    A checker failure is logged without text and returns None, which the
    drafter turns into a `safety_check_failed` warning rather than a failed draft.
    """
    pairs = [(findings, c) for findings, cands in items for c in cands]
    try:
        found = _checker().check_many(pairs)
    except Exception as exc:  # noqa: BLE001 - never fail a draft because a check broke
        log.warning("safety check failed: %s", type(exc).__name__)
        return None
    out, start = [], 0
    for _, cands in items:
        per = found[start : start + len(cands)]
        start += len(cands)
        out.append([[DraftWarning.from_safety(w, i) for w in ws] for i, ws in enumerate(per)])
    return out


def warm_up() -> None:
    """Load the checker's language pipeline now, not on the first request."""
    check_items([("Heart size is normal.", ["No acute disease."])])


def safety_available() -> bool:
    """Whether the checks can run here (medspaCy comes with the `safety` extra)."""
    return importlib.util.find_spec("medspacy") is not None
