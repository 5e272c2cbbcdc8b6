"""How much of a recipe's Open-i score is its seed: train each recipe with several seeds.

    python bench/seed_spread.py [--recipes rerank,hybrid] [--seeds 13,1,2] [--threads 2]

The quality benchmark trains each recipe once, with seed 13. The reranker ends in
gradient boosting whose early stopping holds out a random tenth of the training
rows, and which bins its features by quantiles; the hybrid's choice learns from
out-of-fold scores whose folds the seed draws (the reranker's and the stock-phrase
classifier's). So a seed (or a change of the last bit of a feature) moves the test
score. This trains each recipe once per
seed on the quality benchmark's split (`radimpress train --set ...seed=S`), drafts
the test split, and reports ROUGE-L overall and on the abnormal references per seed,
with the mean and range, and the paired difference of the first recipe to each other
recipe, seed by seed. Writes the `## Seed spread (Open-i)` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_no_write_flag, publish  # noqa: E402
from quality import OPENI, prepare_data, run_measured  # noqa: E402

# Where each recipe keeps its seed(s), as `--set` paths.
SEED_PATHS = {
    "rerank": ["settings.seed"],
    "hybrid": ["rerank.seed", "choice.seed"],
}


def score(predictions: Path, test: list, groups: list[str]) -> tuple[float, float]:
    """Mean ROUGE-L ×100 overall and on the abnormal references, as `radimpress evaluate` scores."""
    from radimpress.evaluate.rouge import rouge_scores
    from radimpress.records import read_jsonl

    pred = {row["id"]: row["prediction"] for _, row in read_jsonl(predictions)}
    f = 100 * rouge_scores([pred[r.id] for r in test], [r.impression for r in test])["rougeL"]
    abnormal = [x for x, g in zip(f, groups, strict=True) if g == "abnormal"]
    return float(f.mean()), statistics.fmean(abnormal)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--recipes", default="rerank,hybrid", help="the first is the reference")
    ap.add_argument("--seeds", default="13,1,2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench-seed-spread"))
    add_no_write_flag(ap)
    args = ap.parse_args(argv)
    if not OPENI.exists():
        print(f"skipped: {OPENI} not found (the Open-i working copy lives in ../shared)")
        return 0
    recipes = [r for r in args.recipes.split(",") if r]
    unknown = [r for r in recipes if r not in SEED_PATHS]
    if unknown:
        ap.error(f"no seed path known for {unknown}; known: {', '.join(SEED_PATHS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = prepare_data(ROOT / "runs" / "bench-quality")

    from radimpress.evaluate.clinical import reference_groups
    from radimpress.records import read_reports

    test = read_reports(data / "test.jsonl")
    groups = reference_groups([r.impression for r in test])
    cli = [sys.executable, "-m", "radimpress"]
    results: dict[str, dict[int, tuple[float, float]]] = {r: {} for r in recipes}
    for recipe in recipes:
        for seed in seeds:
            out = work / f"{recipe}-seed{seed}"
            out.mkdir(parents=True, exist_ok=True)
            sets = [a for p in SEED_PATHS[recipe] for a in ("--set", f"{p}={seed}")]
            threads = ["--threads", str(args.threads)]
            run_measured(
                [*cli, "train", "--recipe", recipe, *sets, *threads, "--data", str(data)]
                + ["--out", str(out / "model")],
                out / "train.log",
                args.threads,
            )
            run_measured(
                [*cli, "generate", "--model", str(out / "model"), *threads]
                + ["--input", str(data / "test.jsonl"), "--output", str(out / "predictions.jsonl")],
                out / "generate.log",
                args.threads,
            )
            results[recipe][seed] = score(out / "predictions.jsonl", test, groups)
            print(f"{recipe} seed {seed}: ROUGE-L {results[recipe][seed][0]:.2f}", flush=True)

    n_abn = groups.count("abnormal")
    head = " | ".join(f"seed {s}" for s in seeds)
    lines = [
        f"Open-i test split ({len(test)} reports, {n_abn} with an abnormal reference), the "
        f"quality benchmark's split and scoring (ROUGE-L F1 ×100, no stemming); one model per "
        f"recipe and seed, {args.threads} threads. Cells: overall / abnormal references.\n",
        f"| recipe | {head} | mean | range |",
        "|---|" + "---|" * (len(seeds) + 2),
    ]
    for recipe in recipes:
        cells = [f"{results[recipe][s][0]:.2f} / {results[recipe][s][1]:.2f}" for s in seeds]
        overall = [results[recipe][s][0] for s in seeds]
        abn = [results[recipe][s][1] for s in seeds]
        lines.append(
            f"| {recipe} | {' | '.join(cells)} | {statistics.fmean(overall):.2f} / "
            f"{statistics.fmean(abn):.2f} | {min(overall):.2f}–{max(overall):.2f} |"
        )
    ref = recipes[0]
    for recipe in recipes[1:]:
        d = [results[recipe][s][0] - results[ref][s][0] for s in seeds]
        da = [results[recipe][s][1] - results[ref][s][1] for s in seeds]
        cells = [f"{x:+.2f} / {y:+.2f}" for x, y in zip(d, da, strict=True)]
        lines.append(
            f"| {recipe} − {ref} | {' | '.join(cells)} | {statistics.fmean(d):+.2f} / "
            f"{statistics.fmean(da):+.2f} | {min(d):+.2f}–{max(d):+.2f} |"
        )
    body = "\n".join(lines)
    publish("Seed spread (Open-i)", body, write=not args.no_benchmarks_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
