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

    result = ingest_paths([path], headerless_as_findings=True)
    if not result.reports:
        raise InputError(f"{path}: no usable report ({len(result.rejects)} rejected)")
    return result.reports


def _train_recipe(args: argparse.Namespace, recipe: dict | None = None) -> dict:
    """The recipe a `train` call asks for: --recipe (or default) plus flag and --set overrides."""
    from radimpress.models.recipes import apply_overrides, load_recipe

    recipe = recipe if recipe is not None else load_recipe(args.recipe or "default")
    sets: list[str] = []
    if args.base:
        sets += [f"base={args.base}", "scratch=null"]
        if args.kind:
            sets.append(f"kind={args.kind}")
    if args.from_scratch:
        sets += ["base=null", f"scratch.size={args.from_scratch}"]
    for flag, key in (
        ("epochs", "train.epochs"),
        ("max_steps", "train.max_steps"),
        ("batch_size", "train.batch_size"),
        ("lr", "train.lr"),
        ("max_minutes", "train.max_minutes"),
        ("threads", "train.threads"),
        ("precision", "train.precision"),
        ("seed", "train.seed"),
    ):
        value = getattr(args, flag)
        if value is not None:
            sets.append(f"{key}={value}")
    if args.lora:
        sets.append("lora.enabled=true")
    recipe = apply_overrides(recipe, sets + list(args.set or []))
    if args.base and not args.kind and recipe.get("kind") not in ("seq2seq", "causal"):
        raise InputError("--base needs --kind seq2seq or causal with this recipe")
    return recipe


def _merge_pairs(old: list[Report], new: list[Report]) -> list[Report]:
    """Old training pairs plus new ones; a new pair replaces an old one with the same id."""
    new_ids = {r.id for r in new}
    return [r for r in old if r.id not in new_ids] + list(new)


def _adapt(args: argparse.Namespace, train: list[Report]):
    """Model and recipe for `--resume-from MODEL`: continue from a trained model on new pairs.

    Neural models keep their weights and train on the new pairs (reviewed drafts);
    their neighbour index still covers the model's original training pairs, so
    the prompts keep the same context. Retrieval-style models refit on the
    original pairs plus the new ones: for them adapting means new candidates.
    """
    from radimpress.models.base import load_model, read_manifest
    from radimpress.models.recipes import build_model

    source = Path(args.resume_from)
    manifest = read_manifest(source)
    previous = Path(manifest["data"]) if manifest.get("data") else None
    old = load_split(previous, "train") if previous and (previous / "train.jsonl").exists() else []
    if manifest["kind"] in ("seq2seq", "causal"):
        weights = source / "model"
        if not (weights / "config.json").exists():
            raise InputError(
                f"{source}: --resume-from needs a model saved with full or merged weights "
                f"({weights} is missing); adapter-only and in-context models cannot be adapted"
            )
        recipe = _train_recipe(
            args, {**manifest.get("recipe", {}), "base": str(weights), "scratch": None}
        )
        model = build_model(recipe)
        model.index_extra = old
        model.name = manifest.get("name", model.kind)
        return model, recipe, train
    model = load_model(source)
    model.version = ""
    return model, manifest.get("recipe") or {"kind": model.kind}, _merge_pairs(old, train)


def cmd_train(args: argparse.Namespace) -> int:
    from radimpress.models.base import model_class

    data = Path(args.data)
    train = load_split(data, "train")
    if (
        args.model in ("seq2seq", "causal")
        and not args.recipe
        and not args.base
        and not args.from_scratch
    ):
        raise InputError(
            f"--model {args.model} needs --recipe, --base or --from-scratch (see `radimpress recipes`)"
        )
    if args.resume_from:
        model, recipe, train = _adapt(args, train)
    elif (
        args.model and not args.recipe and not args.base and not args.from_scratch
    ):  # non-neural kinds
        cls = model_class(args.model)
        model = cls(consensus_k=args.consensus_k) if args.model == "retrieval" else cls()
        recipe = None
    else:
        from radimpress.models.recipes import build_model

        recipe = _train_recipe(args)
        if args.model in ("seq2seq", "causal"):
            recipe["kind"] = args.model
        model = build_model(recipe)
        model.name = recipe.get("name", model.kind)
    validation = load_split(data, "validation") if (data / "validation.jsonl").exists() else []
    out = Path(args.out)
    if hasattr(model, "work_dir"):
        model.work_dir = out / "checkpoints"
        model.resume = bool(args.resume)
    start = time.perf_counter()
    metrics = model.fit(train, validation) if recipe else model.fit(train)
    seconds = time.perf_counter() - start
    if not getattr(model, "is_main_process", True):
        return 0  # under `accelerate launch`, rank 0 writes the model
    extra = {
        "data": str(data),
        "data_manifest_sha256": _data_manifest_hash(data),
        "train_seconds": round(seconds, 3),
        "train_metrics": metrics,
    }
    if recipe:
        extra["recipe"] = recipe
    model.save(out, extra=extra)
    stopped = metrics.get("stopped", "")
    if stopped.startswith(("paused", "time budget")):
        print(f"{stopped}; `--resume` continues from {out / 'checkpoints'}")
    elif not args.keep_checkpoints and (out / "checkpoints").exists():
        import shutil

        shutil.rmtree(out / "checkpoints")
    best = metrics.get("best_validation_rougeL")
    note = f", validation ROUGE-L {best}" if best is not None else ""
    print(
        f"trained {model.name} on {metrics.get('train_pairs', len(train))} pairs in {seconds:.1f}s{note} -> {out}"
    )
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from radimpress.models.recipes import config_dir, default_recipe_name, list_recipes

    default = default_recipe_name()
    for name, description in list_recipes().items():
        mark = " (default)" if name == default else ""
        print(f"{name}{mark}\n    {description}")
    print(f"\nrecipe files: {config_dir()}")
    return 0


