"""Command-line pieces several stages' sub-commands share, written once.

Each stage's ``cli.py`` builds its own sub-command (see `radimpress.cli`), so a
flag several of them take (one meaning, one help text), or the step from parsed
flags to a stage's options dataclass, lives here rather than once per command.
Nothing here imports radimpress, so every stage may import it.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
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
