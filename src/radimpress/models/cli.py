"""`radimpress train` and `radimpress recipes`.

Where an option is read: the recipe file (``--recipe``, else
configs/default.yaml) gives a tree of options; the shortcut flags below and
every ``--set KEY=VALUE`` write into that tree at their dotted path; then
`radimpress.models.recipes.parse_recipe` validates it against the kind's
typed options, once. Nothing else reads an option.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from radimpress.cli_flags import output_folder
from radimpress.dataset.clean import CleanOptions
from radimpress.models.base import load_model, read_manifest
from radimpress.models.recipes import (
    Recipe,
    config_dir,
    default_recipe_name,
    describe_options,
    kind_of,
    list_recipes,
    model_kinds,
    parse_override,
    parse_recipe,
    recipe_tree,
    set_path,
)
from radimpress.models.training import TrainingData, load_split, training_recipe
from radimpress.models.training.recipe import TrainingRecipe
from radimpress.records import InputError, Report

# Shortcut flag -> the recipe option it sets (the option's own type and help apply).
SHORTCUTS: dict[str, str] = {
    "epochs": "train.epochs",
    "max_steps": "train.max_steps",
    "batch_size": "train.batch_size",
    "lr": "train.lr",
    "max_minutes": "train.max_minutes",
    "precision": "train.precision",
    "seed": "train.seed",
}


TRAIN_HELP = """Reads DATA/train.jsonl and DATA/validation.jsonl (from `radimpress dataset build`); writes a
model folder OUT: weights, tokenizer, radimpress.json (resolved recipe, base model, data hash,
cleaning, library versions, metrics), recipe.yaml and README.md. Checkpoints go to
OUT/checkpoints (kept with --keep-checkpoints or when paused). Runs under `accelerate launch`
too.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        description=TRAIN_HELP,
        epilog="Every option of a recipe: `radimpress recipes --options KIND`.",
    )
    p.add_argument(
        "--recipe",
        help="named recipe (see `radimpress recipes`) or a recipe .yaml file; "
        "default: the recipe in configs/default.yaml",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="set a recipe option, e.g. --set train.lr=3e-4 --set prompt.rag_k=2 (repeatable)",
    )
    p.add_argument(
        "--base", help="base model: hub id, local folder, .gguf file or built-in name (gemma3-270m)"
    )
    p.add_argument("--kind", choices=["seq2seq", "causal"], help="backend for --base")
    p.add_argument(
        "--from-scratch", metavar="SIZE", help="train a new model of this size (e.g. t5-mini)"
    )
    p.add_argument("--lora", action="store_true", help="sets lora.enabled=true")
    for flag, path in SHORTCUTS.items():
        kind = {"precision": str, "seed": int, "max_steps": int, "batch_size": int}.get(flag, float)
        p.add_argument(f"--{flag.replace('_', '-')}", type=kind, help=f"sets {path}")
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
        help="a kind without a recipe (retrieval, constant, rerank); with a recipe, its kind",
    )
    p.add_argument("--data", required=True, help="dataset folder from `radimpress dataset build`")
    p.add_argument("--out", required=True, type=output_folder, help="model folder to write")
    p.add_argument(
        "--consensus-k",
        type=int,
        default=1,
        help="retrieval: choose among the top k neighbours by agreement (1 = nearest)",
    )
    p.set_defaults(func=cmd_train)

    r = sub.add_parser(
        "recipes",
        description="Reads the recipe files in radimpress/configs/; writes nothing.",
    )
    r.add_argument(
        "--options", metavar="KIND", choices=model_kinds(), help="every option of a KIND's recipe"
    )
    r.set_defaults(func=cmd_recipes)


