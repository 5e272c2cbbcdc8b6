"""Ingest: read radiology reports in the forms hospitals and public sets use.

``ingest_paths(paths, **options) -> IngestResult`` is the entry point other
stages call (``radimpress generate --input report.txt`` reads through it);
``radimpress ingest`` is the command-line face. Formats live one per module
and are listed in :mod:`radimpress.ingest.formats`.
"""

from __future__ import annotations

from pathlib import Path

from radimpress.ingest.formats import FORMATS, Format, format_names, register_format
from radimpress.ingest.inputs import load_inputs
from radimpress.ingest.options import IngestOptions
from radimpress.ingest.pipeline import IngestResult, format_summary, ingest_paths

__all__ = [
    "FORMATS",
    "Format",
    "IngestOptions",
    "IngestResult",
    "format_names",
    "format_summary",
    "ingest_paths",
    "load_inputs",
    "register_format",
    "sample_paths",
]


def sample_paths() -> list[Path]:
    """The built-in sample reports shipped in the package (every ingest format, no rejects)."""
    from importlib.resources import files

    root = Path(str(files("radimpress") / "data" / "sample"))
    return sorted(
        p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "README"))
    )
