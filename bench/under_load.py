"""Training times and the test suite while two other CPU-bound processes run.

    python bench/under_load.py [--recipes rerank,hybrid,...] [--no-suite]
    python bench/under_load.py --neural

A hospital's shared server, or a CI runner, is rarely idle. This starts two
busy-looping processes (bounded: they stop with this script), then trains each
recipe on the Open-i split (`radimpress dataset build` defaults) with the default
thread count, and runs the README's test command (`python -m pytest`) under
the same load. Each is also timed on the idle machine first, for the ratio.
Writes the `## Under load` section of BENCHMARKS.md.

``--neural`` times the neural recipes instead, each with a shortened budget
named in its row (`NEURAL`): their own budgets run 25-30 minutes a recipe (hours
for the Gemma full fine-tune on CPU), twice each, idle and loaded. What a row
gives is the wall time of everything the recipe does (model loading, data,
training, validation, saving) at that step count, and the loop's steps per
second, from which the full budget follows: the recipes stop at
``train.max_minutes``, so under load they finish in the same time with fewer
steps done. Writes `## Under load (neural recipes)`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_no_write_flag, publish  # noqa: E402
from quality import OPENI, prepare_data  # noqa: E402


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


class Load:
    """Two CPU-bound processes for the duration of a ``with`` block (and at most ``limit`` s)."""

    def __init__(self, processes: int = 2, limit: float = 3600.0) -> None:
        self.processes, self.limit = processes, limit
        self.workers: list[multiprocessing.Process] = []

    def __enter__(self) -> Load:
        self.workers = [
            multiprocessing.Process(target=_spin, args=(self.limit,), daemon=True)
            for _ in range(self.processes)
        ]
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc) -> None:
        for w in self.workers:
            w.terminate()
            w.join()


# recipe -> the --set overrides that shorten it (the recipe's own budget is in its YAML).
# flan-t5-finetune is absent: its base is a hub download this machine cannot make.
NEURAL: dict[str, list[str]] = {
    "t5-scratch": ["train.max_steps=20"],
    "t5-scratch-rag": ["train.max_steps=20"],
    "hybrid-t5": ["generator.train.max_steps=20"],
    "gemma3-270m-icl": [],  # nothing to shorten: no training, the cached base is loaded
    "gemma3-270m-lora": ["train.max_steps=8"],
    # fp32 here (no bf16 units, see finetune.mixed_precision): one step of 16, 8 validation drafts
    "gemma3-270m-full": ["train.max_steps=1", "train.eval_samples=8"],
}
NEURAL_RESULTS = ROOT / "bench" / "results" / "under_load_neural.json"


def timed(cmd: list[str], log: Path) -> tuple[float, int]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("RADIMPRESS_THREADS", "OMP_NUM_THREADS")
    }
    start = time.perf_counter()
    with log.open("w") as fh:
        code = subprocess.run(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        ).returncode
    return time.perf_counter() - start, code


def idle_then_loaded(cmd: Callable[[str], list[str]], log: Callable[[str], Path]) -> dict:
    """Run ``cmd(name)`` on the idle machine ("idle"), then beside the Load ("load")."""
    out = {}
    for name, load in (("idle", False), ("load", True)):
        with Load() if load else contextlib.nullcontext():
            out[name] = timed(cmd(name), log(name))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--recipes",
        help="comma-separated (default: constant,retrieval-consensus,rerank,hybrid; "
        "with --neural: every recipe of NEURAL)",
    )
    ap.add_argument("--no-suite", action="store_true", help="skip the test suite (about 5-10 min)")
    ap.add_argument(
        "--rewrite",
        action="store_true",
        help="with --neural: rewrite the section from the recorded results, training nothing",
    )
    ap.add_argument(
        "--neural",
        action="store_true",
        help="the neural recipes with the shortened budgets of NEURAL (no suite; about 40 min)",
    )
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench-under-load"))
    add_no_write_flag(ap)
    args = ap.parse_args(argv)
    if not OPENI.exists():
        print(f"skipped: {OPENI} not found (the Open-i working copy lives in ../shared)")
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = prepare_data(ROOT / "runs" / "bench-quality")
    cli = [sys.executable, "-m", "radimpress"]
    default = ",".join(NEURAL) if args.neural else "constant,retrieval-consensus,rerank,hybrid"
    recipes = [r for r in (args.recipes or default).split(",") if r]
    if args.neural:
        unknown = [r for r in recipes if r not in NEURAL]
        if unknown:
            ap.error(f"--neural times {', '.join(NEURAL)}; not {', '.join(unknown)}")
        return neural(cli, data, work, [] if args.rewrite else recipes, not args.no_benchmarks_md)
    rows = []
    for recipe in recipes:
        train = [*cli, "train", "--recipe", recipe, "--data", str(data)]
        runs = idle_then_loaded(
            lambda name, r=recipe, t=train: [*t, "--out", str(work / f"{r}-{name}")],
            lambda name, r=recipe: work / f"{r}-{name}.log",
        )
        (idle, code_a), (busy, code_b) = runs["idle"], runs["load"]
        ok = "ok" if code_a == code_b == 0 else f"exit {code_a}/{code_b}"
        rows.append(f"| train `{recipe}` | {idle:.1f} | {busy:.1f} | {busy / idle:.2f}x | {ok} |")
        print(rows[-1], flush=True)
    if not args.no_suite:
        suite = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        runs = idle_then_loaded(lambda _: suite, lambda name: work / f"suite-{name}.log")
        (idle, code_a), (busy, code_b) = runs["idle"], runs["load"]
        last = (work / "suite-load.log").read_text().strip().splitlines()[-1]
        ok = "passed" if code_a == code_b == 0 else f"exit {code_a}/{code_b}"
        rows.append(
            f"| `python -m pytest` (README's test command) | {idle:.1f} | {busy:.1f} | {busy / idle:.2f}x | {ok}: {last} |"
        )
        print(rows[-1], flush=True)
    body = (
        "Two busy-looping Python processes run beside the measured command on this 2-core machine "
        "(so it gets about a third of the CPU); radimpress uses its default thread count (half the "
        "cores, here 1). Open-i split of `radimpress dataset build` (defaults).\n\n"
        "| what | idle s | under load s | ratio | result |\n|---|---:|---:|---:|---|\n"
        + "\n".join(rows)
    )
    publish("Under load", body, write=not args.no_benchmarks_md)
    return 0


def neural_row(recipe: str, r: dict) -> str:
    idle, busy = r["idle"], r["load"]
    ok = "ok" if idle["exit"] == busy["exit"] == 0 else f"exit {idle['exit']}/{busy['exit']}"
    budget = ", ".join(f"`{o}`" for o in r["overrides"]) or "its own (no training)"
    a, b = idle["steps_per_second"], busy["steps_per_second"]
    rate = f"{a:.3f} / {b:.3f} ({a / b:.2f}x)" if a and b else "–"
    return (
        f"| `{recipe}` | {budget} | {idle['steps'] or '–'} | {idle['seconds']:.1f} "
        f"| {busy['seconds']:.1f} | {busy['seconds'] / idle['seconds']:.2f}x | {rate} | {ok} |"
    )


def loop_rate(model_dir: Path) -> tuple[float | None, dict]:
    """The training loop's steps/s from the model folder (the generator's, for a hybrid)."""
    manifest = json.loads((model_dir / "radimpress.json").read_text())
    metrics = manifest.get("train_metrics") or {}
    loop = metrics.get("generator") or metrics
    return loop.get("steps_per_second"), loop


def neural(cli: list[str], data: Path, work: Path, recipes: list[str], write: bool) -> int:
    """Time ``recipes`` (of NEURAL); the rows of recipes not run keep their last numbers."""
    done = json.loads(NEURAL_RESULTS.read_text()) if NEURAL_RESULTS.exists() else {}
    for recipe in recipes:
        overrides = NEURAL[recipe]
        sets = [a for o in overrides for a in ("--set", o)]
        train = [*cli, "train", "--recipe", recipe, "--data", str(data), *sets]

        def fresh(name: str, r: str = recipe, t: list[str] = train) -> list[str]:
            out = work / f"{r}-{name}"
            shutil.rmtree(out, ignore_errors=True)  # a re-run times a fresh training, not a resume
            return [*t, "--out", str(out)]

        runs = idle_then_loaded(fresh, lambda name, r=recipe: work / f"{r}-{name}.log")
        cells = {}
        for name, (seconds, code) in runs.items():
            rate, loop = loop_rate(work / f"{recipe}-{name}") if code == 0 else (None, {})
            cells[name] = {"seconds": round(seconds, 1), "exit": code, "steps_per_second": rate,
                           "steps": loop.get("steps")}  # fmt: skip
        done[recipe] = {"overrides": overrides, **cells}
        NEURAL_RESULTS.parent.mkdir(parents=True, exist_ok=True)
        NEURAL_RESULTS.write_text(json.dumps(done, indent=1))
        print(neural_row(recipe, done[recipe]), flush=True)
    rows = [neural_row(r, done[r]) for r in NEURAL if r in done]
    body = (
        "The neural recipes under the same load as ## Under load (two busy-looping processes "
        "beside the command, 2 cores, radimpress's default thread count, here 1), each **with a "
        "shortened budget named in the row**: their own budgets are 25-30 min of training a "
        "recipe (`train.max_minutes`), and each runs twice. Wall time is everything "
        "`radimpress train` does (loading the base, the data, the steps, validation, saving). The "
        "recipes stop at `train.max_minutes`, so under load they finish in the same time with "
        "fewer steps: the steps/s ratio is how much less training a loaded machine gets done in "
        "the budget. The Gemma full fine-tune has no time budget (2 epochs of 16 pairs, 300 "
        "steps): at the measured 0.008 steps/s that is about 10 hours on one idle thread here, "
        "which is why it is the GPU recipe. It asks for bf16 autocast; on a CPU without bf16 "
        "units (this one: AVX2) it now trains in fp32 and records why (`precision_note` in the "
        "model card): in bf16 its first step of 16 pairs was still running after 8 minutes. "
        "`flan-t5-finetune` is not timed: its base is a hub download this machine cannot make. "
        "The rows are kept in `bench/results/under_load_neural.json` by `python "
        "bench/under_load.py --neural [--recipes ...]` (today: all six recipes in one run, then "
        "`gemma3-270m-full` again after the fp32 fix); `--rewrite` rebuilds this section from it."
        "\n\n"
        "| recipe | shortened by | steps | idle s | under load s | ratio "
        "| loop steps/s idle / load | result |\n"
        "|---|---|---:|---:|---:|---:|---|---|\n" + "\n".join(rows)
    )
    publish("Under load (neural recipes)", body, write=write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
