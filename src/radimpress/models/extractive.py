"""Impressions written from the report's own findings: its abnormal sentences, tidied.

On the reports whose impression is not a stock normal sentence, the
radiologist mostly restates the abnormal findings ("Mild blunting left
costophrenic recess, possibly mild atelectasis or scarring."), which no
retrieved impression of another patient can say, and which a small generator
trained on a few thousand reports rarely writes well. Sentences taken from
the findings also cannot carry another patient's side or device. So the
hybrid recipe offers them as candidates, alone, together, before the best
normal phrase, and numbered, and lets its scorer and the language model's
likelihood decide when they are the impression.
"""

from __future__ import annotations

import re

from radimpress.formats.sections import is_anatomy_heading
from radimpress.models.features import abnormal_sentences, is_normal_phrase

# Filler that findings carry and impressions drop.
_LEADS = re.compile(
    r"^(?:there (?:is|are|has been|have been) (?:an? |again |now |some )?|again (?:seen|noted) (?:is|are) )",
    re.I,
)
_TRAILS = re.compile(
    r"\s+(?:is|are) (?:again )?(?:seen|noted|present|identified|demonstrated|visualized)(?=[.;]?$)",
    re.I,
)

# A structured report's organ sub-heading ("LUNGS AND AIRWAYS: There is a 1.4 cm nodule ...")
# lays the findings out; an impression does not start with it. Only organ names are taken
# off: "RIGHT LOWER LOBE PNEUMONIA:" or "Right:" carry the finding or its side.
_LABEL = re.compile(r"^([A-Za-z][A-Za-z/&,\- ]{1,40}):\s+")
_NUMBER = re.compile(r"^\s*\d{1,2}[.)]\s*")
_LATER_ITEM = re.compile(r"\s\d{1,2}[.)]\s")
_ABNORMAL = re.compile(r"\babnormal", re.I)
_DENIED = re.compile(r"\b(?:no|without|negative)\b", re.I)


def stitchable(phrase: str) -> bool:
    """Whether a retrieved normal impression can follow the findings' sentences: one item,
    and no abnormality it asserts. "1. No acute pulmonary abnormality. 2. Abnormal appearance
    of the mediastinum as discussed below." reads as normal to `is_normal_phrase` (the
    "normal" in "abnormal"), and was drafted after "Right hilar enlargement."."""
    if _LATER_ITEM.search(phrase):
        return False
    return all(
        _DENIED.search(sentence[: m.start()])
        for sentence in re.split(r"(?<=[.;])\s+", phrase)
        for m in _ABNORMAL.finditer(sentence)
    )


# How a candidate was built (a scorer feature).
SINGLE, ALL, WITH_NORMAL, NUMBERED, NORMAL_FIRST, FIRST_TWO = 1, 2, 3, 4, 5, 6
VERBATIM = frozenset({SINGLE, ALL, NUMBERED, FIRST_TWO})  # the findings' own sentences only


def tidy(sentence: str) -> str:
    """'There is mild bibasilar atelectasis.' -> 'Mild bibasilar atelectasis.'
    ('LUNGS: There is ...' too)."""
    s = sentence.strip()
    label = _LABEL.match(s)
    if label and is_anatomy_heading(label.group(1)):
        s = s[label.end() :]
    s = _TRAILS.sub("", _LEADS.sub("", s))
    s = s.rstrip(" ;.") + "."
    return s[:1].upper() + s[1:]


def findings_sentences(findings: str) -> list[str]:
    """The findings' abnormal sentences, tidied as impressions."""
    return [tidy(s) for s in abnormal_sentences(findings, rare=True)]


def extractive_candidates(
    findings: str, normal_phrases: list[str]
) -> list[tuple[str, int, int, int]]:
    """(text, how it was built, sentences used, index of its first sentence) for a report's
    findings; none when nothing is abnormal.

    ``normal_phrases`` are retrieved candidates; the first that declares the
    study normal ("No acute cardiopulmonary disease.") is appended after the
    abnormal sentences, as radiologists often write.
    """
    sentences = findings_sentences(findings)
    if not sentences:
        return []
    n = len(sentences)
    out = [(s, SINGLE, 1, i) for i, s in enumerate(sentences)]
    if n > 1:
        out.append((" ".join(sentences), ALL, n, 0))
        out.append((" ".join(f"{i}. {s}" for i, s in enumerate(sentences, 1)), NUMBERED, n, 0))
    if n > 2:
        out.append((" ".join(sentences[:2]), FIRST_TWO, 2, 0))
    normal = next((p for p in normal_phrases if is_normal_phrase(p) and stitchable(p)), None)
    if normal:
        normal = _NUMBER.sub("", normal)
        out.append((f"{sentences[0]} {normal}", WITH_NORMAL, 1, 0))
        out.append((f"{normal} {sentences[0]}", NORMAL_FIRST, 1, 0))
        if n > 1:
            out.append((f"{' '.join(sentences)} {normal}", WITH_NORMAL, n, 0))
    return out
