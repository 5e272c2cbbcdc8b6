"""What a benchmark publishes under its tables comes from a notes file beside it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from radimpress.records import read_reports, write_jsonl
from support import synthetic_reports

ROOT = Path(__file__).resolve().parents[1]


def _bench(name: str):
    """A benchmark script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _benchmarks_md():
    return _bench("benchmarks_md")


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
    module = _bench("gemma_experiments")
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


def test_an_experiment_finished_with_other_flags_is_not_reused(tmp_path):
    """Its folder's result would otherwise be published under this run's header."""
    bench = _gemma_experiments(tmp_path / "gemma_experiments.json")
    args = bench.argparse.Namespace(**bench.RECORDED_SETTINGS)
    (tmp_path / "lora-lr2e-4").mkdir()
    finished = {"experiment": "lora-lr2e-4", "settings": {**bench.RECORDED_SETTINGS, "val": 48}}
    (tmp_path / "lora-lr2e-4" / "result.json").write_text(bench.json.dumps(finished))
    with pytest.raises(SystemExit, match="lora-lr2e-4/result.json: measured with"):
        bench.run("lora-lr2e-4", tmp_path, tmp_path / "test.jsonl", tmp_path, args, tmp_path)
    finished["settings"] = dict(bench.RECORDED_SETTINGS)
    (tmp_path / "lora-lr2e-4" / "result.json").write_text(bench.json.dumps(finished))
    assert bench.run("lora-lr2e-4", tmp_path, None, tmp_path, args, tmp_path) == finished


def test_the_experiments_subset_follows_the_sizes_asked(tmp_path):
    """A subset kept from a run with other sizes would train the new experiments on other pairs."""
    bench = _gemma_experiments(tmp_path / "gemma_experiments.json")
    full = tmp_path / "full"
    for split in ("train", "validation", "test"):
        write_jsonl(full / f"{split}.jsonl", synthetic_reports(10, 3, split[:2]))
    (full / "manifest.json").write_text("{}")
    sizes = bench.argparse.Namespace(train_pairs=4, val=2, test=3)
    folder, tests = bench.subset(full, tmp_path / "work", sizes)
    assert [len(read_reports(folder / f"{s}.jsonl")) for s in ("train", "validation")] == [4, 2]
    assert len(read_reports(tests)) == 3
    sizes.train_pairs = 6
    folder, tests = bench.subset(full, tmp_path / "work", sizes)
    assert len(read_reports(folder / "train.jsonl")) == 6


def test_every_section_names_the_library_versions_it_was_measured_with(tmp_path):
    """A scikit-learn release moved rerank by a point on the same machine: the header says which."""
    bench = _benchmarks_md()
    md = tmp_path / "BENCHMARKS.md"
    bench.replace_section("Speed", "| a | b |", path=md)
    libraries = next(
        line for line in md.read_text().splitlines() if line.startswith("- libraries:")
    )
    import sklearn

    assert f"scikit-learn {sklearn.__version__}" in libraries
    assert all(name in libraries for name in bench.LIBRARIES)
    assert "- machine: " in md.read_text() and "- date: " in md.read_text()


def test_the_benchmark_constraints_pin_every_library_the_sections_name_but_torch():
    """torch's wheel differs by platform, so the README's install command pins it instead."""
    lines = (ROOT / "bench" / "constraints.txt").read_text().splitlines()
    pins = {
        re.sub(r"[-_.]+", "-", line.split("==")[0]).lower()  # pip freeze writes rouge_score
        for line in lines
        if line and not line.startswith("#")
    }
    named = set(_benchmarks_md().LIBRARIES) - {"torch"}
    assert named <= pins and "torch" not in pins and "radimpress" not in pins


