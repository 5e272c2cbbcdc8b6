"""`radimpress ingest`: files, folders or archives in -> reports.jsonl + rejects.jsonl."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from radimpress.cli_flags import flag_values, output_folder
from radimpress.ingest.options import DEFAULT_COLUMNS, MIB, IngestOptions

_DEFAULTS = IngestOptions()


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


HELP = """Read radiology reports and write them in one normalised form.

Reads: free-text reports (.txt, one or many per file, hospital section headers),
Open-i XML (.xml files or the official NLMCXR_reports.tgz, read without unpacking),
CSV/TSV, JSON Lines/JSON, Parquet and Excel tables (the Open-i flat CSV needs no options),
FHIR DiagnosticReport JSON and HL7 v2 ORU^R01 messages,
given as files, folders (searched recursively) or .tgz/.tar.gz/.zip archives.

Writes: OUT/reports.jsonl (one report per line: id, source, exam, indication,
comparison, findings, impression, sections, trainable), OUT/rejects.jsonl (every
record that could not be used: source, location, reason, excerpt), OUT/summary.json,
and prints the counts. Exits 1 only when no report at all was accepted.

Every record read is either accepted or rejected with its reason (read = accepted +
rejected). Archive members are streamed under three caps, each a reject naming it
when broken: --max-file-mb (any one file or member), --max-archive-mb (what one
archive may inflate to) and --max-ratio (inflated:compressed, against decompression
bombs). Members with '..' or absolute paths, links and devices are rejected unread.
NUL and other control characters, ANSI escapes and bidirectional controls are
removed from accepted reports and counted in summary.json ("cleaned").
"""


def cmd_ingest(args: argparse.Namespace) -> int:
    from radimpress.ingest import format_summary, ingest_paths
    from radimpress.records import write_jsonl

    options = {
        **flag_values(IngestOptions, args),  # format, encoding, the *_col names, ...
        "progress": True,
        "max_file_bytes": int(args.max_file_mb * MIB),
        "max_archive_bytes": int(args.max_archive_mb * MIB),
        "max_compression_ratio": args.max_ratio,
    }
    result = ingest_paths(args.sources, **options)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.scrub:  # PHI removed before anything is written (see `radimpress scrub --help`)
        from radimpress.privacy.scrub_io import scrub_ingest_result

        audit, result.summary["scrubbed"] = scrub_ingest_result(result)
        write_jsonl(out / "scrub_report.jsonl", audit)
    write_jsonl(out / "reports.jsonl", result.reports)
    write_jsonl(out / "rejects.jsonl", result.rejects)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / "summary.json")
    print(format_summary(result.summary))
    print(f"wrote {out / 'reports.jsonl'}, {out / 'rejects.jsonl'}, {out / 'summary.json'}")
    if not result.reports:
        print("radimpress ingest: error: no report was accepted (see rejects.jsonl for why)")
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from radimpress.ingest.formats import format_names

    p = sub.add_parser(
        "ingest",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sources", nargs="+", metavar="SRC", help="file, folder or .tgz/.tar.gz/.zip archive"
    )
    p.add_argument(
        "--out", required=True, type=output_folder, help="output folder (created if missing)"
    )
    p.add_argument(
        "--format",
        choices=format_names(),
        default=None,
        help="read every file with this reader instead of detecting (default: detect)",
    )
    p.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of the inputs (default utf-8; e.g. cp1252, latin-1)",
    )
    cols = p.add_argument_group("column mapping for CSV/JSONL/Parquet/Excel (default: usual names)")
    for flag, field, what in (
        ("findings", "findings", "FINDINGS text"),
        ("impression", "impression", "IMPRESSION text"),
        ("id", "id", "report id"),
        ("indication", "indication", "indication / history"),
        ("comparison", "comparison", "comparison"),
        ("exam", "exam", "exam / modality"),
        ("patient", "patient_id", "patient id, used to group the dataset split"),
        ("study", "study_id", "study id"),
        (
            "report",
            "report",
            "whole report (EXAM:, FINDINGS:, IMPRESSION: ... in one cell), split into "
            "sections as free text is; read when there is no findings column",
        ),
    ):
        cols.add_argument(
            f"--{flag}-col",
            metavar="COL",
            default=None,
            help=f"column holding the {what} (default: {', '.join(DEFAULT_COLUMNS[field])})",
        )
    p.add_argument(
        "--headerless-as-findings",
        action="store_true",
        help="take free text without any section header as FINDINGS (default: reject it)",
    )
    caps = p.add_argument_group(
        "caps (bounded memory and time on hostile or broken inputs; each broken cap is a "
        "reject naming it)"
    )
    for flag, metavar, default, what in (
        (
            "--max-file-mb",
            "MB",
            _DEFAULTS.max_file_bytes / MIB,
            "largest single file or archive member read, in MiB; readers hold one file in "
            "memory, a few times its size at peak",
        ),
        (
            "--max-archive-mb",
            "MB",
            _DEFAULTS.max_archive_bytes / MIB,
            "most one archive may inflate to, in MiB; the rest of it is not read",
        ),
        (
            "--max-ratio",
            "R",
            _DEFAULTS.max_compression_ratio,
            "largest inflated:compressed ratio accepted in an archive; report text "
            "compresses 5-20:1, decompression bombs about 1000:1",
        ),
    ):
        caps.add_argument(
            flag,
            type=_positive(float),
            metavar=metavar,
            default=default,
            help=what + " (default: %(default)g)",
        )
    p.add_argument(
        "--scrub",
        action="store_true",
        help="remove PHI from every text field first (placeholders such as [NAME]); "
        "also writes OUT/scrub_report.jsonl (type and offsets, never the item)",
    )
    p.set_defaults(func=cmd_ingest)
