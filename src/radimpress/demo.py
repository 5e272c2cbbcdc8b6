"""`radimpress demo`: the whole path on built-in reports (or yours), offline, in minutes.

ingest → dataset → baselines → the default LLM before fine-tuning (in-context
examples) and after a short fine-tune → evaluate → one HTML report. Each
system's predictions are kept in OUT, so a re-run skips what is done
(``--force`` redoes it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

from radimpress.cli_flags import output_folder
from radimpress.dataset import DatasetOptions, build_dataset, write_dataset
from radimpress.dataset.exams import Familiarity
from radimpress.drafting import Drafter
from radimpress.evaluate import evaluate_systems, write_report
from radimpress.evaluate.clinical import GROUP_NOTE, ClinicalScorer, reference_groups
from radimpress.ingest import format_summary, ingest_paths, sample_paths
from radimpress.models.gguf import is_gguf, resolve_base
from radimpress.models.recipes import default_recipe_name, load_recipe
from radimpress.models.training import TrainingData, training_recipe
from radimpress.records import InputError, Report, read_jsonl, write_jsonl

DEMO_HELP = """Reads the built-in sample reports (or --data files/folders); writes OUT/ingest, OUT/data,
OUT/models, OUT/predictions and OUT/eval/report.html comparing the baselines, the default
recipe, and Gemma 3 270M before (pre-trained, retrieved examples in its prompt) and after a
short LoRA fine-tune on the same reports.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", description=DEMO_HELP)
    p.add_argument(
        "--out",
        default="radimpress-demo",
        type=output_folder,
        help="folder for everything the demo writes",
    )
    p.add_argument(
        "--data", nargs="+", help="your reports instead of the built-in sample (any ingest format)"
    )
    p.add_argument(
        "--steps", type=int, default=16, help="LoRA steps of 4 pairs for the fine-tuned row"
    )
    p.add_argument("--minutes", type=float, default=3.0, help="fine-tuning time budget (cap)")
    p.add_argument(
        "--no-llm",
        action="store_true",
        help="the baselines and the default recipe only, no language model (seconds)",
    )
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--force", action="store_true", help="recompute systems kept from an earlier run"
    )
    p.set_defaults(func=cmd_demo)