def recipe_from_args(args: argparse.Namespace, tree: dict[str, Any] | None = None) -> Recipe:
    """The recipe a `train` call asks for: the recipe tree plus flags and --set, validated."""
    if tree is None:
        if args.model and not (args.recipe or args.base or args.from_scratch):
            tree = {"kind": args.model, "name": args.model}
            if args.model == "retrieval":
                tree["settings"] = {"consensus_k": args.consensus_k}
            elif kind_of(args.model).neural:
                raise InputError(
                    f"--model {args.model} needs --recipe, --base or --from-scratch "
                    "(see `radimpress recipes`)"
                )
        else:
            tree = recipe_tree(args.recipe or "default")
    where = f"recipe '{tree.get('name', 'custom')}'"
    if args.model and kind_of(args.model).neural:
        tree["kind"] = args.model
    if args.base:
        tree.update(base=args.base, scratch=None)
        if args.kind:
            tree["kind"] = args.kind
        elif not kind_of(str(tree.get("kind"))).neural:
            raise InputError("--base needs --kind seq2seq or causal with this recipe")
    if args.from_scratch:
        tree["base"] = None
        set_path(tree, "scratch.size", args.from_scratch)
    for flag, path in SHORTCUTS.items():
        value = getattr(args, flag)
        if value is not None:
            set_path(tree, path, value)
    if args.lora:
        set_path(tree, "lora.enabled", True)
    for item in args.set or []:
        set_path(tree, *parse_override(item))
    return parse_recipe(tree, where)


def _merge_pairs(old: list[Report], new: list[Report]) -> list[Report]:
    """Old training pairs plus new ones; a new pair replaces an old one with the same id."""
    new_ids = {r.id for r in new}
    return [r for r in old if r.id not in new_ids] + list(new)


def adaptation(args: argparse.Namespace, data: TrainingData, work_dir: Path) -> TrainingRecipe:
    """`--resume-from MODEL`: continue from a trained model on new pairs (reviewed drafts).

    Neural models keep their weights and train on the new pairs; their
    neighbour index still covers the model's original training pairs, so the
    prompts keep the same context. Models that fit themselves refit on the
    original pairs plus the new ones: for them adapting means new candidates.
    The model's own cleaning options carry over.
    """
    source = Path(args.resume_from)
    manifest = read_manifest(source)
    previous = Path(manifest["data"]) if manifest.get("data") else None
    old = load_split(previous, "train") if previous and (previous / "train.jsonl").exists() else []
    data.source = data.source or previous
    if manifest.get("cleaning"):
        data.cleaning = CleanOptions.from_dict(manifest["cleaning"])
    if kind_of(manifest["kind"]).neural:
        weights = source / "model"
        if not (weights / "config.json").exists():
            raise InputError(
                f"{source}: --resume-from needs a model saved with full or merged weights "
                f"({weights} is missing); adapter-only and in-context models cannot be adapted"
            )
        tree = {**manifest["recipe"], "base": str(weights), "scratch": None, "lora": {}}
        recipe = recipe_from_args(args, tree)
        new_ids = {r.id for r in data.train}
        data.index_extra = [r for r in old if r.id not in new_ids]
        runner = training_recipe(recipe, data, work_dir)
        return runner
    model = load_model(source, place=False)  # trained on: its saved weights, as saved
    model.version = ""  # a new version: the adapted model is not the old one
    data.train = _merge_pairs(old, data.train)
    runner = training_recipe(model.recipe, data, work_dir)
    runner.model = model
    return runner


def cmd_train(args: argparse.Namespace) -> int:
    data = TrainingData.from_folder(args.data)
    out = Path(args.out)
    work_dir = out / "checkpoints"
    if args.resume_from:
        runner = adaptation(args, data, work_dir)
    else:
        runner = training_recipe(recipe_from_args(args), data, work_dir, resume=args.resume)
    start = time.perf_counter()
    model = runner.run(out)
    seconds = time.perf_counter() - start
    if not runner.is_main_process:
        return 0  # under `accelerate launch`, rank 0 writes the model
    metrics = runner.metrics
    stopped = str(metrics.get("stopped", ""))
    if stopped.startswith(("paused", "time budget")):
        print(f"{stopped}; `--resume` continues from {work_dir}")
    elif not args.keep_checkpoints and work_dir.exists():
        shutil.rmtree(work_dir)
    best = metrics.get("best_validation_rougeL")
    note = f", validation ROUGE-L {best}" if best is not None else ""
    print(
        f"trained {model.name} on {metrics.get('train_pairs', len(data.train))} pairs "
        f"in {seconds:.1f}s on {args.threads} thread(s){note} -> {out}"
    )
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    if args.options:
        print(f"options of a '{args.options}' recipe (set with --set PATH=VALUE):")
        for line in describe_options(args.options):
            print(f"  {line}")
        return 0
    default = default_recipe_name()
    for name, description in list_recipes().items():
        mark = " (default)" if name == default else ""
        print(f"{name}{mark}\n    {description}")
    print(f"\nrecipe files: {config_dir()}")
    print("options of a kind: radimpress recipes --options KIND")
    return 0
