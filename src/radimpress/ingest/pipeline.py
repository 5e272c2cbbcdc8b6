"""Run every input through its reader and collect reports, rejects and counts.

Readers are generators that yield a Report or a Reject per record and never
raise for bad data; an unexpected exception inside a reader still becomes a
reject for that file (with the exception named) so one odd file cannot end a
run over thousands.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    ``study_col``, ``headerless_as_findings``, ``progress``). Report ids are made
    unique per run: a repeated id is a reject naming where it was first seen.
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

    sources = iter_sources(paths)
    if opts.progress:
        from tqdm import tqdm

        sources = tqdm(sources, desc="ingest", unit="file", disable=None)
    for item in sources:
        files += 1
        if isinstance(item, Reject):
            result.rejects.append(item)
            per_format.setdefault("-", Counter())["rejected"] += 1
            continue
        src = item
        try:
            head = src.head()
        except OSError as e:
            result.rejects.append(Reject(src.label, "", f"unreadable file: {e}"))
            continue
        fmt = forced or detect_format(src, head)
        if fmt is None:
            result.rejects.append(_unsupported(src, head))
            per_format.setdefault("-", Counter())["rejected"] += 1
            continue
        counts = per_format.setdefault(fmt.name, Counter())
        counts["files"] += 1
        try:
            for rec in fmt.reader(src, opts):
                if isinstance(rec, Report):
                    if rec.id in seen:
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
                result.rejects.append(rec)
                counts["rejected"] += 1
        except Exception as e:  # a reader bug must not end the run; say which file hit it
            log.exception("reader %s failed on %s", fmt.name, src.label)
            result.rejects.append(
                Reject(src.label, "", f"reader error: {fmt.name}: {type(e).__name__}: {e}")
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
    return "\n".join(lines)
