"""`radimpress dataset build`: ingested reports -> clean, split training set."""

from __future__ import annotations

import argparse

from radimpress.cli_flags import flag_values, output_folder
from radimpress.dataset.build import DatasetOptions, build_dataset_files, summary_lines
from radimpress.dataset.clean import DEFAULT_PLACEHOLDER
from radimpress.dataset.split import GROUP_BY_CHOICES


def cmd_build(args: argparse.Namespace) -> int:
    options = DatasetOptions(**flag_values(DatasetOptions, args))
    inputs = [p for group in args.input for p in group]
    result = build_dataset_files(inputs, args.out, options)
    for line in summary_lines(result.manifest):
        print(line)
    print(f"wrote {args.out}/{{train,validation,test}}.jsonl and manifest.json")
    if not result.splits["train"]:
        print("error: no trainable report (every report lacks findings or impression)")
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    b = dsub.add_parser(
        "build",
        help="clean, dedupe-count and split reports into train/validation/test",
        description="Reads one or more Report JSONL files (reports.jsonl from `radimpress ingest`, "
        "or its folder); writes OUT/train.jsonl, OUT/validation.jsonl, OUT/test.jsonl (trainable "
        "pairs only), OUT/untrainable.jsonl (no impression), OUT/rejects.jsonl (repeated ids) and "
        "OUT/manifest.json (counts, options, seed, sha256 of inputs and outputs). Same inputs and "
        "options give byte-identical split files.",
    )
    b.add_argument(
        "--input",
        required=True,
        nargs="+",
        action="append",
        help="reports JSONL (or ingest output folder); repeatable",
    )
    b.add_argument("--out", required=True, type=output_folder, help="dataset folder to write")
    b.add_argument("--seed", type=int, default=13, help="split seed (default 13)")
    b.add_argument("--val-frac", type=float, default=0.1, help="validation fraction (default 0.1)")
    b.add_argument("--test-frac", type=float, default=0.1, help="test fraction (default 0.1)")
    b.add_argument(
        "--dedupe",
        action="store_true",
        help="drop exact duplicate findings/impression pairs, keeping the first "
        "(default: keep and count them)",
    )
    b.add_argument(
        "--placeholder",
        default=DEFAULT_PLACEHOLDER,
        help="token replacing de-identification markers XXXX, ___, [**...**] "
        f"(default {DEFAULT_PLACEHOLDER})",
    )
    b.add_argument(
        "--strip-numbering",
        action="store_true",
        help="remove '1.' '2.' item markers from impressions (items stay one per line)",
    )
    b.add_argument(
        "--group-by",
        default="auto",
        choices=GROUP_BY_CHOICES,
        help="keep a patient's or study's reports in one split; auto = patient_id, "
        "else study_id, else each report alone (default auto)",
    )
    b.set_defaults(func=cmd_build)
