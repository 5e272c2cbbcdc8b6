"""`radimpress recommend` and the follow-up check in `radimpress check`, end to end."""

from __future__ import annotations

import json

from radimpress.cli import main

RECORDS = [
    {
        "id": "ct",
        "findings": "There is a 7 mm solid nodule in the right upper lobe.",
        "impression": "7 mm right upper lobe nodule.",
        "exam": "CT chest with contrast",
        "indication": "Cough, 30 pack-year smoker.",
    },
    {
        "id": "xr",
        "findings": "9 mm nodule in the left lower lobe, not calcified.",
        "prediction": "Left lower lobe nodule.",
        "image": "PA and lateral chest",
    },
    {
        "id": "cancer",
        "findings": "4 mm nodule.",
        "impression": "4 mm nodule.",
        "exam": "CT chest",
        "indication": "Breast cancer staging.",
    },
    {"id": "nofindings", "impression": "x"},
]


def write(tmp_path, rows):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read(path):
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_recommend_writes_recommendations_exclusions_and_rejects(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "recommend",
                "--input",
                str(write(tmp_path, RECORDS)),
                "--output",
                str(out),
                "--append",
            ]
        )
        == 0
    )
    rows = read(out)
    assert set(rows) == {"ct", "xr", "cancer"}
    (ct,) = rows["ct"]["recommendations"]
    assert ct["rule_id"] == "fleischner-2017/solid/single/6-8/high"
    assert ct["guideline"] == "Fleischner Society 2017" and "CT at 6-12 months" in ct["sentence"]
    assert rows["ct"]["impression_with_followup"].endswith(ct["sentence"])
    # the exam field 'image' (the Open-i name) makes it a radiograph; the draft is 'prediction'
    (xr,) = rows["xr"]["recommendations"]
    assert xr["rule_id"] == "radiograph-nodule/radiograph/ct"
    assert rows["xr"]["prediction_with_followup"].startswith(
        "Left lower lobe nodule. Recommend chest CT"
    )
    assert rows["cancer"]["recommendations"] == []
    assert rows["cancer"]["followup"]["excluded"][0]["id"] == "known-cancer"
    rejects = (tmp_path / "out.jsonl.rejects.jsonl").read_text()
    assert "findings" in rejects
    printed = capsys.readouterr().out
    assert "read 3 records, 2 with a recommendation" in printed
    assert "excluded: known-cancer: 1" in printed


def test_recommend_with_a_site_rule_file_and_bad_input(tmp_path, capsys):
    rules = tmp_path / "thyroid.yaml"
    rules.write_text(
        "id: site-thyroid\nguideline: Site thyroid rule\napplies_to: {modality: [ct]}\n"
        "finding: {name: thyroid nodule, pattern: '\\bthyroid nodule\\b'}\n"
        "sentence: '{recommendation}'\n"
        "cells:\n  - {id: us, when: {}, follow_up: required, recommendation: Thyroid ultrasound.}\n"
    )
    rows = [{"id": "t", "findings": "1.6 cm thyroid nodule.", "exam": "CT neck"}]
    out = tmp_path / "out.jsonl"
    args = ["recommend", "--input", str(write(tmp_path, rows)), "--output", str(out)]
    assert main([*args, "--rules", str(rules), "--only-rules"]) == 0
    assert [r["rule_id"] for r in read(out)["t"]["recommendations"]] == ["site-thyroid/us"]
    assert main([*args, "--rules", str(tmp_path / "missing.yaml")]) == 2
    assert "rule file not found" in capsys.readouterr().err
    bad_age = [{"id": "a", "findings": "7 mm nodule.", "age": "old"}]
    assert main(["recommend", "--input", str(write(tmp_path, bad_age)), "--output", str(out)]) == 2
    assert "field 'age'" in capsys.readouterr().err


def test_check_reads_the_exam_for_the_follow_up_check(tmp_path, capsys):
    out = tmp_path / "checked.jsonl"
    assert main(["check", "--input", str(write(tmp_path, RECORDS[:2])), "--output", str(out)]) == 0
    rows = read(out)
    assert [w["type"] for w in rows["ct"]["warnings"]] == ["missing_follow_up"]
    assert [w["type"] for w in rows["xr"]["warnings"]] == ["missing_follow_up"]
    assert "missing_follow_up: 2" in capsys.readouterr().out