def test_a_speed_part_from_another_cpu_is_kept_beside_this_ones(monkeypatch):
    """The speed ratios depend on the CPU's instructions; one CPU's table must not erase another's."""
    speed = _bench("speed")
    monkeypatch.setattr(speed, "machine", lambda: "AMD EPYC (avx2)")
    results = {
        "t5": [{"label": "T5 transformers fp32"}],
        "t5_run": {"machine": "Xeon (amx_tile)"},
        "t5_notes": ["measured with AMX"],
        "t5_elsewhere": {"AMD EPYC (avx2)": {"t5": [{"label": "an older run here"}]}},
    }
    speed.keep_other_machine(results, "t5")
    assert "t5" not in results and "t5_notes" not in results
    assert results["t5_elsewhere"] == {
        "Xeon (amx_tile)": {
            "t5": [{"label": "T5 transformers fp32"}],
            "t5_run": {"machine": "Xeon (amx_tile)"},
            "t5_notes": ["measured with AMX"],
        }
    }
    same = {"t5": [{"label": "x"}], "t5_run": {"machine": "AMD EPYC (avx2)"}}
    speed.keep_other_machine(same, "t5")
    assert same["t5"] == [{"label": "x"}] and same["t5_elsewhere"] == {}


def test_the_ray_part_from_another_cpu_is_kept_whole(monkeypatch):
    """Its larger archives (`ray_more`) go with it: they are what its steady-state ratio is from."""
    speed = _bench("speed")
    monkeypatch.setattr(speed, "machine", lambda: "AMD EPYC (avx512_vnni)")
    run = {"reports": 200, "single_process_s": 5.0, "ray_wall_s": 12.0}
    more = [{"reports": 1000, "single_process_s": 9.0, "ray_wall_s": 17.0}]
    results = {
        "ray": run,
        "ray_more": more,
        "ray_run": {"machine": "Xeon (amx_tile)"},
        "ray_load": 0.4,
    }
    speed.keep_other_machine(results, "ray")
    assert not {"ray", "ray_more", "ray_run", "ray_load"} & set(results)
    kept = results["ray_elsewhere"]["Xeon (amx_tile)"]
    assert kept["ray"] == run and kept["ray_more"] == more and kept["ray_load"] == 0.4


def test_the_ray_steady_state_compares_runs_with_the_same_blocks():
    """Small blocks (for the kill-and-resume check) cost Ray more per report than batch's own;
    a steady-state ratio across the two settings would charge that cost to the archive's size."""
    speed = _bench("speed")
    small = {"reports": 200, "single_process_s": 5.0, "ray_wall_s": 14.0, "blocks": [16, 16]}
    small.update(ray_pipeline_s=12.0, throughput_ratio_wall=0.36, throughput_ratio_pipeline=0.42)
    small.update(identical=True, killed_after=41, resumed_total=200, drafted_twice=0, lost=0)
    small["identical_after_resume"] = True

    def default(n: int, single: float, ray: float) -> dict:
        return {"reports": n, "single_process_s": single, "ray_wall_s": ray, "blocks": None,
                "ray_pipeline_s": ray - 2, "throughput_ratio_wall": 0.5,
                "throughput_ratio_pipeline": 0.5, "identical": True}  # fmt: skip

    results = {"ray": small, "ray_more": [default(200, 5.0, 12.0), default(1000, 9.0, 17.0)]}
    text = "\n".join(speed.ray_lines(results))
    # 800 reports more: one process 4.0 s, Ray 5.0 s (not 3.0 s, against the small blocks' 14.0)
    assert "Against the 200 reports with the same blocks, the 800 reports more cost one process " \
        "4.0 s and Ray 5.0 s: a steady-state throughput ratio of 0.80" in text  # fmt: skip
    assert text.count("steady-state") == 1  # the first default run has no smaller one to compare


def test_a_parts_load_stays_with_this_run_when_another_cpus_table_is_kept(monkeypatch):
    """The Gemma-quality part recorded its load, then moved another CPU's table aside, and the
    load went with that table."""
    speed = _bench("speed")
    monkeypatch.setattr(speed, "machine", lambda: "AMD EPYC (avx512_vnni)")
    monkeypatch.setattr(speed, "load_average", lambda: 0.7)
    results = {
        "gemma_quality": {"rows": [{"label": "fine-tuned transformers fp32"}]},
        "gemma_quality_run": {"machine": "AMD EPYC (avx2)"},
    }
    speed.start_part(results, "gemma_quality")
    assert results["gemma_quality_load"] == 0.7
    assert "gemma_quality_load" not in results["gemma_quality_elsewhere"]["AMD EPYC (avx2)"]


