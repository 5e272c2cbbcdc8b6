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


def _gemma_experiments(results: Path):
    spec = importlib.util.spec_from_file_location(
        "gemma_experiments", ROOT / "bench" / "gemma_experiments.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.RESULTS = results
    return module


def test_recorded_experiments_are_kept_only_if_measured_as_this_run_measures(tmp_path):
    """A run of one experiment keeps the others' rows (hours of CPU each), never rows measured
    on another training subset or test set under the same table header."""
    results = tmp_path / "gemma_experiments.json"
    bench = _gemma_experiments(results)
    args = bench.argparse.Namespace(**bench.RECORDED_SETTINGS)
    assert bench.kept_results(args) == []  # nothing recorded yet
    earlier = {"experiment": "icl"}  # recorded before rows kept their settings
    same = {"experiment": "lora-lr2e-4", "settings": dict(bench.RECORDED_SETTINGS)}
    results.write_text(bench.json.dumps([earlier, same]))
    assert bench.kept_results(args) == [earlier, same]
    other = {"experiment": "lora-lr1e-3", "settings": {**bench.RECORDED_SETTINGS, "test": 297}}
    results.write_text(bench.json.dumps([earlier, same, other]))
    with pytest.raises(SystemExit, match="lora-lr1e-3 were measured with other flags"):
        bench.kept_results(args)
    with pytest.raises(SystemExit, match="icl, lora-lr2e-4 were measured with other flags"):
        bench.kept_results(bench.argparse.Namespace(**other["settings"]))
