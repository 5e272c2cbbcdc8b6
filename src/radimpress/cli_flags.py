"""Command-line pieces several stages' sub-commands share, written once.

Each stage's ``cli.py`` builds its own sub-command (see `radimpress.cli`), so a
flag several of them take (one meaning, one help text), or the step from parsed
flags to a stage's options dataclass, lives here rather than once per command.
Nothing here imports radimpress, so every stage may import it.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any


def add_model_flag(parser: argparse.ArgumentParser, **kwargs: Any) -> None:
    """``--model``: the folder `radimpress train` wrote, for the commands that draft with it."""
    parser.add_argument(
        "--model", required=True, help="model folder from `radimpress train`", **kwargs
    )


def flag_values(options: type, args: argparse.Namespace) -> dict[str, Any]:
    """The fields of the ``options`` dataclass that the command has a flag of the same name for.

    A stage's options dataclass and its flags share their names (``--val-frac`` is
    ``val_frac``), so adding an option takes a field and a flag, not a third line
    copying one into the other; fields without a flag keep their defaults.
    """
    return {f.name: getattr(args, f.name) for f in fields(options) if hasattr(args, f.name)}


# What a file that a command reads or writes is called; a folder is rarely named so.
_FILE_SUFFIXES = frozenset(
    {".jsonl", ".json", ".csv", ".tsv", ".parquet", ".txt", ".xml", ".html", ".md", ".gz", ".zip"}
)


def output_folder(value: str) -> str:
    """argparse ``type=`` of an ``--out`` that names a folder (the command writes several files).

    Why: `radimpress ingest --out reports.jsonl` made a folder called reports.jsonl, and the
    user found their file was a directory only at the next command. A name that is an
    existing file, or that ends like a data file and does not exist yet, is refused at once
    with the fix; an existing folder is taken whatever its name.
    """
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"'{value}' is a file; --out names a folder (created if missing), "
            "where the command writes its files"
        )
    if not path.exists() and path.suffix.lower() in _FILE_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"'{value}' names a file; --out names a folder (created if missing), where the "
            f"command writes its files: give e.g. '{path.with_suffix('')}'"
        )
    return value
