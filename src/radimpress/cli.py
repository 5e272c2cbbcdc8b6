"""The `radimpress` command: one sub-command per stage of the data's path.

Each stage package owns its sub-commands in its own ``cli.py`` with a
``register(subparsers)`` function, so this file only lists the stages.
Heavy libraries (torch, transformers, medspaCy, FastAPI) are imported inside
the command handlers, never at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from radimpress import __version__
from radimpress.records import InputError

STAGES = [
    "radimpress.ingest.cli",
    "radimpress.dataset.cli",
    "radimpress.models.cli",
    "radimpress.evaluate.cli",
    "radimpress.safety.cli",
    "radimpress.privacy.cli",
    "radimpress.serve.cli",
    "radimpress.demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radimpress",
        description="Draft radiology IMPRESSIONS from FINDINGS, on your own hardware.",
    )
    parser.add_argument("--version", action="version", version=f"radimpress {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in STAGES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("absl").setLevel(logging.WARNING)  # rouge-score's tokenizer chatter
    try:
        return int(args.func(args) or 0)
    except InputError as e:
        print(f"radimpress {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
