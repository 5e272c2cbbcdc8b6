"""`radimpress batch`: draft an archive on a Ray cluster (or a local Ray), resumably."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from radimpress.cli_flags import add_model_flag
from radimpress.drafting.cli import add_draft_flags, draft_options
from radimpress.records import InputError


def cmd_batch(args: argparse.Namespace) -> int:
    try:
        from radimpress.drafting import batch  # optional extra: radimpress[ray]
    except ImportError:
        raise InputError("radimpress batch needs Ray Data: pip install 'radimpress[ray]'") from None
    options = {k: v for k, v in asdict(draft_options(args)).items() if v is not None}
    job = batch.BatchJob(
        model=args.model,
        input=args.input,
        output=args.output,
        address=args.ray,
        actors=args.actors,
        threads=args.threads_per_actor,
        gpus_per_actor=args.gpus_per_actor,
        batch_size=args.batch_size,
        shard_rows=args.shard_rows,
        format=args.format,
        backend=args.backend,
        safety_checks=not args.no_safety_checks,
        safe_select=not args.no_safe_select,
        fallback=not args.no_fallback,
        options=options,
    )
    s = batch.run(job)
    print(
        f"drafted {s['drafted']} reports with {s['actors']} actor(s) in {s['seconds']}s "
        f"({s['reports_per_second']} reports/s); {s['already_drafted']} were already drafted, "
        f"{s['total_drafted']} in {s['shards']} shard(s), {s['rejected']} rejected "
        f"-> {args.output} (summary.json)"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="draft a whole archive on a Ray cluster (or a local Ray), resumably",
        description="Reads INPUT (a JSONL file of reports with id and findings, a Parquet file, or "
        "a folder of either) in blocks with Ray Data; each actor loads the model once and drafts "
        "through the same path as `radimpress generate` (same rows). Writes OUTPUT/part-*.jsonl "
        "(or .parquet) shards, OUTPUT/rejects/ for unusable records and OUTPUT/summary.json. "
        "A re-run skips the ids that finished shards hold, so a killed run resumes.",
        epilog="On a cluster: `ray start --head` on one machine, `ray start --address HEAD:6379` "
        "on the others, every machine with radimpress installed and the model folder, input and "
        "output on a shared filesystem; then `radimpress batch --ray HEAD:6379 ...`.",
    )
    add_model_flag(p)
    p.add_argument("--input", required=True, help="reports: .jsonl, .parquet, or a folder of them")
    p.add_argument("--output", required=True, help="folder of prediction shards (created)")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="a running Ray cluster (HOST:PORT, or 'auto'); default: start a local Ray",
    )
    p.add_argument(
        "--actors",
        type=int,
        help="model copies drafting in parallel (default: the cluster's CPUs / threads per actor)",
    )
    p.add_argument("--threads-per-actor", type=int, default=1, help="CPU threads of each actor")
    p.add_argument(
        "--gpus-per-actor", type=float, default=0.0, help="GPUs of each actor (e.g. 1, or 0.5)"
    )
    p.add_argument("--batch-size", type=int, default=64, help="reports per actor call")
    p.add_argument("--shard-rows", type=int, default=256, help="reports per output shard, at least")
    p.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl", help="shard format")
    add_draft_flags(p)
    p.set_defaults(func=cmd_batch)
