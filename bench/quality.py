"""Impression quality on Open-i: every recipe against both baselines, in one run.

    python bench/quality.py [--systems a,b,...] [--threads 1] [--force]

Ingests ../shared/datasets/openi/reports.csv, builds the default fixed-seed
split, then for each system runs `radimpress train` and `radimpress generate`
as child processes (so wall time and peak memory are per system), evaluates
all systems on the test split (the bootstrap deltas are against the first of
--systems, rerank by default), and replaces the `Quality (Open-i)` section of
BENCHMARKS.md, with the paragraphs of bench/quality_notes.md under the tables.
Each system's model and predictions are kept under --work, so an interrupted
run resumes where it stopped (--force redoes all). Slow systems (the in-context
LLM) run on the first --slow-limit test reports and are compared with the
baselines on that same subset.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_notes_flag, read_notes, replace_section  # noqa: E402

OPENI = ROOT.parent / "shared" / "datasets" / "openi" / "reports.csv"

# name -> (train arguments, whether generation is slow enough to need the subset)
SYSTEMS: dict[str, tuple[list[str], bool]] = {
    "retrieval-consensus": (["--recipe", "retrieval-consensus"], False),
    "constant": (["--model", "constant"], False),
    "retrieval-nearest": (["--model", "retrieval"], False),
    "rerank": (["--recipe", "rerank"], False),
    "hybrid": (["--recipe", "hybrid"], False),
    "hybrid-t5": (["--recipe", "hybrid-t5"], False),
    "t5-scratch-rag": (["--recipe", "t5-scratch-rag"], False),
    "gemma3-270m-icl": (["--recipe", "gemma3-270m-icl"], True),
}
# The first is the reference of every paired difference: the retrieve-and-pick default
# the language-model recipes have to beat.
DEFAULT_SYSTEMS = (
    "rerank,hybrid,retrieval-nearest,retrieval-consensus,constant,t5-scratch-rag,gemma3-270m-icl"
)


def run_measured(cmd: list[str], log: Path, threads: int) -> dict:
    """Run a child process; return wall seconds, peak RSS (MiB) and its stdout."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
    }
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-20:])
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}); log {log}:\n{tail}")
    return {
        "seconds": seconds,
        "peak_mib": usage.ru_maxrss / 1024,
        "output": log.read_text(errors="replace"),
    }


def prepare_data(work: Path) -> Path:
    from radimpress.dataset import DatasetOptions, build_dataset, write_dataset
    from radimpress.ingest import ingest_paths

    data = work / "data"
    if (data / "manifest.json").exists():
        return data
    ingested = ingest_paths([OPENI])
    write_dataset(build_dataset(ingested.reports, DatasetOptions()), data)
    return data


def run_system(
    name: str, data: Path, test_input: Path, work: Path, threads: int, force: bool
) -> dict:
    """Train and generate for one system unless its results are already there."""
    out = work / name
    result_file = out / "result.json"
    if result_file.exists() and not force:
        return json.loads(result_file.read_text())
    out.mkdir(parents=True, exist_ok=True)
    train_args, _ = SYSTEMS[name]
    cli = [sys.executable, "-m", "radimpress"]
    threads_flag = [] if "--model" in train_args else ["--threads", str(threads)]
    print(f"[{name}] training ...", flush=True)
    train = run_measured(
        [
            *cli,
            "train",
            *train_args,
            *threads_flag,
            "--data",
            str(data),
            "--out",
            str(out / "model"),
        ],
        out / "train.log",
        threads,
    )
    print(f"[{name}] trained in {train['seconds']:.0f}s; generating ...", flush=True)
    gen = run_measured(
        [
            *cli,
            "generate",
            "--model",
            str(out / "model"),
            "--input",
            str(test_input),
            "--output",
            str(out / "predictions.jsonl"),
            "--threads",
            str(threads),
        ],
        out / "generate.log",
        threads,
    )
    rate = re.search(r"\(([\d.]+) reports/s", gen["output"])
    manifest = json.loads((out / "model" / "radimpress.json").read_text())
    result = {
        "system": name,
        "train_seconds": round(train["seconds"], 1),
        "train_peak_mib": round(train["peak_mib"]),
        "generate_seconds": round(gen["seconds"], 1),
        "generate_peak_mib": round(gen["peak_mib"]),
        "reports_per_second": float(rate.group(1)) if rate else None,
        "validation": manifest.get("train_metrics", {}).get("best_validation_rougeL"),
    }
    result_file.write_text(json.dumps(result, indent=2))
    return result