def test_the_in_context_gemma_part_keeps_another_cpus_table_under_its_own(monkeypatch):
    """It overwrote the table of the CPU it last ran on: the other parts kept theirs."""
    speed = _bench("speed")
    monkeypatch.setattr(speed, "machine", lambda: "Xeon (amx_tile)")
    monkeypatch.setattr(speed, "load_average", lambda: 0.3)
    row = {"label": "Gemma transformers fp32 (4 examples)", "reports": 12, "reports_per_s": 0.09}
    row.update(speedup=1.0, rougeL=61.95, rougeL_delta=0.0, peak_rss_mb=3174, load_s=14.3)
    run = {"command": "python bench/speed.py", "date": "2026-11-30", "machine": "AMD EPYC (avx2)"}
    results = {"threads": 2, "gemma": [row], "gemma_run": run}
    speed.start_part(results, "gemma")
    assert "gemma" not in results and results["gemma_load"] == 0.3
    results["gemma"] = [{**row, "reports": 24, "reports_per_s": 0.2}]
    results["gemma_run"] = {**run, "machine": "Xeon (amx_tile)"}
    written = {}
    monkeypatch.setattr(speed, "replace_section", lambda title, body: written.update({title: body}))
    speed.write_section(results, None)
    gemma = written["Speed"].split("### Gemma 3 270M in context")[1]
    assert "24 Open-i test reports" in gemma
    assert "#### The same part on another CPU: AMD EPYC (avx2)" in gemma


def test_the_language_models_ray_part_has_its_own_section_and_keeps_other_cpus(monkeypatch):
    """It is its own part (`--ray-gemma`, run alone with --skip ray): rendered inside the T5
    Ray paragraphs it went with whichever CPU's T5 table was current, and another CPU's run of
    it was kept in speed.json but never shown."""
    speed = _bench("speed")
    monkeypatch.setattr(speed, "machine", lambda: "Xeon (amx_tile)")
    monkeypatch.setattr(speed, "load_average", lambda: 0.5)

    def run(n: int, single: float, ray: float) -> dict:
        return {"reports": n, "single_process_s": single, "ray_wall_s": ray, "blocks": [16, 16],
                "ray_pipeline_s": ray - 2, "throughput_ratio_wall": round(single / ray, 2),
                "throughput_ratio_pipeline": 0.9, "identical": True, "ray_warm_wall_s": ray - 10,
                "throughput_ratio_warm": 0.96, "identical_warm": True}  # fmt: skip

    amd = {"command": "python bench/speed.py", "date": "2026-12-03", "machine": "AMD EPYC"}
    results = {"threads": 2, "ray_gemma": {**run(1000, 164.8, 188.4), "model": "lora"},
               "ray_gemma_run": amd}  # fmt: skip
    speed.start_part(results, "ray_gemma")  # a run on another CPU keeps the AMD one aside
    results["ray_gemma"] = {**run(1000, 120.0, 130.0), "model": "lora"}
    results["ray_gemma_run"] = {**amd, "machine": "Xeon (amx_tile)"}
    small = {**run(200, 5.0, 14.0), "killed_after": 41, "resumed_total": 200, "drafted_twice": 0}
    results["ray"] = {**small, "lost": 0, "identical_after_resume": True}
    written = {}
    monkeypatch.setattr(speed, "replace_section", lambda title, body: written.update({title: body}))
    speed.write_section(results, None)
    t5, lm = written["Speed"].split("### Ray with the fine-tuned language model")
    assert "164.8" not in t5 and "120.0" not in t5
    assert "one process 120.0 s; `radimpress batch` 130.0 s end to end" in lm
    assert "#### The same part on another CPU: AMD EPYC" in lm and "164.8 s" in lm


@pytest.mark.parametrize("notes", sorted((ROOT / "bench").glob("*_notes.md")), ids=lambda p: p.name)
def test_benchmarks_md_publishes_every_paragraph_of_each_notes_file(notes):
    """A note edited after its run is pasted into BENCHMARKS.md too, so a reader sees what the
    next run of the benchmark will publish."""
    published = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    missing = [p[:80] for p in _benchmarks_md().read_notes(notes) if p not in published]
    assert not missing


def test_the_serve_benchmark_stops_on_a_missing_notes_file_before_starting_a_server(tmp_path):
    with pytest.raises(SystemExit, match="typo_notes.md: notes file not found"):
        _bench("serve").main(["--notes", str(tmp_path / "typo_notes.md"), "--no-write"])
