"""Characters that must never reach reports.jsonl, removed and counted.

What is removed: NUL and the other C0/C1 control characters (tab, line feed and
carriage return stay; form feed and vertical tab become line breaks), whole
ANSI/ECMA-48 escape sequences (``ESC [ 31 m`` colours a terminal, it is not
text), the Unicode ``Bidi_Control`` characters (U+061C, U+200E/F,
U+202A-U+202E, U+2066-U+2069) and lone surrogates (a JSON ``"\\ud800"``).

Why clean rather than reject: these arrive from export and terminal-capture
artefacts around otherwise good reports, so rejecting would drop real findings
for an invisible byte. Why not keep them: NUL ends strings in C tools that read
the JSONL, escape sequences rewrite a reviewer's terminal, and bidirectional
overrides make a report *display* differently from the text the model reads
("Trojan Source"), which a reviewer of a clinical draft must never face; lone
surrogates cannot even be written as UTF-8. Removing them leaves the text a
person sees equal to the text every later stage uses. The counts go to
summary.json (``cleaned``), so nothing is changed silently, and a field left
empty by cleaning is then rejected by the usual empty-findings rule.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import fields

from radimpress.records import Reject, Report

_KINDS: list[tuple[str, re.Pattern[str], str]] = [
    (
        "ANSI escape",
        re.compile(
            r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
            r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
            r"|\x1b[ -/]*[0-~]"  # two-character escapes
            r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
        ),
        "",
    ),
    ("NUL", re.compile("\x00+"), ""),
    ("page break", re.compile("[\x0b\x0c]"), "\n"),
    ("control character", re.compile("[\x01-\x08\x0e-\x1f\x7f-\x9f]"), ""),
    ("bidirectional control", re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"), ""),
    ("lone surrogate", re.compile("[\ud800-\udfff]"), "\ufffd"),
]
_ANY = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def clean_text(text: str, counts: Counter[str] | None = None) -> str:
    """``text`` without the characters above; ``counts`` gains one per item removed, by kind."""
    if not _ANY.search(text):  # the common case costs one scan
        return text
    for kind, pattern, replacement in _KINDS:
        text, n = pattern.subn(replacement, text)
        if n and counts is not None:
            counts[kind] += n
    return text


def clean_report(report: Report) -> Counter[str]:
    """Clean every text field of a report in place; what was removed, by kind."""
    counts: Counter[str] = Counter()
    for f in fields(report):
        value = getattr(report, f.name)
        if isinstance(value, str):
            setattr(report, f.name, clean_text(value, counts))
    if report.sections:
        report.sections = {
            clean_text(k, counts): clean_text(v, counts) for k, v in report.sections.items()
        }
    return counts


def clean_reject(reject: Reject) -> Reject:
    """Rejects quote raw input; they are cleaned too (uncounted), so a terminal shows them safely."""
    for f in fields(reject):
        value = getattr(reject, f.name)
        if isinstance(value, str):
            setattr(reject, f.name, clean_text(value))
    return reject