def evaluate(names: list[str], refs_path: Path, work: Path, tag: str):
    from radimpress.evaluate import evaluate_systems, write_report
    from radimpress.evaluate.clinical import ClinicalScorer, reference_groups
    from radimpress.evaluate.inputs import drafted_from_findings
    from radimpress.records import read_jsonl, read_reports

    refs = read_reports(refs_path)
    ids = {r.id for r in refs}
    systems, fallback = {}, {}
    for n in names:
        rows = [obj for _, obj in read_jsonl(work / n / "predictions.jsonl")]
        systems[n] = {o["id"]: o["prediction"] for o in rows if o["id"] in ids}
        fallback[n] = [i for i in drafted_from_findings(work / n / "predictions.jsonl") if i in ids]
    result = evaluate_systems(
        refs,
        systems,
        bootstrap=1000,
        seed=13,
        extra_scorers=[ClinicalScorer()],
        groups=reference_groups([r.impression for r in refs]),
    )
    result.drafted_from_findings = {n: ids for n, ids in fallback.items() if ids}
    write_report(result, work / f"eval-{tag}", title=f"Open-i quality ({tag})")
    return result


def _delta(rows: list[dict], reference: str, system: str) -> str:
    if system == reference:
        return "—"
    c = next(
        r
        for r in rows
        if r["system"] == system and r["baseline"] == reference and r["metric"] == "rougeL"
    )
    return f"{c['diff']:+.2f} [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}]"


