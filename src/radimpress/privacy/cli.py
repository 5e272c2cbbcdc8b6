"""`radimpress scrub`."""

from __future__ import annotations

import argparse

from radimpress.privacy.scrub import Scrubber, spacy_detector
from radimpress.privacy.scrub_io import scrub_file

SCRUB_HELP = """Remove PHI (names, dates, ages over 89, phone/fax, e-mail, record and accession
numbers, addresses, ZIP codes, URLs, IP addresses) from report text.

Reads: a reports JSONL (as written by `radimpress ingest`; every text field is
scrubbed and patient_id/study_id become keyed pseudonyms) or a plain text file.
Writes: --output (same form as the input; the input is never modified) and,
with --report, a JSONL audit of what kind of item was replaced where (record,
field, type, start, end in the original text), never the item itself.
Rules are tuned for report text; clinical eponyms (Hodgkin, Parkinson, Down
syndrome, Kerley B lines...) are kept. Check a sample by eye before sharing.
"""


def cmd_scrub(args: argparse.Namespace) -> int:
    extra = [spacy_detector(args.ner_model)] if args.ner_model else []
    placeholder = args.placeholder
    scrubber = Scrubber(
        mode=args.mode, placeholder=placeholder, key=args.key, extra_detectors=extra
    )
    summary = scrub_file(args.input, args.output, scrubber, args.report)
    by_type = ", ".join(f"{k} {v}" for k, v in summary["by_type"].items()) or "nothing found"
    print(
        f"scrubbed {summary['records']} record(s): {summary['replaced']} items replaced ({by_type})"
    )
    print(f"wrote {args.output}" + (f" and {args.report}" if args.report else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scrub",
        description=SCRUB_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--input", required=True, metavar="FILE", help="reports .jsonl or a text file")
    p.add_argument(
        "--output", required=True, metavar="FILE", help="scrubbed copy (same form as the input)"
    )
    p.add_argument(
        "--mode",
        choices=["placeholder", "surrogate"],
        default="placeholder",
        help="placeholder tokens such as [NAME] (default), or consistent fake values",
    )
    p.add_argument(
        "--placeholder",
        default="[{type}]",
        metavar="TEXT",
        help="placeholder text; {type} becomes NAME, DATE, ... (default '[{type}]'; e.g. 'XXXX')",
    )
    p.add_argument(
        "--key",
        default="radimpress",
        help="secret for surrogates and id pseudonyms (same key, same surrogates; keep it private)",
    )
    p.add_argument(
        "--report", metavar="FILE", help="write the audit JSONL (type and offsets, never the item)"
    )
    p.add_argument(
        "--ner-model",
        metavar="NAME",
        default=None,
        help="also use a locally installed spaCy NER pipeline (package name or folder); none by default",
    )
    p.set_defaults(func=cmd_scrub)
