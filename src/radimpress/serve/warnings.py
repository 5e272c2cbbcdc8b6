"""Safety warnings for drafts, from ``radimpress.safety`` when it is installed.

The server stores and shows warnings in one plain shape, whatever the
checker returns, so the review page can highlight evidence in both the
findings and the draft:

    {"type", "severity", "message", "candidate": i,
     "evidence": [{"field": "findings" | "impression", "start", "end", "text"}]}
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("radimpress.serve.warnings")


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return dict(obj)
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict())
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return dict(vars(obj))


def _span(raw: Any, default_field: str, texts: dict[str, str]) -> dict[str, Any] | None:
    d = _as_dict(raw) if not isinstance(raw, (list, tuple)) else {"start": raw[0], "end": raw[1]}
    where = str(
        d.get("field") or d.get("source") or d.get("text_name") or d.get("section") or default_field
    )
    where = "findings" if where.startswith("find") else "impression"
    try:
        start, end = int(d["start"]), int(d["end"])
    except (KeyError, TypeError, ValueError):
        return None
    text = texts.get(where, "")
    if not (0 <= start < end <= len(text)):
        return None
    return {"field": where, "start": start, "end": end, "text": text[start:end]}


def normalise(raw: Any, findings: str, impression: str, candidate: int) -> dict[str, Any]:
    """One checker warning in the server's shape (tolerates field-name variants)."""
    d = _as_dict(raw)
    texts = {"findings": findings, "impression": impression}
    spans: list[dict[str, Any]] = []
    for key, default in (
        ("evidence", "impression"),
        ("spans", "impression"),
        ("findings_spans", "findings"),
        ("impression_spans", "impression"),
        ("findings_evidence", "findings"),
        ("impression_evidence", "impression"),
    ):
        value = d.get(key)
        if not value:
            continue
        if (
            isinstance(value, dict)
            or not isinstance(value, (list, tuple))
            or (len(value) == 2 and all(isinstance(v, int) for v in value))
        ):
            value = [value]
        for item in value:
            span = _span(item, default, texts)
            if span:
                spans.append(span)
    severity = d.get("severity", "warning")
    severity = getattr(severity, "value", severity)
    kind = d.get("type") or d.get("kind") or d.get("code") or "warning"
    kind = getattr(kind, "value", kind)
    return {
        "type": str(kind),
        "severity": str(severity),
        "message": str(d.get("message") or d.get("reason") or d.get("detail") or kind),
        "candidate": candidate,
        "evidence": spans,
    }


# Shown instead of silence when the checker raised, so "no warnings" never means "not checked".
CHECK_FAILED: dict[str, Any] = {
    "type": "safety_check_failed",
    "severity": "medium",
    "message": "the safety checks failed on this draft; review it without their help",
    "candidate": 0,
    "evidence": [],
}


def check_candidates(findings: str, candidates: Sequence[str]) -> list[dict[str, Any]]:
    """Warnings for every candidate of one report (see check_batch)."""
    return check_batch([(findings, list(candidates))], reorder=False)[0][1]


def check_batch(
    items: Sequence[tuple[str, list[str]]], reorder: bool = True
) -> list[tuple[list[str], list[dict[str, Any]]]]:
    """Check every candidate of every report in one pass; [] warnings without radimpress.safety.

    With ``reorder``, the best-ranked candidate without a high-severity warning
    is moved first (radimpress.safety's select_safe rule), so the draft a
    reviewer sees first is the safest of the model's top candidates. A checker
    failure is logged (without text) and yields one ``safety_check_failed``
    warning rather than failing the draft.
    """
    try:
        from radimpress.safety import SafetyChecker, select_safe  # loads medspaCy on first use
    except ImportError:
        return [(list(c), []) for _, c in items]
    checker = SafetyChecker()
    out = []
    for findings, cands in items:
        try:
            best, found = select_safe(findings, cands, checker=checker)
        except Exception as exc:  # noqa: BLE001
            log.warning("safety check failed: %s", type(exc).__name__)
            out.append((list(cands), [dict(CHECK_FAILED)]))
            continue
        order = list(range(len(cands)))
        if reorder and best > 0:
            order = [best] + [i for i in order if i != best]
        ranked = [cands[i] for i in order]
        warnings = [
            normalise(w, findings, cands[i], new_rank)
            for new_rank, i in enumerate(order)
            for w in found[i]
        ]
        out.append((ranked, warnings))
    return out


def warm_up() -> None:
    """Load the checker's language pipeline now, not on the first request (seconds)."""
    check_batch([("Heart size is normal.", ["No acute disease."])], reorder=False)


def safety_available() -> bool:
    try:
        from radimpress.safety import check  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True
