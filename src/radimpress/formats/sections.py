"""Split a free-text radiology report into named sections.

Modelled on the public MIMIC-CXR section parser (Johnson et al.,
``mimic-cxr/txt/section_parser.py``): a header is a short name followed by a
colon at the start of a line; its name is looked up in a synonym table that
folds hospital wording ("CONCLUSION", "Opinion", "Reason for exam") into a few
canonical sections. The table below is written for radimpress; it follows the
same idea and keeps a handful of the misspellings that real archives contain.

What counts as a header (documented in the README paragraph of ingest):

* ``NAME: text`` or ``NAME:`` on its own line, where NAME is in the synonym
  table (any case) — e.g. ``Findings:``, ``IMPRESSION:``, ``Reason for exam:``;
* a known NAME alone on its line without a colon, in upper or title case
  (``FINDINGS``, ``Impression``);
* an unknown NAME written in capitals, five words at most (``CLINICAL NOTES:``):
  it opens a section of its own, kept verbatim in ``Report.sections`` — except
  inside FINDINGS or IMPRESSION, where capitalised sub-headings (``LUNGS:``,
  ``HEART:``) belong to the text, unless they look like a signature block
  (``SIGNED``, ``DICTATED``, ``RADIOLOGIST``, ``DATE`` ...);
* an upper-case known header in the middle of a line after a sentence end
  (``... clear. IMPRESSION: Normal.``) starts a new section there;
* ``FINAL REPORT`` and identifier lines (``Accession:``, ``Report ID:``,
  ``Patient ID:``, ``Study ID:``) are metadata, not text.

Numbered lists (``1. ... 2. ...``) are never headers: numbered impressions are
kept line for line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from radimpress.formats.markup import markup_to_text

# Canonical sections Report has fields for, plus "technique" (kept in sections).
CONTENT_SYNONYMS: dict[str, str] = {
    # impression
    "impression": "impression",
    "impressions": "impression",
    "conclusion": "impression",
    "conclusions": "impression",
    "summary": "impression",
    "opinion": "impression",
    "interpretation": "impression",
    "final impression": "impression",
    "diagnosis": "impression",
    "diagnoses": "impression",
    "assessment": "impression",
    "findings and impression": "impression",
    "findings/impression": "impression",
    "impresson": "impression",
    "impresion": "impression",
    "impession": "impression",
    "imprssion": "impression",
    # findings
    "findings": "findings",
    "finding": "findings",
    "report": "findings",
    "description": "findings",
    "observations": "findings",
    "results": "findings",
    "result": "findings",
    "findngs": "findings",
    "finidngs": "findings",
    "findins": "findings",
    # indication (history folded in: for a draft impression both say why the study was done)
    "indication": "indication",
    "indications": "indication",
    "clinical indication": "indication",
    "history": "indication",
    "clinical history": "indication",
    "patient history": "indication",
    "clinical information": "indication",
    "clinical details": "indication",
    "clinical data": "indication",
    "reason for exam": "indication",
    "reason for examination": "indication",
    "reason for study": "indication",
    "reason": "indication",
    "clinical question": "indication",
    "reason for referral": "indication",
    # comparison
    "comparison": "comparison",
    "comparisons": "comparison",
    "comparison exam": "comparison",
    "comparison study": "comparison",
    "comparison studies": "comparison",
    "prior studies": "comparison",
    "comparison film": "comparison",
    "reference exam": "comparison",
    "prior": "comparison",
    "priors": "comparison",
    "comparision": "comparison",
    "comparsion": "comparison",
    # exam
    "examination": "exam",
    "exam": "exam",
    "procedure": "exam",
    "study": "exam",
    "type of examination": "exam",
    "type of exam": "exam",
    "exam type": "exam",
    # technique
    "technique": "technique",
    "techniques": "technique",
    "views": "technique",
}

# A header that joins two known names ("IMPRESSION/RECOMMENDATIONS", "Technique/Findings",
# "History and indication") is the section of the one that ranks first here: left unread,
# "Impressions/Recommendations: ..." after the findings stayed inside them, and a model
# trained on such pairs reads the radiologist's answer in its input.
_RANK = ("impression", "findings", "indication", "comparison", "exam", "technique")
_JOINER = re.compile(r"\s*(?:/|&|\band\b|\+)\s*")


def joined_parts(key: str) -> list[str]:
    """'findings/impression' -> ['findings', 'impression']."""
    return [p for p in _JOINER.split(key) if p]


def compound_section(key: str) -> str | None:
    """The canonical section of a joined header whose every part is a known name."""
    parts = joined_parts(key)
    if len(parts) < 2:
        return None
    named = [CONTENT_SYNONYMS.get(p) or OTHER_SECTIONS.get(p) for p in parts]
    if not all(named):
        return None
    return next((r for r in _RANK if r in named), None)


def content_section(key: str) -> str | None:
    """The canonical section a header names, joined headers included."""
    return CONTENT_SYNONYMS.get(key) or compound_section(key)


def is_combined(key: str) -> bool:
    """Findings and impression under one header ("FINDINGS/IMPRESSION"): read as the
    impression, so the report has no findings of its own to draft from."""
    return {"findings", "impression"} <= {CONTENT_SYNONYMS.get(p) for p in joined_parts(key)}


# Other known sections: kept verbatim in Report.sections under these names, and
# always start a new section (they end FINDINGS, unlike anatomical sub-headings).
OTHER_SECTIONS: dict[str, str] = {
    "recommendation": "recommendations",
    "recommendations": "recommendations",
    "recommendation(s)": "recommendations",
    "addendum": "addendum",
    "notification": "notification",
    "communication": "notification",
    "wet read": "wet read",
    "wetread": "wet read",
    "comment": "comment",
    "comments": "comment",
    # a reading that may or may not be the impression: kept out of the findings, not trained on
    "discussion": "discussion",
    "note": "note",
    "date": "date",
    "time": "time",
    "signed by": "signature",
    "electronically signed by": "signature",
    "dictated by": "signature",
    "transcribed by": "signature",
    "reported by": "signature",
    "radiologist": "signature",
    "attending": "signature",
    "attending radiologist": "signature",
}

# Identifier lines: one value on the header line, never free text.
ID_FIELDS: dict[str, str] = {
    "accession": "id",
    "accession number": "id",
    "accession no": "id",
    "accession #": "id",
    "acc": "id",
    "report id": "id",
    "report number": "id",
    "report no": "id",
    "report #": "id",
    "patient id": "patient_id",
    "mrn": "patient_id",
    "medical record number": "patient_id",
    "study id": "study_id",
    "study uid": "study_id",
}

# Anatomical sub-headings of structured findings ("LUNGS: clear"). They stay
# inside FINDINGS, and one appearing before any FINDINGS header opens it.
ANATOMY: frozenset[str] = frozenset(
    {
        "lungs",
        "lung",
        "lung fields",
        "heart",
        "heart and mediastinum",
        "cardiac",
        "pleura",
        "pleural spaces",
        "pleural space",
        "mediastinum",
        "hila",
        "hilum",
        "cardiomediastinal",
        "cardiomediastinal silhouette",
        "bones",
        "bony structures",
        "osseous structures",
        "skeleton",
        "soft tissues",
        "lines",
        "tubes",
        "lines and tubes",
        "lines/tubes",
        "tubes/lines",
        "tubes and lines",
        "support devices",
        "devices",
        "airways",
        "airway",
        "trachea",
        "upper abdomen",
        "abdomen",
        "chest wall",
        "diaphragm",
        "vasculature",
        "pulmonary vasculature",
        "aorta",
    }
)


def is_anatomy_heading(name: str) -> bool:
    """'LUNGS:', 'HEART AND MEDIASTINUM:', 'Bones/soft tissues:': a structured report's organ
    sub-heading (every joined part an organ), which lays the findings out and names no finding."""
    parts = joined_parts(norm_name(name))
    return bool(parts) and all(p in ANATOMY for p in parts)


START_MARKERS: frozenset[str] = frozenset({"final report", "preliminary report", "report begins"})

_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ,/&()'#\-]{0,48}?)\s*:\s*(.*?)\s*$")
_BARE = re.compile(r"^\s*([A-Za-z][A-Za-z /&()\-]{0,48}?)\s*:?\s*$")
_MIDLINE_NAMES = sorted(
    [
        "FINDINGS",
        "IMPRESSION",
        "IMPRESSIONS",
        "CONCLUSION",
        "CONCLUSIONS",
        "SUMMARY",
        "OPINION",
        "INDICATION",
        "HISTORY",
        "CLINICAL HISTORY",
        "REASON FOR EXAM",
        "REASON FOR EXAMINATION",
        "COMPARISON",
        "COMPARISONS",
        "EXAMINATION",
        "EXAM",
        "TECHNIQUE",
        "RECOMMENDATION",
        "RECOMMENDATIONS",
    ],
    key=len,
    reverse=True,
)
_MIDLINE = re.compile(
    r"(?<=[.;!?)])\s+(?=(?:" + "|".join(re.escape(n) for n in _MIDLINE_NAMES) + r")\s*:)"
)
# Unknown capitalised headers that end FINDINGS/IMPRESSION (signature blocks and the like);
# other capitalised headers there are sub-headings ("LUNGS:", "RIGHT LOWER LOBE PNEUMONIA:").
_FOOTER = re.compile(
    r"sign|dictat|transcri|verif|radiologist|physician|attending|resident|date|time"
)
# Known names that are too ordinary to be a header when alone on a line without a colon.
_NOT_BARE = frozenset({"reason", "study", "prior", "priors", "views", "report", "exam"})


def norm_name(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split()).rstrip(" .")


@dataclass
class Line:
    """One classified line. ``kind``: text, blank, content, other, id, start, anatomy, caps."""

    kind: str
    name: str = ""  # canonical section / id field
    rest: str = ""  # text after the header on the same line
    raw: str = ""
    key: str = ""  # the header as written, normalised ("findings/impression")


def classify(raw: str) -> Line:
    text = raw.rstrip("\r\n")
    if not text.strip():
        return Line("blank", raw=text)
    m = _HEADER.match(text)
    if m:
        header, rest = m.group(1), m.group(2)
        key = norm_name(header)
        if key in ID_FIELDS:
            return Line("id", ID_FIELDS[key], rest, text)
        section = content_section(key)
        if section:
            return Line("content", section, rest, text, key)
        if key in OTHER_SECTIONS:
            return Line("other", OTHER_SECTIONS[key], rest, text)
        if key in ANATOMY:
            return Line("anatomy", key, rest, text)
        letters = [c for c in header if c.isalpha()]
        if letters and header == header.upper() and len(header.split()) <= 5:
            return Line("caps", key, rest, text)
        return Line("text", raw=text)
    m = _BARE.match(text)
    if m:
        header = m.group(1).strip()
        key = norm_name(header)
        if header not in (header.upper(), header.title()):
            return Line("text", raw=text)
        if key in START_MARKERS:
            return Line("start", key, "", text)
        section = content_section(key) if key not in _NOT_BARE else None
        if section:
            return Line("content", section, "", text, key)
        if header in ("REPORT", "EXAM"):
            return Line("content", CONTENT_SYNONYMS[key], "", text)
        if key in ("addendum", "recommendation", "recommendations", "discussion"):
            return Line("other", OTHER_SECTIONS[key], "", text)
    return Line("text", raw=text)


def split_inline_headers(line: str) -> list[str]:
    """``"Lungs clear. IMPRESSION: Normal."`` -> two lines (upper-case known headers only)."""
    parts = _MIDLINE.split(line.rstrip("\r\n"))
    return [p.strip() if i else p for i, p in enumerate(parts)]


@dataclass
class ParsedReport:
    """Sections of one report; values are verbatim text (lines kept, indentation removed)."""

    sections: dict[str, str] = field(default_factory=dict)  # canonical/other name -> text
    ids: dict[str, str] = field(default_factory=dict)  # id / patient_id / study_id
    header_seen: bool = False  # any content or other header at all
    combined: bool = False  # findings and impression under one header ("FINDINGS/IMPRESSION:")

    @property
    def has_content(self) -> bool:
        return self.header_seen


_LIST_ITEM = re.compile(r"^(?:\d{1,2}[.)]|[-•*]|\(?[a-z]\))\s")
_SUBHEADING = re.compile(r"^[A-Z][A-Z /&()\-]{1,40}:")


def tidy_text(lines: list[str]) -> str:
    """Section lines -> text: indentation and blank lines dropped, hard wraps undone.

    A line is joined to the one before when that one does not end a sentence
    (``.``, ``!``, ``?``, ``:``, ``;``) and the line is not a list item or a
    sub-heading: reports dictated into 80-column systems wrap mid-sentence, and
    a sentence cut in two would count as two sentences for ROUGE-Lsum. Lines
    that end a sentence, numbered items (``1. ... 2. ...``) and sub-headings
    keep their own line.
    """
    out: list[str] = []
    joinable = False
    for raw in lines:
        ln = raw.strip()
        if not ln:
            joinable = False
            continue
        if joinable and not _LIST_ITEM.match(ln) and not _SUBHEADING.match(ln):
            out[-1] = out[-1] + " " + ln
        else:
            out.append(ln)
        joinable = not out[-1].endswith((".", "!", "?", ":", ";"))
    return "\n".join(out)


def _without_markup(lines: list[str]) -> Iterator[str]:
    """Lines with HTML line breaks split and formatting tags removed (exports carry them)."""
    for raw in lines:
        plain = markup_to_text(raw)
        if plain == raw:
            yield raw
        else:
            yield from plain.splitlines()


def parse_sections(lines: list[str]) -> ParsedReport:
    """Parse the lines of ONE report into sections."""
    result = ParsedReport()
    chunks: dict[str, list[list[str]]] = {}
    current = "preamble"
    buf: list[str] = []
    order: list[tuple[str, list[str]]] = []

    def open_section(name: str, first: str) -> None:
        nonlocal current, buf
        current = name
        buf = [first] if first else []
        order.append((name, buf))

    order.append(("preamble", buf))
    for raw in _without_markup(lines):
        for piece in split_inline_headers(raw):
            line = classify(piece)
            if line.kind == "blank" or line.kind == "text":
                buf.append(line.raw)
            elif line.kind == "start":
                open_section("preamble", "")
            elif line.kind == "id":
                if line.rest and line.name not in result.ids:
                    result.ids[line.name] = line.rest.split()[0].rstrip(".,;")
                open_section("preamble", "")
            elif line.kind == "content" or line.kind == "other":
                result.header_seen = True
                result.combined = result.combined or is_combined(line.key)
                open_section(line.name, line.rest)
            elif line.kind == "anatomy":
                if current == "findings":
                    buf.append(line.raw)
                else:
                    result.header_seen = True
                    open_section("findings", line.raw.strip())
            elif line.kind == "caps":
                if current in ("findings", "impression") and not _FOOTER.search(line.name):
                    buf.append(line.raw)
                else:
                    result.header_seen = True
                    open_section(line.name, line.rest)
    for name, section_lines in order:
        chunks.setdefault(name, []).append(section_lines)
    for name, pieces in chunks.items():
        texts = [t for t in (tidy_text(p) for p in pieces) if t]
        if texts:
            result.sections[name] = "\n".join(texts)
        elif name != "preamble":
            result.sections[name] = ""
    return result


def split_narrative(
    text: str | None, leading_text_is_findings: bool = False
) -> dict[str, str] | None:
    """A field's own sections, when its text carries a FINDINGS or IMPRESSION header.

    Feeds put the whole report where only the findings belong (an HL7 OBX under the
    report's LOINC code, a table's findings column). Left whole, the radiologist's
    impression is inside the findings: a model is trained on the answer and drafts by
    copying it. ``leading_text_is_findings``: text before the first header is findings
    (a field meant for findings), else it is kept as ``preamble``.
    """
    if not text or not text.strip():
        return None
    sections = dict(parse_sections(text.splitlines(keepends=True)).sections)
    if "findings" not in sections and "impression" not in sections:
        return None
    if leading_text_is_findings and not sections.get("findings") and sections.get("preamble"):
        sections["findings"] = sections.pop("preamble")
    return sections


_EXAM_WORDS = re.compile(
    r"\b(?:ct|cta|hrct|mri?|mra|xr|x-?ray|cxr|radiograph\w*|chest|thorax|thoracic|lungs?|"
    r"pa|ap|portable|lateral|views?|ultrasound|us|pet(?:/ct)?|angiogra\w*|contrast)\b",
    re.I,
)


def exam_title(preamble: str | None) -> str | None:
    """The exam, when the report opens with it as an untitled line ("CT CHEST WITHOUT
    CONTRAST", "XR Chest 2 views") and has no EXAM header.

    Without it a CT report is read as a radiograph, and a nodule on it is given "CT for
    characterisation" instead of the Fleischner table's answer. One line of at most 10
    words, naming a modality or the chest, and not a sentence (no full stop at its end).
    """
    if not preamble or "\n" in preamble.strip():
        return None
    line = preamble.strip()
    if len(line.split()) > 10 or line.endswith(".") or not _EXAM_WORDS.search(line):
        return None
    return line


def is_report_start(line: Line) -> bool:
    """Lines that begin a new report inside a multi-report file."""
    return line.kind == "start" or (line.kind == "id" and line.name == "id")
