"""How the hybrid's choice model is sized: cross-validation on its own training rows.

    python bench/choice_cv.py [--folds 5] [--splits 1,2,3,4] [--force]

The hybrid's scorer learns from out-of-fold training pairs and the validation
split (`HybridModel.choice_rows`). Comparing scorer settings on the test split
would tune on it, so this splits those rows by report into folds instead,
trains each setting (scorer options, or a feature group left out) on the other
folds and drafts the held-out fold's reports the way the drafting path does
(the scorer's order, then the first of its top 3 without a high-severity
safety warning). It reports mean ROUGE-L per setting,
the paired difference to the first setting with a bootstrap interval, the
reranker's own first choice (out of fold), and the pool's ceiling.

One test split of 297 reports is too small to settle a few tenths, so each
setting is also scored on the test splits of other random splits of Open-i
(`--splits`, dataset seeds), the recipe retrained on each. The rows of each
split are built once (about two minutes) and kept in --work, and rebuilt when
the hybrid's feature list changes.
Writes `## Choice cross-validation (Open-i)`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from radimpress.drafting import SAFE_POOL  # the drafting path's safe selection reads this many
from radimpress.evaluate.stats import bootstrap_indices, paired_bootstrap
from radimpress.models.hybrid import FEATURES, RELATIVE, STOCK_FEATURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_no_write_flag, publish  # noqa: E402
from quality import OPENI, prepare_data  # noqa: E402

# Scorer settings compared, as overrides of the hybrid recipe's `choice` options (and `without`:
# feature columns left out, the candidates unchanged); the first is the reference of the differences.
BELOW_BEST = tuple(f"{name}_below_best" for name in RELATIVE)
SETTINGS: dict[str, dict] = {
    "regret, 7 leaves, 400 iterations (before)": {"objective": "regret", "max_iter": 400},
    "lambdarank (the recipe now)": {},
    "lambdarank, 400 iterations": {"max_iter": 400},
    "lambdarank, 100 iterations": {"max_iter": 100},
    "lambdarank, 5 leaves": {"max_leaf_nodes": 5},
    "lambdarank, 15 leaves": {"max_leaf_nodes": 15},
    "lambdarank, truncation 20 (the whole pool)": {"truncation": 20},
    "lambdarank, 10 relevance levels": {"relevance_levels": 10},
    "lambdarank, 100 relevance levels": {"relevance_levels": 100},
    "lambdarank, without relative features": {"without": BELOW_BEST},
    "lambdarank, without stock-phrase features": {
        "without": (*STOCK_FEATURES, "stock_prob_below_best"),
    },
    "regret, 31 leaves, 400 iterations": {
        "objective": "regret",
        "max_leaf_nodes": 31,
        "max_iter": 400,
    },
}


def columns(setting: dict) -> np.ndarray:
    """The feature columns a setting's scorer reads."""
    without = set(setting.get("without", ()))
    return np.asarray([i for i, name in enumerate(FEATURES) if name not in without])


def split_data(seed: int, work: Path) -> Path:
    """The quality benchmark's split (seed 13), or the same build with another seed."""
    if seed == 13:
        return prepare_data(ROOT / "runs" / "bench-quality")
    from radimpress.dataset import DatasetOptions, build_dataset, write_dataset
    from radimpress.ingest import ingest_paths

    data = work / f"split-{seed}"
    if not (data / "manifest.json").exists():
        reports = ingest_paths([OPENI]).reports
        write_dataset(build_dataset(reports, DatasetOptions(seed=seed)), data)
    return data


def build_rows(data: Path, rows_file: Path) -> None:
    """The choice's training rows and the test split's candidate rows of one split."""
    from radimpress.models.base import trainable
    from radimpress.models.features import rouge_l_f, rouge_tokens
    from radimpress.models.recipes import load_recipe
    from radimpress.models.training.data import TrainingData, load_split
    from radimpress.models.training.hybrid import HybridTraining

    step = HybridTraining(load_recipe("hybrid"), TrainingData.from_folder(data))
    step.setup()
    fitted_on = step.fit_parts()
    rows = step.model.choice_rows(fitted_on, step.data.validation)
    test = trainable(load_split(data, "test"))
    stock = step.model.stock_probs(test)
    pools = step.model.pools(test, stock=stock)
    y_test = [
        rouge_l_f(c.tokens, rouge_tokens(r.impression or ""))
        for r, p in zip(test, pools, strict=True)
        for c in p
    ]
    np.savez(
        rows_file,
        x=rows.x,
        y=rows.y,
        groups=rows.groups,
        validation_from=rows.validation_from,
        x_test=step.model.features(test, pools, stock=stock),
        y_test=np.asarray(y_test),
        groups_test=np.repeat(np.arange(len(pools)), [len(p) for p in pools]),
        features=np.asarray(FEATURES),
    )