def table(result, timings: dict[str, dict]) -> str:
    """ROUGE, the normal/abnormal split, clinical labels and warning rates, then cost."""
    ref = result.reference_system
    n = {g: len(idx) for g, idx in result.groups.items()}
    head = (
        "| system | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | Δ ROUGE-L vs "
        f"{ref} [95% CI] | ROUGE-L normal (n={n.get('normal', 0)}) "
        f"| ROUGE-L abnormal (n={n.get('abnormal', 0)}) | Δ abnormal vs {ref} [95% CI] "
        "| label F1 micro | % contradiction | % laterality | % omitted critical "
        "| drafts from findings | train s | train peak MiB | gen reports/s | gen peak MiB |"
    )
    lines = [head, "|" + "---|" * 18]
    for s in result.systems:
        a = result.aggregates[s]
        g = result.group_aggregates
        t = timings.get(s, {})
        rps = t.get("reports_per_second")
        lines.append(
            f"| {s} | {a['rouge1']:.2f} | {a['rouge2']:.2f} | {a['rougeL']:.2f} | {a['rougeLsum']:.2f} "
            f"| {_delta(result.comparisons, ref, s)} "
            f"| {g['normal'][s]['rougeL']:.2f} | {g['abnormal'][s]['rougeL']:.2f} "
            f"| {_delta(result.group_comparisons['abnormal'], ref, s)} "
            f"| {a['label_micro_f1']:.1f} | {100 * a['warn_contradiction']:.1f} "
            f"| {100 * a['warn_laterality_mismatch']:.1f} | {100 * a['warn_omitted_critical']:.1f} "
            f"| {len(result.drafted_from_findings.get(s, []))} "
            f"| {t.get('train_seconds', '')} | {t.get('train_peak_mib', '')} "
            f"| {'' if rps is None else f'{rps:.1f}'} | {t.get('generate_peak_mib', '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--systems",
        default=DEFAULT_SYSTEMS,
        help="comma-separated; the first is the reference of the deltas",
    )
    ap.add_argument("--threads", type=int, default=2, help="torch threads per child process")
    ap.add_argument("--slow-limit", type=int, default=100, help="test reports for slow systems")
    ap.add_argument(
        "--work", default=str(ROOT / "runs" / "bench-quality"), help="models, predictions, reports"
    )
    ap.add_argument("--force", action="store_true", help="retrain and regenerate every system")
    ap.add_argument(
        "--external",
        action="append",
        default=[],
        metavar="NAME=PREDS.jsonl",
        help="predictions made elsewhere (e.g. on a GPU): the slow-subset table, and the full "
        "table too when they cover every test report",
    )
    add_notes_flag(ap, ROOT / "bench" / "quality_notes.md")
    ap.add_argument(
        "--no-benchmarks-md", action="store_true", help="print, do not write BENCHMARKS.md"
    )
    args = ap.parse_args(argv)
    notes = read_notes(args.notes)  # before the run: a wrong path fails at once
    if not OPENI.exists():
        print(f"skipped: {OPENI} not found (the Open-i working copy lives in ../shared)")
        return 0
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown:
        ap.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    work = Path(args.work)
    data = prepare_data(work)
    from radimpress.records import read_jsonl, read_reports, write_jsonl

    test = read_reports(data / "test.jsonl")
    subset = data / f"test_first{args.slow_limit}.jsonl"
    write_jsonl(subset, test[: args.slow_limit])
    timings = {}
    for n in names:
        slow = SYSTEMS[n][1]
        timings[n] = run_system(
            n, data, subset if slow else data / "test.jsonl", work, args.threads, args.force
        )
    # Predictions made elsewhere join the full table when they cover the whole test split,
    # and only the first-N table otherwise.
    test_ids = {r.id for r in test}
    covers_test = {}
    for spec in args.external:
        name, _, path = spec.partition("=")
        (work / name).mkdir(parents=True, exist_ok=True)
        (work / name / "predictions.jsonl").write_bytes(Path(path).read_bytes())
        predicted = {obj["id"] for _, obj in read_jsonl(work / name / "predictions.jsonl")}
        covers_test[name] = test_ids <= predicted
    full = [n for n in names if not SYSTEMS[n][1]] + [n for n, c in covers_test.items() if c]
    names += list(covers_test)
    body = []
    manifest = json.loads((data / "manifest.json").read_text())
    counts = manifest["counts"]
    body.append(
        f"Open-i `reports.csv` → `radimpress dataset build` defaults (seed 13): "
        f"train/validation/test {counts['train']}/{counts['validation']}/{counts['test']} pairs. ROUGE F1 ×100, no stemming; "
        f"Δ with a paired bootstrap (1000 resamples). Times on this shared 2-core machine are "
        f"upper bounds; torch threads per process: {args.threads}. Normal / abnormal: the "
        f"reference impression has no positive finding by the rule-based extractor, or has one "
        f"(`radimpress evaluate` reports the same split). Label F1: micro F1 of the rule-based "
        f"CheXpert-style labels of the draft against those of the reference impression. "
        f"% contradiction / laterality / omitted critical: share of reports whose draft gets "
        f"that `radimpress check` warning against its own findings. Drafts from findings: "
        f"reports whose draft is the findings' own sentences (safe selection's last resort, "
        f"every candidate of the model flagged; the predictions' `drafted_from_findings` note).\n"
    )
    if full:
        body.append(
            f"### Test split ({len(test)} reports)\n\n"
            + table(evaluate(full, data / "test.jsonl", work, "test"), timings)
        )
    if any(n not in SYSTEMS or SYSTEMS[n][1] for n in names):
        subset_names = names  # baselines are scored again on the subset for a fair comparison
        body.append(
            f"### First {args.slow_limit} test reports (slow systems)\n\n"
            + table(evaluate(subset_names, subset, work, f"first{args.slow_limit}"), timings)
        )
    body += notes
    text = "\n\n".join(body)
    print(text)
    if not args.no_benchmarks_md:
        replace_section("Quality (Open-i)", text)
        print("updated BENCHMARKS.md ## Quality (Open-i)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
