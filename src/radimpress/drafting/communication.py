"""Sentences that report a communication of results, taken out of every candidate.

Why: a retrieved impression, and a model that learnt from such impressions, carries
the other report's "Dr. XXXX was notified of the critical result at XXXX by
telephone." or "Critical result notification documented through Primordial." (21
sentences of Open-i's impressions; the default drafted one over another patient's
interstitial opacities). A draft that says so records a call nobody made, and a
reviewer who accepts it files a false record that a critical result was
communicated. The radiologist who makes the call dictates it.

Only sentences that say a result was passed on are removed (notified, called,
discussed with, telephone, Veriphy, Primordial...); "Recommend CT", "correlate
clinically" and other advice stay.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_COMMUNICATION = re.compile(
    r"\b(?:notif(?:y|ied|ication)|veriphy|primordial|tele?phone|phoned|paged|"
    r"acknowledged receipt|"
    r"(?:was|were|been|is|are)\s+(?:called|informed|contacted|telephoned)|"
    r"(?:discussed|communicated|reviewed|conveyed)\s+(?:directly\s+)?(?:with|to)\s+(?:dr|the|xxxx|[a-z]+ (?:physician|team|provider|clinician|nurse))|"
    r"(?:spoke|talked)\s+(?:with|to))\b",
    re.I,
)
# sentence ends, keeping "1.5 cm", list numbers ("1. ") and "Dr. XXXX" inside their sentence
_SENTENCE = re.compile(
    r".*?(?:(?<!\d)(?<!\bdr)(?<!\bdrs)(?<!\bmr)(?<!\bmrs)(?<!\bms)[.!?](?=\s|$)|\n|$)\s*",
    re.S | re.I,
)


def without_communication(text: str) -> str:
    """The text without its sentences that report a communication of results."""
    if not _COMMUNICATION.search(text):
        return text
    kept = [s for s in _SENTENCE.findall(text) if s and not _COMMUNICATION.search(s)]
    return "".join(kept).strip()


def clean_candidates(candidates: Sequence[str]) -> list[str]:
    """Each candidate without communication sentences; one left empty, or now the same as
    one before it, is dropped (an empty draft is left when all go)."""
    return list(dict.fromkeys(t for t in map(without_communication, candidates) if t)) or [""]
