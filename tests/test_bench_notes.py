"""What a benchmark publishes under its tables comes from a notes file beside it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _benchmarks_md():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_md", ROOT / "bench" / "benchmarks_md.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notes_are_the_files_paragraphs():
    notes = _benchmarks_md().read_notes
    path = ROOT / "bench" / "quality_notes.md"
    paragraphs = notes(path)
    assert len(paragraphs) > 1 and all(p and p == p.strip() for p in paragraphs)
    assert "\n\n".join(paragraphs) == path.read_text(encoding="utf-8").strip()


def test_a_missing_notes_file_stops_the_benchmark_naming_it(tmp_path):
    missing = tmp_path / "typo_notes.md"
    with pytest.raises(SystemExit, match="typo_notes.md: notes file not found"):
        _benchmarks_md().read_notes(missing)
