"""The main job: `radimpress demo` on the built-in sample, baselines and default recipe only."""

from __future__ import annotations

import json

from radimpress.cli import main


def test_demo_runs_offline_on_the_sample_and_resumes(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-llm"]) == 0
    html = (out / "eval" / "report.html").read_text()
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    systems = metrics["systems"]
    assert "retrieval-consensus" in html and "constant" in html
    assert any(s.startswith("default recipe") for s in systems)
    assert "data:image/png;base64," in html
    test_ids = {
        json.loads(line)["id"] for line in (out / "data" / "test.jsonl").read_text().splitlines()
    }
    preds = (out / "predictions" / "constant.jsonl").read_text().splitlines()
    assert {json.loads(line)["id"] for line in preds} == test_ids
    capsys.readouterr()

    # A second run keeps what is done instead of refitting.
    assert main(["demo", "--out", str(out), "--no-llm"]) == 0
    assert "kept from an earlier run" in capsys.readouterr().out


def test_demo_on_user_data_names_the_problem(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["demo", "--out", str(tmp_path / "d"), "--no-llm", "--data", str(empty)]) == 2
    assert "no report could be ingested" in capsys.readouterr().err


def test_demo_with_too_few_pairs_to_split_says_so(tmp_path, capsys):
    one = tmp_path / "one.jsonl"
    one.write_text(
        json.dumps({"id": "a", "findings": "Lungs clear.", "impression": "Normal."}) + "\n"
    )
    assert main(["demo", "--out", str(tmp_path / "d"), "--no-llm", "--data", str(one)]) == 2
    assert "too few trainable reports to split" in capsys.readouterr().err


def test_demo_converts_in_the_background_only_a_gguf_base():
    from radimpress.demo import _base_model, _start_base_conversion

    assert _base_model("hybrid") is None  # no base model: never waits for the conversion
    assert _base_model("gemma3-270m-lora") == "gemma3-270m"
    assert _start_base_conversion(["constant", "retrieval-consensus", "hybrid"]) is None