def _systems(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(label, recipe or model kind, overrides) in report order; the first is the reference."""
    default = default_recipe_name()
    systems = [
        ("retrieval-consensus", "retrieval-consensus", []),
        ("constant", "constant", []),
    ]
    if default not in ("retrieval-consensus", "constant"):
        systems.append((f"default recipe ({default})", default, []))
    if not args.no_llm:
        # The seed's comparison: the same base language model before and after a short
        # fine-tune. Before: Gemma 3 270M as it ships, shown retrieved examples in its
        # prompt (it cannot write an impression zero-shot). After: LoRA on the training
        # pairs, with the speed levers of the CPU recipe, for --steps steps of 4 pairs.
        # Two retrieved examples, not the recipe's four, no example findings, and LoRA on
        # the last 6 layers, not all 18: the prompt is most of the cost on a CPU, all 18
        # layers double a step, and the demo has five minutes.
        systems.append(
            ("pre-trained (gemma3-270m, in-context)", "gemma3-270m-icl", ["prompt.icl_k=2"])
        )
        overrides = [
            "prompt.rag_k=2",
            "prompt.icl_k=0",
            "lora.top_layers=6",
            f"train.max_steps={args.steps}",
            "train.batch_size=4",
            "train.grad_accum=1",
            "train.eval_samples=0",
            f"train.max_minutes={args.minutes}",
            "generation.num_beams=1",
        ]
        label = f"fine-tuned (gemma3-270m LoRA, {args.steps} steps)"
        systems.append((label, "gemma3-270m-lora", overrides))
    return systems


def _base_model(recipe_name: str) -> str | None:
    """The base model a recipe loads (neural kinds), else None."""
    return getattr(load_recipe(recipe_name), "base", None)


def _start_base_conversion(recipes: list[str]) -> multiprocessing.process.BaseProcess | None:
    """Convert the first GGUF base of these recipes in the background (no-op when cached).

    Every system with a base model waits for it (`prefetch.join()`), so two processes
    never convert the same file at once.
    """
    bases = [b for r in recipes if (b := _base_model(r)) and is_gguf(b)]
    if not bases:
        return None
    proc = multiprocessing.get_context("spawn").Process(target=resolve_base, args=(bases[0],))
    proc.start()
    return proc


def _fit_and_generate(
    recipe_name: str,
    overrides: list[str],
    data: TrainingData,
    test: list[Report],
    model_dir: Path,
) -> tuple[list[str], dict]:
    """Train a recipe into ``model_dir`` and draft the test reports through the drafting path."""
    runner = training_recipe(load_recipe(recipe_name, overrides), data, model_dir / "checkpoints")
    start = time.perf_counter()
    model = runner.run(model_dir)
    fit_s = time.perf_counter() - start
    # each row scores its model's own drafts: the findings' sentences, safe selection's last
    # resort, would stand in for the weak ones and hide what fine-tuning changed
    drafter = Drafter(
        model, cleaning=data.cleaning, fallback=False, exams=Familiarity(data.exam_regions())
    )
    start = time.perf_counter()
    preds = [result.impression for result in drafter.draft(test)]
    gen_s = time.perf_counter() - start
    return preds, {
        "train_seconds": round(fit_s, 1),
        "generate_seconds": round(gen_s, 1),
        "reports_per_second": round(len(test) / gen_s, 2) if gen_s else None,
    }


def run_demo(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sources = [Path(p) for p in args.data] if args.data else sample_paths()
    print(f"1/4 ingest {len(sources)} source(s) -> {out / 'ingest'}")
    ingested = ingest_paths(sources)
    write_jsonl(out / "ingest" / "reports.jsonl", ingested.reports)
    write_jsonl(out / "ingest" / "rejects.jsonl", ingested.rejects)
    print(format_summary(ingested.summary))
    if not ingested.reports:
        raise InputError(
            "no report could be ingested; see " + str(out / "ingest" / "rejects.jsonl")
        )

    print(f"2/4 dataset -> {out / 'data'}")
    built = build_dataset(ingested.reports, DatasetOptions(seed=args.seed))
    write_dataset(built, out / "data")
    train, validation, test = (built.splits[s] for s in ("train", "validation", "test"))
    if not train or not test:
        raise InputError(
            f"too few trainable reports to split ({len(train)} train, {len(test)} test)"
        )
    print(f"   train {len(train)}, validation {len(validation)}, test {len(test)}")
    data = TrainingData(train, validation, source=out / "data", cleaning=DatasetOptions().cleaning)

    # The one slow step of a first run, converting the built-in Gemma GGUF (1-2 minutes),
    # runs in its own process while the baselines and the default recipe fit.
    systems = _systems(args)
    prefetch = _start_base_conversion([recipe for _, recipe, _ in systems])

    print("3/4 models")
    predictions: dict[str, dict[str, str]] = {}
    timings: dict[str, dict] = {}
    for label, recipe_name, overrides in systems:
        slug = recipe_name.replace("/", "-")
        pred_file = out / "predictions" / f"{slug}.jsonl"
        timing_file = out / "predictions" / f"{slug}.timing.json"
        if pred_file.exists() and timing_file.exists() and not args.force:
            print(f"   {label}: kept from an earlier run ({pred_file})")
            rows = [obj for _, obj in read_jsonl(pred_file)]
            timings[label] = json.loads(timing_file.read_text())
        else:
            if prefetch is not None and _base_model(recipe_name):
                prefetch.join()
                prefetch = None
            print(f"   {label}: fitting and generating ...", flush=True)
            preds, timings[label] = _fit_and_generate(
                recipe_name, overrides, data, test, out / "models" / slug
            )
            rows = [{"id": r.id, "prediction": p} for r, p in zip(test, preds, strict=True)]
            write_jsonl(pred_file, rows)
            timing_file.write_text(json.dumps(timings[label]))
        predictions[label] = {row["id"]: row["prediction"] for row in rows}
        print(f"   {label}: {timings[label]}")

    print(f"4/4 evaluate -> {out / 'eval'}")
    result = evaluate_systems(
        test,
        predictions,
        bootstrap=1000,
        seed=args.seed,
        extra_scorers=[ClinicalScorer()],
        groups=reference_groups([r.impression for r in test]),
        group_note=GROUP_NOTE,
    )
    paths = write_report(result, out / "eval", title="radimpress demo: pre-trained vs fine-tuned")
    for name in result.systems:
        a = result.aggregates[name]
        print(f"   {name:45s} ROUGE-L {a['rougeL']:6.2f}  ROUGE-1 {a['rouge1']:6.2f}")
    print(f"open {paths['report.html']}")
    return paths["report.html"]


def cmd_demo(args: argparse.Namespace) -> int:
    run_demo(args)
    return 0
