"""Safety warnings for drafts, in the shape the server stores and the review page highlights:

{"type", "severity", "message", "candidate": i,
 "evidence": [{"field": "findings" | "impression", "start", "end", "text"}]}
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("radimpress.serve.warnings")

# Shown instead of silence when the checker raised, so "no warnings" never means "not checked".
CHECK_FAILED: dict[str, Any] = {
    "type": "safety_check_failed",
    "severity": "medium",
    "message": "the safety checks failed on this draft; review it without their help",
    "candidate": 0,
    "evidence": [],
}


def normalise(warning: Any, candidate: int) -> dict[str, Any]:
    """A `radimpress.safety.SafetyWarning` (or its ``to_dict()``) in the server's shape."""
    d = warning.to_dict() if hasattr(warning, "to_dict") else dict(warning)
    evidence = [{"field": "findings", **s} for s in d.get("findings_spans") or []]
    evidence += [{"field": "impression", **s} for s in d.get("impression_spans") or []]
    return {
        "type": d["type"],
        "severity": d["severity"],
        "message": d.get("message") or d["type"],
        "candidate": candidate,
        "evidence": evidence,
    }


def check_candidates(findings: str, candidates: Sequence[str]) -> list[dict[str, Any]]:
    """Warnings for every candidate of one report (see check_batch)."""
    return check_batch([(findings, list(candidates))], reorder=False)[0][1]


def check_batch(
    items: Sequence[tuple[str, list[str]]], reorder: bool = True
) -> list[tuple[list[str], list[dict[str, Any]]]]:
    """Check every candidate of every report in one parser pass.

    With ``reorder``, the best-ranked candidate without a high-severity warning
    is moved first (radimpress.safety's `safest` rule), so the draft a reviewer
    sees first is the safest of the model's top candidates. A checker failure is
    logged (without text) and yields one ``safety_check_failed`` warning per
    report rather than failing the drafts.
    """
    from radimpress.safety import SafetyChecker, safest  # loads medspaCy on first use

    pairs = [(findings, c) for findings, cands in items for c in cands]
    try:
        found = SafetyChecker().check_many(pairs)
    except Exception as exc:  # noqa: BLE001
        log.warning("safety check failed: %s", type(exc).__name__)
        return [(list(cands), [dict(CHECK_FAILED)]) for _, cands in items]
    out = []
    start = 0
    for _, cands in items:
        per = found[start : start + len(cands)]
        start += len(cands)
        order = list(range(len(cands)))
        best = safest(per)
        if reorder and best > 0:
            order = [best] + [i for i in order if i != best]
        warnings = [normalise(w, rank) for rank, i in enumerate(order) for w in per[i]]
        out.append(([cands[i] for i in order], warnings))
    return out


def warm_up() -> None:
    """Load the checker's language pipeline now, not on the first request (seconds)."""
    check_batch([("Heart size is normal.", ["No acute disease."])], reorder=False)


def safety_available() -> bool:
    try:
        import medspacy  # noqa: F401
    except ImportError:
        return False
    return True
