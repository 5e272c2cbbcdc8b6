"""Sizes as reports write them, read once for every rule that needs one.

The clinical extractor (is this opacity a centimetre lesion?), the follow-up
rules (which Fleischner size band?) and the measurement check (does the draft
state a size its findings do not give?) all read sizes. They used to read them
with three patterns, and the extractor's did not know "1.5 × 1.2 cm",
"8 millimeters" or "2 by 3 cm", so a lesion described that way was not sized.
One parser means a phrasing taught here is understood by every rule.

Plain regular expressions: "8 mm", "8mm", "8-mm", "0.8 cm", "8 millimeters",
"2.1 x 1.5 cm", "2.1 cm × 1.5 cm", "2 by 3 cm", "2.1 x 1.5 x 1.0 cm", ranges
("2-3 cm", "5 to 6 centimeters") and upper bounds ("< 6 mm", "less than 6 mm").
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

_NUM = r"(\d+(?:\.\d+)?)"
# "8mm", "8 mm" and "8-mm" (a hyphenated size before its noun: "an 8-mm nodule")
_UNIT = r"-?\s*(mm|cm|millimet(?:er|re)s?|centimet(?:er|re)s?)\b"
_BY = r"(?:x|×|by)"
_RANGE_SEP = ("-", "–", "to")

_LESS = re.compile(
    rf"(?:<|less than|smaller than|under|below|up to|no more than)\s*{_NUM}\s*{_UNIT}", re.I
)
# A size as written: up to three dimensions ("2.1 x 1.5 cm", "2.1 cm × 1.5 cm") or a range
# ("2-3 cm", "5 to 6 centimeters"), each number with or without its own unit. Groups: the
# numbers 1, 4, 6 with their own units 2, 5, the separator 3, the last unit 7.
_SIZE = re.compile(
    rf"{_NUM}\s*(?:{_UNIT}\s*)?(?:({_BY}|-|–|to)\s*{_NUM}\s*(?:{_UNIT}\s*)?)?"
    rf"(?:{_BY}\s*{_NUM}\s*)?{_UNIT}",
    re.I,
)


class Stated(NamedTuple):
    """One number a text gives in mm or cm, in mm, and the words it stands in."""

    mm: float
    start: int
    end: int
    text: str


class Band(NamedTuple):
    """A size as a guideline reads it: whole mm from ``low`` to ``high``."""

    low: int
    high: int
    start: int
    text: str


def to_mm(value: str, unit: str) -> float:
    return float(value) * (10.0 if unit.lower().startswith("c") else 1.0)


def rounded(x: float) -> int:
    """Round half up, as the guideline does ('rounded to the nearest millimeter')."""
    return int(math.floor(x + 0.5))


def _numbers_mm(m: re.Match) -> list[float]:
    """Each number of a size match in mm, in text order."""
    unit = m.group(7)
    pairs = ((m.group(1), m.group(2)), (m.group(4), m.group(5)), (m.group(6), None))
    return [to_mm(value, own or unit) for value, own in pairs if value is not None]


def stated_sizes_mm(text: str | None) -> list[Stated]:
    """Every number the text gives in mm or cm, each dimension on its own, in text order."""
    return [
        Stated(round(mm, 1), m.start(), m.end(), m.group(0))
        for m in _SIZE.finditer(text or "")
        for mm in _numbers_mm(m)
    ]


def first_size_mm(text: str | None) -> float | None:
    """The first stated dimension (a lesion's long axis as reports give it first), or None."""
    sizes = stated_sizes_mm(text)
    return sizes[0].mm if sizes else None


def size_bands(window: str) -> list[Band]:
    """Each size stated in the window as a guideline table reads it, in text order.

    "< 6 mm" is 1-5 mm; "6-8 mm" is 6-8; "12 x 8 mm" is the mean of the long and short
    axes, 10 mm (the Fleischner convention; a third number is cranio-caudal).
    """
    out: list[Band] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    for m in _LESS.finditer(window):
        hi = to_mm(m.group(1), m.group(2))
        out.append(Band(1, max(1, math.ceil(hi) - 1), m.start(), m.group(0)))
        taken.append(m.span())
    for m in _SIZE.finditer(window):
        if not free(m):
            continue
        numbers = _numbers_mm(m)
        if (m.group(3) or "").lower() in _RANGE_SEP and len(numbers) == 2:
            low, high = rounded(numbers[0]), rounded(numbers[1])
        else:
            low = high = rounded(sum(numbers[:2]) / len(numbers[:2]))
        out.append(Band(low, high, m.start(), m.group(0)))
        taken.append(m.span())
    return sorted(out, key=lambda s: s.start)
