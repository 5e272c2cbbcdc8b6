"""Free-text reports: one or many per file.

A file holds several reports when they are separated by

* a line made only of ``===``, ``---``, ``___`` or ``***`` (three or more), or
* a report-start line — ``FINAL REPORT`` or an identifier header
  (``Accession:``, ``Report ID:``) — once the current report already has a
  FINDINGS or IMPRESSION section, or
* a blank line followed by a header that opens a report (EXAMINATION,
  INDICATION/HISTORY, COMPARISON, TECHNIQUE, FINDINGS) once the current report
  has both FINDINGS and IMPRESSION (reports pasted back to back).

Each report is parsed by :mod:`radimpress.formats.sections`. Its id is the
identifier header when there is one, else the file stem (``stem#n`` for the
n-th report of a multi-report file, counting rejected ones so ids do not
shift when one report is fixed). ``source`` is ``file:line`` of its first line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from radimpress.formats.sections import (
    classify,
    exam_title,
    is_report_start,
    parse_sections,
    tidy_text,
)
from radimpress.ingest.decoding import excerpt, read_decoded
from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source
from radimpress.records import Reject, Report

SUFFIXES = (".txt", ".text", ".rpt", ".report")
_SEPARATOR = re.compile(r"^\s*(?:={3,}|-{3,}|_{3,}|\*{3,})\s*$")


def detect(src: Source, head: bytes) -> bool:
    if src.suffix in SUFFIXES:
        return True
    return src.suffix == "" and bool(head.strip()) and b"\x00" not in head


_LEADING = frozenset({"exam", "indication", "comparison", "technique", "findings"})


def split_reports(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(first line number, lines) for each report in a file; marker-only chunks dropped."""
    chunks: list[tuple[int, list[str]]] = []
    cur: list[str] = []
    start = 1
    seen: set[str] = set()  # findings / impression seen in the current report
    has_text = False  # anything besides blank, marker and identifier lines
    prev_blank = True

    def flush() -> None:
        nonlocal cur, has_text
        if has_text:
            chunks.append((start, cur))
        cur, has_text = [], False
        seen.clear()

    for no, raw in enumerate(lines, start=1):
        if _SEPARATOR.match(raw):
            flush()
            prev_blank = True
            continue
        line = classify(raw)
        if (is_report_start(line) and seen) or (
            # back-to-back reports with no marker: a blank line, then a header that opens a
            # report (EXAM, INDICATION, ..., FINDINGS) after one with FINDINGS and IMPRESSION
            prev_blank
            and {"findings", "impression"} <= seen
            and line.kind == "content"
            and line.name in _LEADING
        ):
            flush()
        if not cur or not any(x.strip() for x in cur):
            start = no
        cur.append(raw)
        prev_blank = line.kind == "blank"
        if line.kind not in ("blank", "start", "id"):
            has_text = True
        if line.kind == "content" and line.name in ("findings", "impression"):
            seen.add(line.name)
        elif line.kind == "anatomy":
            seen.add("findings")
    flush()
    return chunks


def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    decoded = read_decoded(src, options.encoding)
    if isinstance(decoded, Reject):
        yield decoded
        return
    chunks = split_reports(decoded.lines)
    if not chunks:
        yield Reject(src.label, "", "no report text", excerpt("".join(decoded.lines)))
        return
    multi = len(chunks) > 1
    for n, (start, lines) in enumerate(chunks, start=1):
        where = f"line {start}"
        raw_text = "".join(lines)
        bad = decoded.first_bad(start, start + len(lines) - 1)
        if bad is not None:
            yield Reject(src.label, where, bad.describe(options.encoding), excerpt(raw_text))
            continue
        yield build_report(
            parse_lines=lines,
            default_id=f"{src.stem}#{n}" if multi else src.stem,
            source=f"{src.label}:{start}",
            label=src.label,
            where=where,
            options=options,
        )


COMBINED_REASON = (
    "no findings section: findings and impression are one section ('FINDINGS/IMPRESSION'), "
    "so there are no findings apart from the radiologist's impression to draft from or train on"
)


def build_report(
    parse_lines: list[str],
    default_id: str,
    source: str,
    label: str,
    where: str,
    options: IngestOptions,
) -> Report | Reject:
    """One report's lines -> Report, or the reason it cannot be one."""
    parsed = parse_sections(parse_lines)
    sections = dict(parsed.sections)
    raw_text = "".join(parse_lines)
    if "findings" not in sections:
        if not parsed.header_seen and options.headerless_as_findings:
            sections = {"findings": tidy_text([ln.rstrip("\r\n") for ln in parse_lines])}
        elif parsed.combined:
            return Reject(label, where, COMBINED_REASON, excerpt(raw_text))
        else:
            return Reject(label, where, "no findings section", excerpt(raw_text))
    findings = sections.pop("findings")
    if not findings.strip():
        return Reject(label, where, "empty findings", excerpt(raw_text))
    impression = sections.pop("impression", None) or None
    exam = sections.pop("exam", None)
    if not exam and (exam := exam_title(sections.get("preamble"))):
        del sections["preamble"]  # the untitled first line was the exam
    return Report(
        id=parsed.ids.get("id") or default_id,
        findings=findings,
        impression=impression,
        source=source,
        exam=exam or None,
        indication=sections.pop("indication", None) or None,
        comparison=sections.pop("comparison", None) or None,
        patient_id=parsed.ids.get("patient_id"),
        study_id=parsed.ids.get("study_id"),
        sections={k: v for k, v in sections.items() if v},
    )
