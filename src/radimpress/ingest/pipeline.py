"""Run every input through its reader and collect reports, rejects and counts.

Readers are generators that yield a Report or a Reject per record and never
raise for bad data; a reader may raise InputError for a file it cannot split
into records at all (its message becomes that file's reject). An unexpected
exception inside a reader still becomes a reject for that file (with the
exception named; the traceback only with ``radimpress -v``) so one odd file
cannot end a run over thousands.

Every accepted report is cleaned of control characters, ANSI escapes and
bidirectional controls here, once for all readers (see
:mod:`radimpress.ingest.control_chars`); a report left without findings is
rejected. ``summary["read"]`` is always accepted + rejected.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radimpress.ingest.control_chars import clean_reject, clean_report
from radimpress.ingest.decoding import excerpt
from radimpress.ingest.formats import FORMATS, detect_format, format_names, get_format
from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source, iter_sources
from radimpress.records import InputError, Reject, Report

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    reports: list[Report] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def reason_key(reason: str) -> str:
    """Group rejects by the part of the reason before its detail ("bad XML: ..." -> "bad XML")."""
    return reason.split(":", 1)[0].split(" (", 1)[0].strip()


def _location(rec: Report, src: Source) -> str:
    tail = rec.source[len(src.label) + 1 :] if rec.source.startswith(src.label + ":") else ""
    return f"line {tail}" if tail.isdigit() else tail


def _unsupported(src: Source, head: bytes) -> Reject:
    hint = ""
    if b'"resourceType"' in head or b"http://hl7.org/fhir" in head:
        hint = " - looks like FHIR, and no FHIR reader is registered"
    elif head.startswith(b"MSH|"):
        hint = " - looks like HL7 v2, and no HL7 reader is registered"
    return Reject(
        src.label,
        "",
        f"unsupported format: no reader for '{src.name}'{hint}; known formats: {', '.join(format_names())} "
        "(force one with --format)",
    )


def ingest_paths(paths: Iterable[str | Path] | str | Path, **options: Any) -> IngestResult:
    """Read reports from files, folders and archives in any supported format.

    Options are the fields of :class:`~radimpress.ingest.options.IngestOptions`
    (``format``, ``encoding``, ``findings_col``, ``impression_col``, ``id_col``,
    ``indication_col``, ``comparison_col``, ``exam_col``, ``patient_col``,
    ``study_col``, ``report_col`` (a whole report in one column),
    ``headerless_as_findings``, ``progress``, and the caps ``max_file_bytes``,
    ``max_archive_bytes``, ``max_compression_ratio``).
    Report ids are made unique per run: a repeated id is a reject naming where
    it was first seen.
    """
    opts = IngestOptions.from_kwargs(**options)
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    forced = None
    if opts.format is not None:
        try:
            forced = get_format(opts.format)
        except KeyError as e:
            raise InputError(str(e.args[0])) from None

    started = time.perf_counter()
    result = IngestResult()
    seen: dict[str, str] = {}
    files = 0
    per_format: dict[str, Counter] = {}
    cleaned: Counter[str] = Counter()
    cleaned_reports = 0

    sources = iter_sources(paths, opts)
    if opts.progress:
        from tqdm import tqdm

        sources = tqdm(sources, desc="ingest", unit="file", disable=None)
    for item in sources:
        files += 1
        if isinstance(item, Reject):
            result.rejects.append(clean_reject(item))
            per_format.setdefault("-", Counter())["rejected"] += 1
            continue
        src = item
        try:
            head = src.head()
        except OSError as e:
            result.rejects.append(Reject(src.label, "", f"unreadable file: {e}"))
            continue
        try:
            fmt = forced or detect_format(src, head)
        except Exception as e:  # a plug-in's detect() must not end the run either
            log.debug("format detection failed on %s", src.label, exc_info=True)
            result.rejects.append(
                clean_reject(
                    Reject(src.label, "", f"reader error: detection: {type(e).__name__}: {e}")
                )
            )
            per_format.setdefault("-", Counter())["rejected"] += 1
            continue
        if fmt is None:
            result.rejects.append(_unsupported(src, head))
            per_format.setdefault("-", Counter())["rejected"] += 1
            continue
        counts = per_format.setdefault(fmt.name, Counter())
        counts["files"] += 1
        try:
            for rec in fmt.reader(src, opts):
                if isinstance(rec, Report):
                    removed = clean_report(rec)
                    if removed:
                        cleaned.update(removed)
                        cleaned_reports += 1
                    if not rec.findings.strip():
                        rec = Reject(
                            src.label,
                            _location(rec, src),
                            "empty findings (nothing left once control characters were removed)",
                        )
                    elif rec.id in seen:
                        rec = Reject(
                            src.label,
                            _location(rec, src),
                            f"duplicate id: '{rec.id}' already read from {seen[rec.id]}",
                            excerpt(rec.findings),
                        )
                    else:
                        seen[rec.id] = rec.source
                        result.reports.append(rec)
                        counts["accepted"] += 1
                        continue
                result.rejects.append(clean_reject(rec))
                counts["rejected"] += 1
        except InputError as e:  # the reader could not split the file into records
            result.rejects.append(clean_reject(Reject(src.label, "", str(e))))
            counts["rejected"] += 1
        except Exception as e:  # a reader bug must not end the run; say which file hit it
            # The reject names the error; the traceback is for developers (radimpress -v).
            log.debug("reader %s failed on %s", fmt.name, src.label, exc_info=True)
            result.rejects.append(
                clean_reject(
                    Reject(src.label, "", f"reader error: {fmt.name}: {type(e).__name__}: {e}")
                )
            )
            counts["rejected"] += 1
        finally:
            src.release()

    by_reason = Counter(reason_key(r.reason) for r in result.rejects)
    trainable = sum(1 for r in result.reports if r.trainable)
    result.summary = {
        "inputs": [str(p) for p in paths],
        "files": files,
        "read": len(result.reports) + len(result.rejects),
        "accepted": len(result.reports),
        "trainable": trainable,
        "not_trainable": len(result.reports) - trainable,
        "rejected": len(result.rejects),
        "rejected_by_reason": dict(by_reason.most_common()),
        "by_format": {k: dict(v) for k, v in per_format.items()},
        "cleaned": {"reports": cleaned_reports, "removed": dict(cleaned.most_common())},
        "formats_known": [f.name for f in FORMATS],
        "options": {
            k: v for k, v in vars(opts).items() if v not in (None, False) and k != "progress"
        },
        "seconds": round(time.perf_counter() - started, 3),
    }
    return result


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a person reads it at the end of a run."""
    lines = [
        f"read {summary['read']} records from {summary['files']} files in {summary['seconds']:.1f}s",
        f"  accepted     {summary['accepted']:>7}  ({summary['trainable']} trainable, "
        f"{summary['not_trainable']} not trainable: findings without impression)",
        f"  rejected     {summary['rejected']:>7}",
    ]
    for reason, n in summary["rejected_by_reason"].items():
        lines.append(f"    {n:>7}  {reason}")
    cleaned = summary.get("cleaned") or {}
    if cleaned.get("reports"):
        removed = ", ".join(f"{n} {kind}" for kind, n in cleaned["removed"].items())
        lines.append(f"  cleaned      {cleaned['reports']:>7}  reports ({removed} removed)")
    return "\n".join(lines)
