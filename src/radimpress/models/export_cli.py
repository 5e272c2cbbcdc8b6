"""`radimpress export`: a fast-inference copy of a trained neural model, inside its folder."""

from __future__ import annotations

import argparse

from radimpress.cli_flags import add_model_flag
from radimpress.models.backends import QUANTIZATIONS
from radimpress.records import InputError

FORMATS = ("ctranslate2",)


def cmd_export(args: argparse.Namespace) -> int:
    try:
        from radimpress.models import ctranslate2_export  # optional extra: radimpress[fast]
    except ImportError:
        raise InputError(
            "export --format ctranslate2 needs the ctranslate2 package: "
            "pip install 'radimpress[fast]'"
        ) from None
    record = ctranslate2_export.export(
        args.model,
        quantization=args.quantization,
        shortlist=args.vocabulary_shortlist,
        data=args.data,
    )
    shortlist = record.get("shortlist")
    note = (
        f", vocabulary shortlist {shortlist['tokens']} of {shortlist['vocabulary']} tokens "
        f"({shortlist['method']})"
        if shortlist
        else ""
    )
    print(
        f"exported {args.model} to {args.model}/{record['path']} ({args.format}, "
        f"{record['quantization']}{note}, {record['size_mb']} MB) in {record['seconds']} s; "
        "`generate`, `batch` and `serve` use it (--backend hf for transformers)"
    )
    if "quantization_reason" in record:
        print(f"{record['quantization']}: {record['quantization_reason']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="convert a trained neural model for fast CPU drafting (CTranslate2)",
        description="Reads a seq2seq or causal model folder (full, merged or adapter weights, or the "
        "base of an in-context recipe) and writes MODEL/ctranslate2/ (weights, tokenizer, and the "
        "vocabulary shortlist when asked); records it in MODEL/radimpress.json and the model card. "
        "`generate`, `batch` and `serve` then draft with it unless given --backend hf.",
    )
    add_model_flag(p)
    p.add_argument("--format", choices=FORMATS, default="ctranslate2")
    p.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        default="auto",
        help="weights of the copy: int8 (a quarter of the memory, the fastest copy on the CPUs "
        "measured), float32 (drafts most like transformers), or auto (default): int8 if this "
        "machine's CPU has AVX2 or int8 dot-product instructions, else float32",
    )
    p.add_argument(
        "--vocabulary-shortlist",
        action="store_true",
        help="decode over the tokens of the training impressions (plus the findings' tokens): "
        "a vocabulary map for seq2seq models, a pruned vocabulary for causal ones",
    )
    p.add_argument(
        "--data",
        help="dataset folder whose train.jsonl gives the shortlist (default: the model's own "
        "retrieved training pairs, else the dataset its manifest names)",
    )
    p.set_defaults(func=cmd_export)
