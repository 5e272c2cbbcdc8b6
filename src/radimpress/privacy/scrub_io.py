"""Scrub files: report JSONL (every text field) or plain text, plus a PHI-free audit report.

The audit report lists, per replaced item, the record, the field, the kind
of item and its character offsets in the original text, so a reviewer can
check the scrubber's work against the source without the report itself
becoming a second copy of the identifiers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from radimpress.privacy.scrub import Scrubber, find_phi
from radimpress.records import InputError, Report, read_jsonl

TEXT_FIELDS = ("findings", "impression", "indication", "comparison", "exam")
ID_FIELDS = ("patient_id", "study_id")


def scrubber_finds(text: str) -> bool:
    return bool(find_phi(text))


def scrub_report(report: Report, scrubber: Scrubber) -> tuple[Report, list[dict[str, Any]]]:
    """A scrubbed copy of a report and the audit items for it.

    ``patient_id``/``study_id`` are identifiers by definition: they are
    replaced by keyed pseudonyms (the same id gives the same pseudonym), so
    patient-grouped dataset splits still work after scrubbing.
    """
    items: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    surnames: dict[str, str] = {}  # one person, one surrogate, in every field of the record
    for name in TEXT_FIELDS:
        text = getattr(report, name)
        if not text:
            continue
        clean, spans = scrubber.scrub(text, surnames)
        values[name] = clean
        items += [
            {"record": report.id, "field": name, "type": t, "start": s, "end": e}
            for t, s, e in spans
        ]
    sections = {}
    for key, text in (report.sections or {}).items():
        if isinstance(text, str) and text:
            clean, spans = scrubber.scrub(text, surnames)
            sections[key] = clean
            items += [
                {"record": report.id, "field": f"sections.{key}", "type": t, "start": s, "end": e}
                for t, s, e in spans
            ]
        else:
            sections[key] = text
    for name in ID_FIELDS:
        value = getattr(report, name)
        if value:
            values[name] = scrubber.pseudonym(str(value), "P" if name == "patient_id" else "S")
            items.append(
                {
                    "record": report.id,
                    "field": name,
                    "type": "ID",
                    "start": 0,
                    "end": len(str(value)),
                }
            )
    # An id that is itself an identifier (the accession, an MRN) gets a pseudonym too.
    if report.id and (
        report.id in (report.patient_id, report.study_id) or scrubber_finds(report.id)
    ):
        values["id"] = scrubber.pseudonym(report.id, "R")
        items.append(
            {"record": values["id"], "field": "id", "type": "ID", "start": 0, "end": len(report.id)}
        )
        for it in items:
            it["record"] = values["id"]
    d = report.to_dict()
    d.pop("trainable", None)
    d.update(values)
    d["sections"] = sections
    return Report(**d), items


def _read_reports(path: Path) -> Iterator[Report]:
    for no, obj in read_jsonl(path):
        yield Report.from_dict(obj, f"{path}:{no}")


def scrub_file(
    input_path: str | Path,
    output_path: str | Path,
    scrubber: Scrubber,
    report_path: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Scrub a report JSONL or a text file; return counts by PHI type."""
    src, dst = Path(input_path), Path(output_path)
    if not src.exists():
        raise InputError(f"{src}: file not found")
    if src.resolve() == dst.resolve():
        raise InputError(
            f"{dst}: output must differ from the input (the original is never overwritten)"
        )
    items: list[dict[str, Any]] = []
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    records = 0
    if src.suffix.lower() == ".jsonl":
        rows: Iterator[Report] = _read_reports(src)
        if progress:
            rows = tqdm(rows, desc="scrub", unit="report", disable=None)
        with tmp.open("w", encoding="utf-8") as fh:
            for rep in rows:
                clean, found = scrub_report(rep, scrubber)
                fh.write(json.dumps(clean.to_dict(), ensure_ascii=False) + "\n")
                items += found
                records += 1
    else:
        try:
            text = src.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise InputError(
                f"{src}: not UTF-8 text (byte offset {e.start}); convert it first"
            ) from None
        clean, spans = scrubber.scrub(text)
        tmp.write_text(clean, encoding="utf-8")
        items = [
            {"record": src.name, "field": "text", "type": t, "start": s, "end": e}
            for t, s, e in spans
        ]
        records = 1
    tmp.replace(dst)
    counts = Counter(i["type"] for i in items)
    summary = {
        "input": str(src),
        "output": str(dst),
        "mode": scrubber.mode,
        "records": records,
        "replaced": sum(counts.values()),
        "by_type": dict(counts.most_common()),
    }
    if report_path is not None:
        rp = Path(report_path)
        rp.parent.mkdir(parents=True, exist_ok=True)
        rtmp = rp.with_name(rp.name + ".tmp")
        with rtmp.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"summary": summary}) + "\n")
            for it in items:
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")
        rtmp.replace(rp)
    return summary


def scrub_ingest_result(
    result: Any, scrubber: Scrubber | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Scrub an ``IngestResult`` in place (reports and reject excerpts); return audit items and counts.

    Called by ``radimpress ingest --scrub`` so nothing unscrubbed is ever written to its output folder.
    """
    scrubber = scrubber or Scrubber()
    items: list[dict[str, Any]] = []
    clean_reports = []
    for rep in result.reports:
        clean, found = scrub_report(rep, scrubber)
        clean_reports.append(clean)
        items += found
    result.reports = clean_reports
    for rej in result.rejects:
        if rej.excerpt:
            rej.excerpt = scrubber.scrub(rej.excerpt)[0]
    counts = Counter(i["type"] for i in items)
    return items, dict(counts.most_common())
