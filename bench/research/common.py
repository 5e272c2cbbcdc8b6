"""Shared helpers for the research probes: the Open-i split and ROUGE scoring.

The split mirrors `radimpress dataset build` defaults (seed 13, 10 % validation,
10 % test of the trainable pairs). Until the dataset module exists we shuffle
uids with random.Random(13); the probes print which split they used.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from radimpress.records import Report

CSV = Path(__file__).resolve().parents[2] / "../shared/datasets/openi/reports.csv"


def openi_reports() -> list[Report]:
    if not CSV.exists():
        sys.exit(
            f"skipped: {CSV} not found (the Open-i working copy lives in ../shared/datasets/openi)"
        )
    out = []
    with CSV.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            r = Report(
                id=row["uid"],
                findings=row["findings"] or "",
                impression=row["impression"] or None,
                source=f"reports.csv:{row['uid']}",
                exam=row["image"] or None,
                indication=row["indication"] or None,
                comparison=row["comparison"] or None,
            )
            if r.trainable:
                out.append(r)
    return out


def split(reports: list[Report], seed: int = 13, val: float = 0.1, test: float = 0.1):
    """Fallback split (uid shuffle) used before the dataset module existed."""
    rs = sorted(reports, key=lambda r: int(r.id))
    random.Random(seed).shuffle(rs)
    n_test, n_val = round(len(rs) * test), round(len(rs) * val)
    return rs[n_test + n_val :], rs[n_test : n_test + n_val], rs[:n_test]


def dataset_split(out_dir: str | Path = "/tmp/radimpress_openi_ds"):
    """(train, validation, test) exactly as `radimpress dataset build` defaults make them.

    The CSV is converted to Report JSONL here (uid -> id, image -> exam) because
    the ingest stage may not read this flat export; the split itself is the
    dataset module's (seed 13, 10 % / 10 %, hash-based).
    """
    from radimpress.dataset.build import build_dataset_files
    from radimpress.records import read_reports, write_jsonl

    out = Path(out_dir)
    if not (out / "train.jsonl").exists():
        rows = []
        with CSV.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.append(
                    Report(
                        id=row["uid"],
                        findings=row["findings"] or "",
                        impression=row["impression"] or None,
                        source=f"reports.csv:{row['uid']}",
                        exam=row["image"] or None,
                        indication=row["indication"] or None,
                        comparison=row["comparison"] or None,
                    )
                )
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / "reports.jsonl", rows)
        build_dataset_files([out / "reports.jsonl"], out)
    return tuple(read_reports(out / f"{s}.jsonl") for s in ("train", "validation", "test"))


def rouge(preds: list[str], refs: list[str]) -> dict[str, float]:
    from rouge_score import rouge_scorer

    sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=False)
    tot = {k: 0.0 for k in ("rouge1", "rouge2", "rougeL", "rougeLsum")}
    for p, r in zip(preds, refs, strict=True):
        s = sc.score(r, p)
        for k in tot:
            tot[k] += s[k].fmeasure
    return {k: round(100 * v / len(preds), 2) for k, v in tot.items()}