def _configure_generation(model, args: argparse.Namespace) -> None:
    """Apply generate's decoding flags to a neural model (baselines have none)."""
    g = getattr(model, "generation", None)
    if g is None:
        return
    for flag in ("num_beams", "max_new_tokens", "length_penalty", "batch_size", "seed"):
        value = getattr(args, flag)
        if value is not None:
            setattr(g, flag, value)
    if args.mbr:
        g.mbr = True
    if args.safe_select:
        g.safe_select = True


def cmd_generate(args: argparse.Namespace) -> int:
    from radimpress.models.base import load_model

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    _configure_generation(model, args)
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
    print(
        f"generated {len(rows)} impressions in {seconds:.2f}s ({rate:.1f} reports/s) -> {args.output}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from radimpress.models.base import model_kinds

    p = sub.add_parser(
        "train",
        help="fit a model (a named recipe, a base model, or a baseline) on a dataset",
        description="Reads DATA/train.jsonl and DATA/validation.jsonl (from `radimpress dataset build`); "
        "writes a model folder OUT: weights, tokenizer, radimpress.json (recipe, base model, data hash, "
        "library versions, metrics) and README.md. Checkpoints go to OUT/checkpoints (kept with "
        "--keep-checkpoints or when paused). Runs under `accelerate launch` too.",
    )
    p.add_argument(
        "--recipe",
        help="named recipe (see `radimpress recipes`) or a recipe .yaml file; "
        "default: the recipe in configs/default.yaml",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a recipe option, e.g. --set train.lr=3e-4 --set prompt.rag_k=2 (repeatable)",
    )
    p.add_argument(
        "--base", help="base model: hub id, local folder, .gguf file or built-in name (gemma3-270m)"
    )
    p.add_argument("--kind", choices=["seq2seq", "causal"], help="backend for --base")
    p.add_argument(
        "--from-scratch", metavar="SIZE", help="train a new model of this size (e.g. t5-mini)"
    )
    p.add_argument("--lora", action="store_true", help="train LoRA adapters instead of all weights")
    p.add_argument("--epochs", type=float)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--precision", choices=["fp32", "bf16"])
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--max-minutes", type=float, help="stop (with a checkpoint) after this many minutes"
    )
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints")
    p.add_argument(
        "--resume-from",
        metavar="MODEL",
        help="adapt a trained model folder on DATA (e.g. `radimpress feedback export` output); "
        "the result gets a new version",
    )
    p.add_argument(
        "--keep-checkpoints", action="store_true", help="keep OUT/checkpoints after training"
    )
    p.add_argument(
        "--model",
        choices=model_kinds(),
        help="baseline kind without a recipe (retrieval, constant); kept for scripts",
    )
    p.add_argument("--data", required=True, help="dataset folder from `radimpress dataset build`")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument(
        "--consensus-k",
        type=int,
        default=1,
        help="retrieval: choose among the top k neighbours by agreement (1 = nearest)",
    )
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
    g.add_argument("--num-beams", type=int, help="beam width (1 = greedy)")
    g.add_argument("--max-new-tokens", type=int)
    g.add_argument("--length-penalty", type=float)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--seed", type=int)
    g.add_argument(
        "--mbr",
        action="store_true",
        help="choose by minimum Bayes risk (ROUGE-L) among beams and the neighbours' impressions",
    )
    g.add_argument(
        "--safe-select",
        action="store_true",
        help="let radimpress.safety pick the candidate that contradicts the findings least",
    )
    g.add_argument("--threads", type=int, help="CPU threads for torch")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser(
        "recipes",
        help="list the named training recipes",
        description="Reads the recipe files in radimpress/configs/; writes nothing.",
    )
    r.set_defaults(func=cmd_recipes)
