"""`radimpress train` and `radimpress generate`."""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from radimpress.records import InputError, Report, read_reports, write_jsonl


def _data_manifest_hash(data_dir: Path) -> str | None:
    manifest = data_dir / "manifest.json"
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.exists() else None


def load_split(data_dir: str | Path, split: str) -> list[Report]:
    """Read one split written by `radimpress dataset build`."""
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.exists():
        raise InputError(f"{path}: split not found (run `radimpress dataset build` first)")
    return read_reports(path)


def load_inputs(path: str | Path) -> list[Report]:
    """Reports to generate for: a radimpress JSONL, or anything `radimpress ingest` reads."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.suffix == ".jsonl":
        return read_reports(path)
    from radimpress.ingest import ingest_paths

    result = ingest_paths([path])
    if not result.reports:
        raise InputError(f"{path}: no usable report ({len(result.rejects)} rejected)")
    return result.reports


def cmd_train(args: argparse.Namespace) -> int:
    from radimpress.models.base import model_class

    data = Path(args.data)
    train = load_split(data, "train")
    cls = model_class(args.model)
    model = cls(consensus_k=args.consensus_k) if args.model == "retrieval" else cls()
    start = time.perf_counter()
    metrics = model.fit(train)
    seconds = time.perf_counter() - start
    model.save(
        args.out,
        extra={"data": str(data), "data_manifest_sha256": _data_manifest_hash(data),
               "train_seconds": round(seconds, 3), "train_metrics": metrics},
    )
    print(f"trained {args.model} on {metrics.get('train_pairs', len(train))} pairs in {seconds:.1f}s -> {args.out}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from radimpress.models.base import load_model

    model = load_model(args.model)
    reports = load_inputs(args.input)
    start = time.perf_counter()
    candidates = model.generate(reports, num_candidates=args.num_candidates)
    seconds = time.perf_counter() - start
    rows = []
    for report, cands in zip(reports, candidates, strict=True):
        row = {"id": report.id, "prediction": cands[0] if cands else ""}
        if args.num_candidates > 1:
            row["candidates"] = cands
        rows.append(row)
    write_jsonl(args.output, rows)
    rate = len(reports) / seconds if seconds > 0 else float("inf")
    print(f"generated {len(rows)} impressions in {seconds:.2f}s ({rate:.1f} reports/s) -> {args.output}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from radimpress.models.base import model_kinds

    p = sub.add_parser(
        "train",
        help="fit a model on a dataset's train split",
        description="Reads DATA/train.jsonl (from `radimpress dataset build`); writes a model "
        "folder OUT with weights and radimpress.json.",
    )
    p.add_argument("--model", default="retrieval", choices=model_kinds(), help="model kind")
    p.add_argument("--data", required=True, help="dataset folder from `radimpress dataset build`")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--consensus-k", type=int, default=1,
                   help="retrieval: choose among the top k neighbours by agreement (1 = nearest)")
    p.set_defaults(func=cmd_train)

    g = sub.add_parser(
        "generate",
        help="draft impressions for findings with a saved model",
        description="Reads INPUT (JSONL with id and findings, or any format `radimpress ingest` "
        "reads); writes OUTPUT as JSONL with id and prediction.",
    )
    g.add_argument("--model", required=True, help="model folder from `radimpress train`")
    g.add_argument("--input", required=True, help="reports to draft impressions for")
    g.add_argument("--output", required=True, help="predictions JSONL to write")
    g.add_argument("--num-candidates", type=int, default=1, help="candidates per report")
    g.set_defaults(func=cmd_generate)
