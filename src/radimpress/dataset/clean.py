"""Text cleaning for findings/impression pairs that never changes what a report says.

Models learn from (and ROUGE counts) surface tokens, so formatting noise from
dictation systems and de-identification tools turns into spurious "vocabulary":
``XXXX``, ``___`` and ``[**Name**]`` are the same thing (a removed identifier),
``effusion ..`` and ``effusion.`` are the same sentence, and a hard line wrap in
the middle of a sentence is not a sentence break. Every rule here only rewrites
such noise; words, negations, numbers and measurements are left alone.

Decisions (documented so the numbers stay explainable):

* Markup: HTML line breaks and block ends become line breaks, formatting tags
  go, entities are decoded (``radimpress.formats.markup``): exports carry them,
  and a model that learns ``<br>`` as a word writes it into drafts.

* Whitespace: runs of spaces/tabs collapse to one space; a space before
  ``, . ; : ? !`` is removed. Newlines are kept only where a numbered item
  (``1.``, ``2)``) starts a line, so an impression's list layout survives while
  hard wraps inside a sentence become spaces.
* Punctuation: runs of two or more dots collapse to one, *including* ``...``:
  in radiology reports an ellipsis is a dictation artefact, not meaning, and a
  sentence-final ``...`` should count as the same full stop as ``.``. Runs of
  ``,`` ``;`` ``:`` ``!`` ``?`` collapse likewise; ``. .`` becomes ``.``.
  Decimals (``1.5 cm``) are untouched because they contain a single dot.
* Placeholders: ``XXXX``-style runs (3+ ``X``, any case, as a whole word),
  underscore runs (``___``, 2+), and MIMIC-II ``[** ... **]`` tags all become
  one configurable token; consecutive placeholders separated only by spaces,
  hyphens or slashes collapse to one (``XXXX XXXX`` was one removed name).
* Numbering: kept by default (published impressions keep it). With
  ``strip_numbering`` the item markers are removed and each item stays on its
  own line, so sentence boundaries survive.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from radimpress.formats.markup import markup_to_text
from radimpress.privacy.scrub import PHI_TYPES
from radimpress.records import Report

DEFAULT_PLACEHOLDER = "XXXX"

# De-identification markers produced by the common tools and public corpora.
_PLACEHOLDER_PATTERNS = [
    re.compile(r"\[\*\*.*?\*\*\]", re.DOTALL),  # MIMIC-II / MIMIC-III style
    re.compile(r"(?<![A-Za-z0-9])[Xx]{3,}(?![A-Za-z0-9])"),  # Open-i style XXXX
    re.compile(r"_{2,}"),  # MIMIC-CXR style ___
    re.compile(r"\[(?:" + "|".join(PHI_TYPES) + r")\]"),  # radimpress scrub's own [NAME], [DATE]...
]
TEXT_FIELDS = ("findings", "impression", "indication", "comparison")

# A numbered item marker at the start of a line: "1.", "2)", "10." (not "1.5").
_LINE_ITEM = re.compile(r"^\s*\d{1,2}[.)](?=\s|$)")
# An item marker inside running text, preceded by start/line start or a sentence end.
_INLINE_ITEM = re.compile(r"(?:(?<=^)|(?<=[.;:!?]\s)|(?<=\n))\s*\d{1,2}[.)]\s+(?=\S)", re.MULTILINE)

_SPACES = re.compile(r"[^\S\n]+")  # whitespace except newline
_SPACE_BEFORE_PUNCT = re.compile(r"[^\S\n]+([,.;:?!])(?!\d)")
_DOT_RUN = re.compile(r"\.(?:[^\S\n]*\.)+")  # "..", "...", ". ." -> "."
_OTHER_RUNS = re.compile(r"([,;:!?])\1+")


@dataclass
class CleanOptions:
    """What `clean_text` may change; defaults keep numbering and use ``XXXX``.

    A model folder records the options its dataset was built with, so the
    drafting path cleans new findings exactly as the training findings were.
    """

    placeholder: str = DEFAULT_PLACEHOLDER
    strip_numbering: bool = False

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, object] | None) -> CleanOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in known})  # type: ignore[arg-type]


@dataclass
class CleanStats:
    """How many fields each rule touched, so a manifest can say what cleaning did."""

    fields_changed: int = 0
    deid_markers_found: int = 0
    punctuation_runs: int = 0
    numbering_stripped: int = 0
    by_field: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "fields_changed": self.fields_changed,
            "deid_markers_found": self.deid_markers_found,
            "punctuation_runs_collapsed": self.punctuation_runs,
            "numbering_stripped": self.numbering_stripped,
            "fields_changed_by_name": dict(sorted(self.by_field.items())),
        }


def normalise_placeholders(text: str, token: str = DEFAULT_PLACEHOLDER) -> tuple[str, int]:
    """Replace every de-identification marker by ``token``; return (text, markers found)."""
    count = 0
    marker = "\x00"  # not in any report: lets the token itself contain X or _
    for pattern in _PLACEHOLDER_PATTERNS:
        text, n = pattern.subn(marker, text)
        count += n
    if count:
        # "XXXX XXXX" or "XXXX-XXXX" was one removed name or date, not two.
        text = re.sub(r"\x00(?:[^\S\n]*[-/]?[^\S\n]*\x00)+", marker, text)
        text = text.replace(marker, token)
    return text, count


def normalise_whitespace(text: str) -> str:
    """Collapse spaces, keep a newline only where a numbered item starts a line."""
    lines = [
        _SPACES.sub(" ", line).strip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out and not _LINE_ITEM.match(line):
            out[-1] = out[-1] + " " + line  # a hard wrap inside a sentence
        else:
            out.append(line)
    return "\n".join(out)


def collapse_punctuation(text: str) -> tuple[str, int]:
    """Collapse repeated punctuation and spaces before punctuation; return (text, runs)."""
    text, n_dots = _DOT_RUN.subn(".", text)
    text, n_other = _OTHER_RUNS.subn(r"\1", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text, n_dots + n_other


def strip_numbering(text: str) -> tuple[str, int]:
    """Remove item markers ("1.", "2)") but keep each item on its own line."""
    # Only a sequence 1, 2, 3... is a list: "level 5. Stable" is a sentence, not item 5.
    keep: list[re.Match[str]] = []
    for m in _INLINE_ITEM.finditer(text):
        if int(re.search(r"\d+", m.group()).group()) == len(keep) + 1:
            keep.append(m)
    if not keep:
        return text, 0
    pieces, last = [], 0
    for m in keep:
        pieces.append(text[last : m.start()])
        last = m.end()
    pieces.append(text[last:])
    out = "\n".join(p.strip() for p in pieces if p.strip())
    return out, len(keep)


def clean_text(
    text: str | None,
    options: CleanOptions | None = None,
    *,
    is_impression: bool = False,
    stats: CleanStats | None = None,
    field_name: str = "",
) -> str | None:
    """Apply every meaning-preserving rule to one field; ``None`` stays ``None``."""
    if text is None:
        return None
    options = options or CleanOptions()
    out, n_ph = normalise_placeholders(markup_to_text(text), options.placeholder)
    out = normalise_whitespace(out)
    out, n_punct = collapse_punctuation(out)
    n_num = 0
    if is_impression and options.strip_numbering:
        out, n_num = strip_numbering(out)
    out = out.strip()
    if stats is not None:
        stats.deid_markers_found += n_ph
        stats.punctuation_runs += n_punct
        stats.numbering_stripped += n_num
        if out != text:
            stats.fields_changed += 1
            if field_name:
                stats.by_field[field_name] = stats.by_field.get(field_name, 0) + 1
    return out


def clean_report(report: Report, options: CleanOptions, stats: CleanStats | None = None) -> Report:
    """A cleaned copy of every text field; the original record is not modified.

    The one cleaning function: `dataset build` applies it to training pairs and
    the drafting path to every report a model is asked to draft, so a model
    reads the same text at training and at inference.
    """
    changes = {
        name: clean_text(
            getattr(report, name),
            options,
            is_impression=name == "impression",
            stats=stats,
            field_name=name,
        )
        for name in TEXT_FIELDS
    }
    return dataclasses.replace(report, sections=dict(report.sections), **changes)
