"""Turn ingested reports into a clean, split, documented training set.

The split files are the contract with training and evaluation, so they must be
reproducible byte for byte: same inputs and options give the same files, and
the manifest records everything needed to tell two datasets apart (options,
seed, sha256 of every input and output). Nothing is dropped silently: reports
without an impression go to ``untrainable.jsonl`` (ingest keeps them for
inference), records with a repeated id go to ``rejects.jsonl``.

Python use (the demo and benchmarks call this without the CLI)::

    from radimpress.dataset import DatasetOptions, build_dataset, build_dataset_files
    result = build_dataset(reports, DatasetOptions(seed=13))
    result.splits["test"], result.manifest
    build_dataset_files(["reports.jsonl"], "data/", DatasetOptions())  # reads and writes
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radimpress import __version__
from radimpress.dataset.clean import DEFAULT_PLACEHOLDER, CleanOptions, CleanStats, clean_report
from radimpress.dataset.split import SPLITS, assign_splits
from radimpress.records import Reject, Report, jsonl_in_folder, read_jsonl, write_jsonl


@dataclass
class DatasetOptions:
    """Every choice that changes the split files; all of it lands in the manifest."""

    seed: int = 13
    val_frac: float = 0.1
    test_frac: float = 0.1
    dedupe: bool = False
    placeholder: str = DEFAULT_PLACEHOLDER
    strip_numbering: bool = False
    group_by: str = "auto"

    @property
    def cleaning(self) -> CleanOptions:
        """The part of the options inference must repeat (saved with every model)."""
        return CleanOptions(placeholder=self.placeholder, strip_numbering=self.strip_numbering)


@dataclass
class DatasetBuild:
    """What `build_dataset` produced: the splits plus everything kept out of them."""

    splits: dict[str, list[Report]]
    manifest: dict[str, Any]
    untrainable: list[Report] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def _pair_key(report: Report) -> tuple[str, str]:
    return (report.findings, report.impression or "")


def build_dataset(
    reports: Sequence[Report],
    options: DatasetOptions | None = None,
    *,
    inputs: Sequence[dict[str, Any]] = (),
) -> DatasetBuild:
    """Clean, filter, optionally dedupe and split ``reports`` (kept in input order).

    ``inputs`` (path/sha256 entries) is only copied into the manifest.
    """
    options = options or DatasetOptions()
    stats = CleanStats()
    seen_ids: dict[str, str] = {}
    rejects: list[Reject] = []
    untrainable: list[Report] = []
    trainable: list[Report] = []
    for report in reports:
        if report.id in seen_ids:
            rejects.append(
                Reject(
                    source=report.source,
                    location=f"id {report.id}",
                    reason=f"duplicate id (first seen at {seen_ids[report.id] or 'an earlier record'})",
                    excerpt=report.findings[:80],
                )
            )
            continue
        seen_ids[report.id] = report.source
        cleaned = clean_report(report, options.cleaning, stats)
        (trainable if cleaned.trainable else untrainable).append(cleaned)

    # Exact duplicates after cleaning: normal reports repeat verbatim in real archives.
    first_of: dict[tuple[str, str], str] = {}
    duplicates: list[Report] = []
    unique: list[Report] = []
    for report in trainable:
        key = _pair_key(report)
        if key in first_of:
            duplicates.append(report)
        else:
            first_of[key] = report.id
            unique.append(report)
    kept = unique if options.dedupe else trainable
    counts_by_pair: dict[tuple[str, str], int] = {}
    for report in trainable:
        counts_by_pair[_pair_key(report)] = counts_by_pair.get(_pair_key(report), 0) + 1
    most_repeated = sorted(
        ((n, k) for k, n in counts_by_pair.items() if n > 1), key=lambda t: (-t[0], t[1])
    )[:5]

    splits, split_info = assign_splits(
        kept,
        seed=options.seed,
        val_frac=options.val_frac,
        test_frac=options.test_frac,
        group_by=options.group_by,
    )
    train_pairs = {_pair_key(r) for r in splits["train"]}
    manifest: dict[str, Any] = {
        "radimpress_version": __version__,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": list(inputs),
        "options": dataclasses.asdict(options),
        "counts": {
            "read": len(reports),
            "duplicate_ids_rejected": len(rejects),
            "untrainable": len(untrainable),
            "trainable": len(trainable),
            "exact_duplicate_pairs": len(duplicates),
            "distinct_pairs_repeated": sum(1 for n in counts_by_pair.values() if n > 1),
            "duplicates_removed": len(duplicates) if options.dedupe else 0,
            "in_splits": len(kept),
            **{s: len(splits[s]) for s in SPLITS},
        },
        "leakage": {
            # Identical pairs in test and train are legitimate (different patients, same
            # normal report) but they make retrieval look strong; report, don't hide.
            "test_pairs_also_in_train": sum(
                1 for r in splits["test"] if _pair_key(r) in train_pairs
            ),
            "validation_pairs_also_in_train": sum(
                1 for r in splits["validation"] if _pair_key(r) in train_pairs
            ),
        },
        "most_repeated_pairs": [
            {"count": n, "findings": k[0][:200], "impression": k[1][:200]} for n, k in most_repeated
        ],
        "cleaning": stats.to_dict(),
        "split": split_info,
    }
    return DatasetBuild(splits=splits, manifest=manifest, untrainable=untrainable, rejects=rejects)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve_input(path: str | Path) -> Path:
    """Accept a reports JSONL or an ingest output folder holding ``reports.jsonl``."""
    return jsonl_in_folder(path, "reports.jsonl", "run `radimpress ingest` first")


def read_inputs(paths: Sequence[str | Path]) -> tuple[list[Report], list[dict[str, Any]]]:
    """Read every input JSONL; return reports and the manifest's input entries."""
    reports: list[Report] = []
    entries: list[dict[str, Any]] = []
    for raw in paths:
        path = resolve_input(raw)
        before = len(reports)
        for no, obj in read_jsonl(path):
            report = Report.from_dict(obj, f"{path}:{no}")
            if not report.source:
                report.source = f"{path.name}:{no}"
            reports.append(report)
        entries.append(
            {"path": str(path), "sha256": sha256_file(path), "reports": len(reports) - before}
        )
    return reports, entries