def picks(scores: np.ndarray, y: np.ndarray, groups: np.ndarray, high: np.ndarray) -> np.ndarray:
    """ROUGE-L of the candidate each report would get: the scorer's order, then safe selection."""
    out = []
    for q in np.unique(groups):
        idx = np.flatnonzero(groups == q)
        order = idx[np.lexsort((idx, -scores[idx]))]
        clean = [i for i in order[:SAFE_POOL] if not high[i] > 0]
        out.append(y[clean[0] if clean else order[0]])
    return np.asarray(out)


def overall_and_abnormal(per_report: np.ndarray, abnormal: np.ndarray) -> tuple[float, float]:
    return 100 * float(per_report.mean()), 100 * float(per_report[abnormal].mean())


def load_rows(seed: int, work: Path, force: bool) -> dict[str, np.ndarray]:
    rows_file = work / f"rows-{seed}.npz"
    if not force and rows_file.exists():
        rows = dict(np.load(rows_file))
        if list(rows.get("features", [])) == list(FEATURES):
            return rows
        print(f"{rows_file}: built with other features; rebuilding", flush=True)
    build_rows(split_data(seed, work), rows_file)
    return dict(np.load(rows_file))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--splits", default="1,2,3,4", help="dataset seeds of the other splits (besides 13)"
    )
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench-choice-cv"))
    ap.add_argument("--force", action="store_true", help="rebuild the rows")
    add_no_write_flag(ap)
    args = ap.parse_args(argv)
    if not OPENI.exists():
        print(f"skipped: {OPENI} not found (the Open-i working copy lives in ../shared)")
        return 0
    from radimpress.evaluate.clinical import reference_groups
    from radimpress.models.base import trainable
    from radimpress.models.hybrid import ChoiceRows, fit_choice, group_max
    from radimpress.models.recipes import load_recipe
    from radimpress.models.training.data import load_split
    from radimpress.threads import configure_threads

    threads = configure_threads(2)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    high = FEATURES.index("warn_high")
    rank = FEATURES.index("rerank_rank")

    recipe_choice = load_recipe("hybrid").choice

    def fit(r: ChoiceRows, setting: dict) -> object:
        options = recipe_choice.model_copy(
            update={k: v for k, v in setting.items() if k != "without"}
        )
        return fit_choice(options, r.x[:, columns(setting)], r)

    # -- cross-validation on the quality split's own training rows ----------------------
    saved = load_rows(13, work, args.force)
    rows = ChoiceRows(saved["x"], saved["y"], saved["groups"], int(saved["validation_from"]))
    x, y, g = rows.x, rows.y, rows.groups
    fold = np.random.default_rng(0).integers(0, args.folds, size=int(g.max()) + 1)[g]
    got: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for name, override in SETTINGS.items():
        start = time.perf_counter()
        scores = np.empty(len(y))
        for k in range(args.folds):
            test = fold == k
            scorer = fit(ChoiceRows(x[~test], y[~test], g[~test], 0), override)
            scores[test] = scorer.predict(x[test][:, columns(override)])
        got[name] = picks(scores, y, g, x[:, high])
        seconds[name] = time.perf_counter() - start
        print(f"cv {name}: {100 * got[name].mean():.2f}", flush=True)
    rerank_first = picks(-np.nan_to_num(x[:, rank], nan=99), y, g, x[:, high])
    oracle = group_max(y, g)[rows.starts()[:-1]]

    # -- the test split of the quality split and of other splits --------------------------
    seeds = [13, *(int(v) for v in args.splits.split(",") if v.strip())]
    on_test: dict[str, dict[int, tuple[float, float]]] = {
        name: {} for name in [*SETTINGS, "reranker's first"]
    }
    for seed in seeds:
        r = load_rows(seed, work, args.force)
        train = ChoiceRows(r["x"], r["y"], r["groups"], int(r["validation_from"]))
        xt, yt, gt = r["x_test"], r["y_test"], r["groups_test"]
        test = trainable(load_split(split_data(seed, work), "test"))
        abnormal = np.asarray(reference_groups([t.impression for t in test])) == "abnormal"

        for name, override in SETTINGS.items():
            scored = fit(train, override).predict(xt[:, columns(override)])
            got_test = picks(scored, yt, gt, xt[:, high])
            on_test[name][seed] = overall_and_abnormal(got_test, abnormal)
        first = picks(-np.nan_to_num(xt[:, rank], nan=99), yt, gt, xt[:, high])
        on_test["reranker's first"][seed] = overall_and_abnormal(first, abnormal)
        print(
            f"split {seed}: " + ", ".join(f"{v[seed][0]:.2f}" for v in on_test.values()), flush=True
        )

    reports = int(g.max()) + 1
    base_name = next(iter(SETTINGS))
    others = seeds[1:]
    lines = [
        f"The hybrid's choice rows on the quality benchmark's split (dataset seed 13): {reports} "
        f"reports ({rows.validation_from} out-of-fold training pairs, "
        f"{reports - rows.validation_from} validation), {len(y)} candidates. "
        f"{args.folds} folds by report (the test split is not used); each report's draft is "
        f"the scorer's first candidate, or the first of its top {SAFE_POOL} without a "
        "high-severity warning, as the drafting path does. ROUGE-L F1 ×100; Δ against the "
        f"first row, paired over reports, 95% bootstrap interval. {threads} threads.",
        "",
        "| scorer | ROUGE-L (cross-validation) | Δ vs first row [95% CI] | fit s (all folds) |",
        "|---|---:|---|---:|",
    ]
    resamples = bootstrap_indices(reports, 1000, seed=0)
    for name, vals in got.items():
        d = paired_bootstrap(100 * got[base_name], 100 * vals, resamples)
        delta = (
            "—"
            if name == base_name
            else f"{d['diff']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
        )
        lines.append(f"| {name} | {100 * vals.mean():.2f} | {delta} | {seconds[name]:.0f} |")
    lines += [
        "",
        f"For scale: the reranker's own first choice (out of fold) {100 * rerank_first.mean():.2f};"
        f" the best candidate of each pool (the ceiling of any choice) {100 * oracle.mean():.2f}.",
        "",
        "Test splits: the same recipe trained on the quality split and on "
        f"{len(others)} other splits of Open-i (`dataset build --seed S`, same fractions), each "
        "setting's scorer fitted on all of that split's choice rows, drafts of its test split "
        "scored as above. The mean of the other splits is the fairer test of a setting: seed 13 "
        "is the split the quality table reports.",
        "",
        "| scorer | " + " | ".join(f"seed {s}" for s in seeds) + " | mean of other splits |",
        "|---|" + "---:|" * (len(seeds) + 1),
    ]

    def mean(per: dict[int, tuple[float, float]], which: list[int]) -> tuple[float, float]:
        return (
            float(np.mean([per[s][0] for s in which])),
            float(np.mean([per[s][1] for s in which])),
        )

    for name, per in on_test.items():
        cells = " | ".join(f"{per[s][0]:.2f} / {per[s][1]:.2f}" for s in seeds)
        m = mean(per, others) if others else (float("nan"), float("nan"))
        lines.append(f"| {name} | {cells} | {m[0]:.2f} / {m[1]:.2f} |")
    now = next(name for name in SETTINGS if "recipe now" in name)
    recipe, first = mean(on_test[now], seeds), mean(on_test["reranker's first"], seeds)
    lines += [
        "",
        f"Cells: overall / abnormal references. The recipe's setting ({now}) against the "
        f"reranker's first choice, mean over all {len(seeds)} splits: "
        f"{recipe[0] - first[0]:+.2f} overall, {recipe[1] - first[1]:+.2f} on abnormal references.",
    ]
    publish("Choice cross-validation (Open-i)", "\n".join(lines), not args.no_benchmarks_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
