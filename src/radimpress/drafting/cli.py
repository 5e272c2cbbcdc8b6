"""`radimpress generate`: draft impressions for a file of findings, through the one drafting path."""

from __future__ import annotations

import argparse
import sys
import time

from tqdm.auto import tqdm

from radimpress.cli_flags import add_model_flag
from radimpress.drafting.drafter import Drafter, DraftOptions
from radimpress.drafting.errors import InvalidRequest
from radimpress.drafting.result import DraftResult
from radimpress.ingest import load_inputs
from radimpress.models.backends import BACKENDS
from radimpress.records import InputError, write_jsonl, write_rejects

CHUNK = 256  # reports per drafting call: progress, and bounded memory for the safety checks


GENERATE_HELP = """Reads INPUT (JSONL with id and findings, or any format `radimpress ingest` reads; bare text is
taken as findings); cleans the findings as the model's dataset was cleaned, drafts, runs the
safety checks and puts the first candidate without a high-severity warning first. Writes OUTPUT
as JSONL with id, prediction and the draft's warnings (with --num-candidates > 1, also the
candidates and each one's warnings as candidate_warnings). A record that cannot be drafted
(broken JSON, no id, empty findings, an id already seen) goes to OUTPUT.rejects.jsonl with its
line and reason, and the others are drafted.
"""


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser("generate", description=GENERATE_HELP)
    add_model_flag(g)
    g.add_argument("--input", required=True, help="reports to draft impressions for")
    g.add_argument("--output", required=True, help="predictions JSONL to write")
    add_draft_flags(g)
    g.add_argument(
        "--mbr",
        action="store_true",
        help="choose by minimum Bayes risk (ROUGE-L) among beams and the neighbours' impressions "
        "(neural models only)",
    )
    g.add_argument(
        "--recommend",
        action="store_true",
        help="append the guideline follow-up the findings call for (Fleischner 2017 for "
        "pulmonary nodules, CT for a nodule first seen on a radiograph, ...)",
    )
    g.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    drafter = Drafter.from_model_dir(
        args.model,
        backend=args.backend,
        safety_checks=not args.no_safety_checks,
        safe_select=not args.no_safe_select,
        recommend=args.recommend,
        fallback=not args.no_fallback,
    )
    options = draft_options(args)
    try:
        drafter.validate(options)
    except InvalidRequest as e:
        raise InputError(str(e)) from None
    reports, rejects = load_inputs(args.input)
    drafter.model.progress = False  # one bar for the whole file, below
    start = time.perf_counter()
    rows = []
    with tqdm(total=len(reports), desc="draft", unit="report") as bar:
        for s in range(0, len(reports), CHUNK):
            for result in drafter.draft(reports[s : s + CHUNK], options):
                rows.append(result_row(result, args.num_candidates))
            bar.update(min(CHUNK, len(reports) - s))
    seconds = time.perf_counter() - start
    write_jsonl(args.output, rows)
    rejected = write_rejects(args.output, rejects)  # nothing is lost: each kept with its reason
    if rejected:
        print(f"{len(rejects)} record(s) not drafted -> {rejected}", file=sys.stderr)
    rate = len(reports) / seconds if seconds > 0 else float("inf")
    info = drafter.info
    flagged = sum(1 for r in rows if r["warnings"])
    print(
        f"generated {len(rows)} impressions with {info.name} ({info.kind}, {drafter.runs_on}) "
        f"in {seconds:.2f}s ({rate:.1f} reports/s, {args.threads} thread(s)); "
        f"{flagged} with safety warnings -> {args.output}"
    )
    return 0


def result_row(result: DraftResult, num_candidates: int) -> dict:
    """One line of a predictions file (`generate` and `batch` write the same)."""
    row = {
        "id": result.report_id,
        "prediction": result.impression,
        "warnings": [w.model_dump() for w in result.warnings_for(0)],
    }
    if num_candidates > 1:
        # every alternative with its own warnings: a reviewer who takes the second
        # candidate must see that it leaves out the free air as the first one does
        row["candidates"] = result.candidates
        row["candidate_warnings"] = [
            [w.model_dump() for w in result.warnings_for(i)] for i in range(len(result.candidates))
        ]
    return row


def add_draft_flags(parser: argparse.ArgumentParser) -> None:
    """The drafting flags `generate` and `batch` share: one meaning, one help text."""
    parser.add_argument("--num-candidates", type=int, default=1, help="candidates per report")
    parser.add_argument("--num-beams", type=int, help="beam width, 1 = greedy (neural models only)")
    parser.add_argument(
        "--max-new-tokens", type=int, help="longest draft in tokens (neural models only)"
    )
    parser.add_argument(
        "--length-penalty", type=float, help="beam length penalty (neural models only)"
    )
    parser.add_argument(
        "--no-safe-select",
        action="store_true",
        help="keep the model's order even when its first candidate has a high-severity warning",
    )
    parser.add_argument(
        "--no-fallback",
        action="store_true",
        help="when every candidate has a high-severity warning, keep the model's first instead "
        "of the findings' own sentences (to score the model's own drafts)",
    )
    parser.add_argument(
        "--no-safety-checks",
        action="store_true",
        help="skip the safety checks (and safe selection)",
    )
    add_backend_flag(parser)


def draft_options(args: argparse.Namespace) -> DraftOptions:
    """The DraftOptions of the flags `add_draft_flags` (and generate's --mbr) added."""
    return DraftOptions(
        num_candidates=args.num_candidates,
        num_beams=args.num_beams,
        max_new_tokens=args.max_new_tokens,
        length_penalty=args.length_penalty,
        mbr=True if getattr(args, "mbr", False) else None,
    )


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="neural models: ctranslate2 (the copy `radimpress export` made), hf (transformers), "
        "or auto: the CTranslate2 copy when the folder has one",
    )
