"""The `radimpress` command: one sub-command per stage of the data's path.

Each stage package owns its sub-commands in its own ``cli.py`` with a
``register(subparsers)`` function and imports what it needs at its top.
This file only lists which module owns which command, and imports the
module of the command being run (the one lazy loader of the CLI), so
`radimpress --help` and `radimpress ingest` never pay for torch or FastAPI.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from radimpress import __version__
from radimpress.records import InputError
from radimpress.threads import ENV as THREADS_ENV
from radimpress.threads import configure_threads

# command -> (module that registers it, one-line help for the command list)
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("radimpress.ingest.cli", "read reports (text, XML, CSV/JSONL/Parquet, FHIR, HL7)"),
    "dataset": ("radimpress.dataset.cli", "build training datasets from ingested reports"),
    "train": ("radimpress.models.cli", "fit a model (a named recipe, a base model, or a baseline)"),
    "recipes": ("radimpress.models.cli", "list the named training recipes and their options"),
    "export": ("radimpress.models.export_cli", "convert a neural model for fast CPU drafting"),
    "generate": ("radimpress.drafting.cli", "draft impressions for findings with a saved model"),
    "batch": ("radimpress.drafting.batch_cli", "draft a whole archive on a Ray cluster, resumably"),
    "evaluate": ("radimpress.evaluate.cli", "score predictions against references"),
    "check": (
        "radimpress.safety.cli",
        "flag draft impressions that contradict, flip sides, omit or invent findings",
    ),
    "recommend": (
        "radimpress.safety.cli",
        "guideline follow-up for the findings (Fleischner 2017 pulmonary nodules, ...)",
    ),
    "scrub": ("radimpress.privacy.cli", "remove PHI from reports"),
    "serve": ("radimpress.serve.cli", "serve drafts over HTTP with review pages and a dashboard"),
    "mllp": ("radimpress.serve.cli", "HL7 v2 MLLP listener: ORU^R01 findings in, draft out"),
    "feedback": ("radimpress.serve.cli", "export reviewed drafts; import evaluation runs"),
    "demo": ("radimpress.demo", "run the whole path on the built-in sample; HTML report"),
}


def _command_in(argv: list[str]) -> str | None:
    """The sub-command named on the command line, if any (options before it are global)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--threads":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser for the command being run; the others are listed by name and help only."""
    parser = argparse.ArgumentParser(
        prog="radimpress",
        description="Draft radiology IMPRESSIONS from FINDINGS, on your own hardware.",
    )
    parser.add_argument("--version", action="version", version=f"radimpress {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "--threads",
        type=int,
        help=f"CPU threads for torch, OpenMP and BLAS (default: ${THREADS_ENV}, else half the cores)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = _command_in(sys.argv[1:] if argv is None else argv)
    modules = [COMMANDS[wanted][0]] if wanted in COMMANDS else []
    for module in modules:
        importlib.import_module(module).register(sub)
    for name, (_module, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
    for name, command in sub.choices.items():
        if name in COMMANDS and "--threads" not in command._option_string_actions:
            command.add_argument(
                "--threads", type=int, default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("absl").setLevel(logging.WARNING)  # rouge-score's tokenizer chatter
    try:
        args.threads = configure_threads(args.threads)
        return int(args.func(args) or 0)
    except InputError as e:
        print(f"radimpress {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
