"""`radimpress check` end to end on a small fixture."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import medspacy  # noqa: E402,F401  (a test dependency: fail, never skip, without it)

from radimpress.cli import main  # noqa: E402

FIXTURE = Path(__file__).parent.parent / "fixtures" / "safety" / "drafts.jsonl"


def test_check_writes_warnings_rejects_and_counts(tmp_path, capsys):
    out = tmp_path / "checked.jsonl"
    assert main(["check", "--input", str(FIXTURE), "--output", str(out), "--select"]) == 0
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"ok", "flip", "miss", "pick"}
    assert rows["ok"]["warnings"] == []
    assert [w["type"] for w in rows["flip"]["warnings"]] == ["laterality_mismatch"]
    # the record keeps its own fields; 'prediction' is checked when there is no impression
    assert rows["miss"]["prediction"] == "No acute cardiopulmonary process."
    assert [w["type"] for w in rows["miss"]["warnings"]] == ["omitted_critical"]
    assert rows["pick"]["safe_index"] == 2
    assert rows["pick"]["safe_prediction"] == "Small right pneumothorax."
    rejects = [
        json.loads(x) for x in (tmp_path / "checked.jsonl.rejects.jsonl").read_text().splitlines()
    ]
    assert (
        len(rejects) == 1
        and "findings" in rejects[0]["reason"]
        and rejects[0]["location"] == "line 5"
    )
    printed = capsys.readouterr().out
    assert "laterality_mismatch: 2" in printed and "omitted_critical: 1" in printed


def test_check_fail_on_warning_and_bad_options(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    assert main(["check", "--input", str(FIXTURE), "--output", str(out), "--fail-on-warning"]) == 1
    assert (
        main(["check", "--input", str(FIXTURE), "--output", str(out), "--critical", "Dragons"]) == 2
    )
    assert "unknown observation" in capsys.readouterr().err
    assert main(["check", "--input", str(tmp_path / "missing.jsonl"), "--output", str(out)]) == 2


def test_check_predictions_take_findings_from_reports(tmp_path):
    reports = tmp_path / "reports.jsonl"
    reports.write_text(
        json.dumps({"id": "r1", "findings": "Small left pneumothorax.", "impression": "x"})
        + "\n{broken line\n"  # the reports file's own bad record is kept too, not lost
    )
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        json.dumps({"id": "r1", "prediction": "Small right pneumothorax."})
        + "\n"
        + json.dumps({"id": "unknown", "prediction": "No acute disease."})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    assert (
        main(["check", "--input", str(preds), "--output", str(out), "--reports", str(reports)]) == 0
    )
    (row,) = map(json.loads, out.read_text().splitlines())
    assert row["id"] == "r1" and [w["type"] for w in row["warnings"]] == ["laterality_mismatch"]
    rejects = [
        json.loads(line) for line in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()
    ]
    assert [(r["source"], r["location"]) for r in rejects] == [
        (str(reports), "line 2"),
        (str(preds), "line 2"),
    ]
    assert rejects[0]["reason"].startswith("invalid JSON")
    assert rejects[1]["reason"] == "missing or empty 'findings'"


def test_check_reports_reads_the_bare_text_generate_reads(tmp_path, capsys):
    from support import saved_model

    note = tmp_path / "note.txt"
    note.write_text("Small left apical pneumothorax. Lungs otherwise clear. Heart size normal.\n")
    model = saved_model(tmp_path / "model")
    preds, out = tmp_path / "preds.jsonl", tmp_path / "checked.jsonl"
    # the model's own draft, which leaves the pneumothorax out (safe selection's last resort
    # would draft the findings' sentence instead)
    args = ["generate", "--model", str(model), "--input", str(note), "--output", str(preds)]
    assert main([*args, "--no-fallback"]) == 0
    code = main(["check", "--input", str(preds), "--reports", str(note), "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    (row,) = map(json.loads, out.read_text().splitlines())
    assert "pneumothorax" not in row["prediction"].lower()
    assert "omitted_critical" in [w["type"] for w in row["warnings"]]  # findings found by id
    assert not (tmp_path / "checked.jsonl.rejects.jsonl").exists()


def test_check_and_recommend_keep_a_broken_or_id_less_line_as_a_reject_and_go_on(tmp_path):
    """A broken JSON line, or a record without an id, stopped the whole file."""
    good = {"id": "a", "findings": "Small left pneumothorax.", "impression": "No acute disease."}
    no_id = {"findings": "Small left pneumothorax.", "impression": "No acute disease."}
    src = tmp_path / "drafts.jsonl"
    src.write_text("\n".join([json.dumps(good), "{broken", json.dumps(no_id), "[1, 2]"]) + "\n")
    for command in ("check", "recommend"):
        out = tmp_path / f"{command}.jsonl"
        assert main([command, "--input", str(src), "--output", str(out)]) == 0
        assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a"]
        rejects = [
            json.loads(line) for line in Path(f"{out}.rejects.jsonl").read_text().splitlines()
        ]
        assert [(r["location"], r["reason"].split(" (")[0]) for r in rejects] == [
            ("line 2", "invalid JSON"),
            ("line 3", "missing field 'id'"),
            ("line 4", "not a JSON object"),
        ]


def test_check_reads_the_study_of_a_prediction_from_its_report(tmp_path):
    """`generate` writes the draft, not the comparison: "Stable cardiomegaly." over a report that
    had no earlier study is flagged from the report's own comparison field."""
    reports = tmp_path / "reports.jsonl"
    rows = [
        {"id": "none", "findings": "Cardiomegaly is noted.", "comparison": "None."},
        {"id": "prior", "findings": "Cardiomegaly is noted.", "comparison": "Chest of 2024."},
    ]
    reports.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        "".join(
            json.dumps({"id": i, "prediction": "Stable cardiomegaly."}) + "\n"
            for i in ("none", "prior")
        )
    )
    out = tmp_path / "out.jsonl"
    assert (
        main(["check", "--input", str(preds), "--output", str(out), "--reports", str(reports)]) == 0
    )
    got = {
        r["id"]: [w["type"] for w in r["warnings"]]
        for r in map(json.loads, out.read_text().splitlines())
    }
    assert got == {"none": ["change_without_prior"], "prior": []}