def write_dataset(result: DatasetBuild, out_dir: str | Path) -> dict[str, Path]:
    """Write the split files, the kept-out records and the manifest; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for split in SPLITS:
        paths[split] = out / f"{split}.jsonl"
        write_jsonl(paths[split], result.splits[split])
    paths["untrainable"] = out / "untrainable.jsonl"
    write_jsonl(paths["untrainable"], result.untrainable)
    paths["rejects"] = out / "rejects.jsonl"
    write_jsonl(paths["rejects"], result.rejects)
    result.manifest["files"] = {
        p.name: {"sha256": sha256_file(p), "lines": n}
        for p, n in (
            (paths[k], len(v))
            for k, v in (
                *((s, result.splits[s]) for s in SPLITS),
                ("untrainable", result.untrainable),
                ("rejects", result.rejects),
            )
        )
    }
    paths["manifest"] = out / "manifest.json"
    tmp = paths["manifest"].with_name("manifest.json.tmp")
    tmp.write_text(
        json.dumps(result.manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    tmp.replace(paths["manifest"])
    return paths


def build_dataset_files(
    inputs: Sequence[str | Path], out_dir: str | Path, options: DatasetOptions | None = None
) -> DatasetBuild:
    """Read inputs, build, write everything to ``out_dir``; what `radimpress dataset build` does."""
    reports, entries = read_inputs(inputs)
    result = build_dataset(reports, options, inputs=entries)
    write_dataset(result, out_dir)
    return result


def summary_lines(manifest: dict[str, Any]) -> list[str]:
    """A short human summary of a manifest, for the terminal."""
    c = manifest["counts"]
    opts = manifest["options"]
    lines = [
        f"read {c['read']} reports: {c['trainable']} trainable, {c['untrainable']} without impression "
        f"(-> untrainable.jsonl), {c['duplicate_ids_rejected']} duplicate ids (-> rejects.jsonl)",
        f"exact duplicate pairs: {c['exact_duplicate_pairs']} "
        + ("(removed, --dedupe)" if opts["dedupe"] else "(kept; --dedupe removes them)"),
        f"split (seed {opts['seed']}; "
        + ", ".join(f"{n} {k} groups" for k, n in manifest["split"]["group_kinds"].items())
        + "): "
        + ", ".join(f"{s} {c[s]}" for s in SPLITS),
        f"test pairs identical to a train pair: {manifest['leakage']['test_pairs_also_in_train']}",
        f"cleaning changed {manifest['cleaning']['fields_changed']} fields "
        f"({manifest['cleaning']['deid_markers_found']} de-identification markers written as "
        f"{opts['placeholder']!r}, {manifest['cleaning']['punctuation_runs_collapsed']} punctuation runs)",
    ]
    if manifest["split"]["moved_to_fill_empty_split"]:
        lines.append(f"note: tiny input; moved {manifest['split']['moved_to_fill_empty_split']}")
    return lines
