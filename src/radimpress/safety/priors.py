"""Whether a report had an earlier study to compare with, and the words that claim it had.

A change is seen against an earlier study, so "stable", "improved" or "interval increase" in a
draft whose report says there was none came from another report. The default drafted "...
Persistent patchy left lung airspace disease ... Stable left-sided chest tubes." and the hybrid
"Stable cardiomegaly with mild pulmonary interstitial edema." over reports whose comparison
reads "None", and no check flagged either: both findings and draft were about the same things.
Radiologists almost never do this (1 of the Open-i tune half's 704 impressions with no
comparison: "Stable cardiomegaly ..."), which is what makes it a copy's fingerprint.

"No earlier study" is read where the report says so: its comparison field ("None.", "None
available", "No prior studies") or a findings sentence ("No prior studies for comparison.").
An empty field says nothing (the study may have had one), and findings that speak of an earlier
study ("compared with the outside CT", "since the prior") have one whatever the field says.
"""

from __future__ import annotations

import re

# the whole comparison field says there was none
_NONE_FIELD = re.compile(
    r"^\W*(?:none|none available|not available|n/?a|no (?:prior|previous|comparison|old)"
    r"(?: (?:stud(?:y|ies)|exams?|examinations?|films?|images?|imaging|radiographs?))?"
    r"(?: (?:available|for comparison))*)\W*$",
    re.I,
)
# a findings sentence that says there was none
_NONE_SAID = re.compile(
    r"\bno (?:prior|previous|old|comparison)(?: (?:stud(?:y|ies)|exams?|examinations?|films?|"
    r"images?|imaging|radiographs?))?(?: (?:are|is))? (?:available|for comparison)\b"
    r"(?: for comparison)?|\bno comparison\b|\bwithout (?:a )?(?:prior|previous|comparison)\b",
    re.I,
)
_EARLIER_STUDY = re.compile(
    r"\b(?:prior|previous|previously|compared?|comparison|since|earlier|outside|yesterday|"
    r"interval|again|redemonstrat\w*|stable|unchanged)\b",
    re.I,
)
# words that claim a change, hence an earlier study; "increased"/"decreased" alone describe an
# amount ("increased interstitial markings", "decreased lung volumes") and stay out
CHANGE_CLAIM = re.compile(
    r"\b(?:stable|stability|unchanged|no (?:significant |interval |appreciable |definite )?change"
    r"|improv(?:ed|ing|ement)|worsen(?:ed|ing)|(?:increas|decreas)(?:ed|ing|e) in (?:size|extent)"
    r"|enlarging|interval(?:ly)? (?:\w+)|redemonstrat\w+|again (?:seen|noted|demonstrated|"
    r"identified|visualized)|persist(?:s|ent|ing|ently)|resolving|partially resolved"
    r"|(?:since|from|than|compared (?:to|with)|relative to) (?:the )?(?:prior|previous|last))\b",
    re.I,
)
# a claim inside advice is about the next study ("follow-up to document stability")
_ADVICE = re.compile(
    r"\b(?:recommend\w*|suggest\w*|follow[- ]?up|followup|correlat\w*|advised?|consider|"
    r"to (?:assess|document|evaluate|ensure|confirm|establish)|if |would)\b",
    re.I,
)


def no_earlier_study(comparison: str | None, findings: str) -> str | None:
    """The words that say the report had no earlier study (its comparison field, or the
    findings' sentence), unless its findings compare with one anyway; None otherwise."""
    said = _NONE_SAID.search(findings)
    if comparison and _NONE_FIELD.match(comparison):
        words = comparison.strip()
    elif said:
        words = said.group(0)
    else:
        return None
    return None if _EARLIER_STUDY.search(_NONE_SAID.sub(" ", findings)) else words


def change_claims(impression: str) -> list[re.Match[str]]:
    """The change words of an impression, outside its advice."""
    out = []
    for m in CHANGE_CLAIM.finditer(impression):
        start = max(impression.rfind(".", 0, m.start()), impression.rfind(";", 0, m.start())) + 1
        if not _ADVICE.search(impression, start, m.start()):
            out.append(m)
    return out
