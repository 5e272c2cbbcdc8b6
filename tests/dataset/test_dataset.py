"""Dataset build: cleaning keeps meaning, duplicates are counted, splits are reproducible."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from radimpress.cli import main
from radimpress.dataset import DatasetOptions, build_dataset, build_dataset_files
from radimpress.dataset.clean import CleanOptions, clean_text
from radimpress.records import Report, read_reports

# ---------------------------------------------------------------- cleaning


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # whitespace: runs collapse, hard wraps inside a sentence join, edges strip
        ("  Heart   size\tnormal.  ", "Heart size normal."),
        ("No acute\ncardiopulmonary\r\ndisease.", "No acute cardiopulmonary disease."),
        ("Small effusion .", "Small effusion."),
        # repeated punctuation, including the ellipsis and ". ." from dictation
        ("No pneumothorax..", "No pneumothorax."),
        ("No pneumothorax...", "No pneumothorax."),
        ("No effusion. . Stable.", "No effusion. Stable."),
        ("Clear lungs,, no effusion;; stable", "Clear lungs, no effusion; stable"),
        # decimals and measurements are not punctuation runs
        ("Nodule 1.5 cm, previously 1.2 cm.", "Nodule 1.5 cm, previously 1.2 cm."),
        ("Nodule measuring .5 cm.", "Nodule measuring .5 cm."),
        # placeholders of every common tool become one token
        ("Dr. XXXX was called.", "Dr. XXXX was called."),
        ("Compared to ___ study.", "Compared to XXXX study."),
        ("Seen by [**First Name8 (NamePattern2) **] today.", "Seen by XXXX today."),
        ("Discussed with XXXX XXXX on XXXX-XXXX.", "Discussed with XXXX on XXXX."),
        ("Prior xxxx exam.", "Prior XXXX exam."),
        # a lone X or x in dimensions is not a placeholder
        ("Mass 3 x 4 cm, XX unchanged.", "Mass 3 x 4 cm, XX unchanged."),
    ],
)
def test_clean_text_rules(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_impression_numbering_kept_on_own_lines_by_default() -> None:
    raw = "1. No acute disease.\n2. Stable   cardiomegaly ..\n  3. Old rib\nfracture."
    assert clean_text(raw, is_impression=True) == (
        "1. No acute disease.\n2. Stable cardiomegaly.\n3. Old rib fracture."
    )


def test_strip_numbering_keeps_items_apart_and_ignores_non_lists() -> None:
    opts = CleanOptions(strip_numbering=True)
    assert clean_text("1. No acute disease. 2. Effusion 1.5 cm.", opts, is_impression=True) == (
        "No acute disease.\nEffusion 1.5 cm."
    )
    # "5." ends a sentence about rib 5: it is not item 5 of a list
    text = "Fracture of rib 5. Stable."
    assert clean_text(text, opts, is_impression=True) == text
    # findings are never renumbered, only impressions
    assert (
        clean_text("1. Heart normal. 2. Lungs clear.", opts) == "1. Heart normal. 2. Lungs clear."
    )


def test_custom_placeholder_token_and_collapse() -> None:
    opts = CleanOptions(placeholder="[REDACTED]")
    assert clean_text("Called XXXX ___ [**Doctor**] at 10am.", opts) == "Called [REDACTED] at 10am."


# ---------------------------------------------------------------- build


def _report(i: int, **kw) -> Report:
    base = {
        "id": f"r{i}",
        "findings": f"Heart size normal. Lungs clear, case {i}.",
        "impression": "No acute cardiopulmonary disease.",
    }
    base.update(kw)
    return Report(**base)


def _write_reports(path: Path, reports: list[Report]) -> Path:
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in reports), encoding="utf-8")
    return path


def test_duplicates_counted_after_cleaning_and_removed_with_dedupe() -> None:
    same = {"findings": "Normal heart. Clear lungs.", "impression": "No acute disease."}
    reports = [
        _report(0, **same),
        _report(
            1, findings="Normal  heart.\nClear lungs.", impression="No acute disease .."
        ),  # same after cleaning
        _report(2, **same),
        _report(3),
        _report(4, findings="Cardiomegaly.", impression="Cardiomegaly."),
    ]
    kept = build_dataset(reports, DatasetOptions(val_frac=0.0, test_frac=0.0))
    assert kept.manifest["counts"]["exact_duplicate_pairs"] == 2
    assert kept.manifest["counts"]["distinct_pairs_repeated"] == 1
    assert kept.manifest["counts"]["in_splits"] == 5
    assert kept.manifest["most_repeated_pairs"][0]["count"] == 3

    deduped = build_dataset(reports, DatasetOptions(val_frac=0.0, test_frac=0.0, dedupe=True))
    ids = sorted(r.id for split in deduped.splits.values() for r in split)
    assert ids == ["r0", "r3", "r4"]  # the first of each duplicate group survives
    assert deduped.manifest["counts"]["duplicates_removed"] == 2


def test_untrainable_and_duplicate_ids_are_kept_out_of_splits_but_not_lost(tmp_path: Path) -> None:
    reports = [
        _report(0),
        _report(1, impression=None),
        _report(2, impression="   "),
        _report(0, findings="Another report reusing id r0."),
        _report(3),
    ]
    inp = _write_reports(tmp_path / "reports.jsonl", reports)
    result = build_dataset_files([inp], tmp_path / "ds")
    in_splits = sorted(r.id for s in result.splits.values() for r in s)
    assert in_splits == ["r0", "r3"]
    untrainable = read_reports(tmp_path / "ds" / "untrainable.jsonl")
    assert sorted(r.id for r in untrainable) == ["r1", "r2"]
    rejects = [
        json.loads(line) for line in (tmp_path / "ds" / "rejects.jsonl").read_text().splitlines()
    ]
    assert len(rejects) == 1 and "duplicate id" in rejects[0]["reason"]
    assert result.manifest["counts"]["untrainable"] == 2
    assert result.manifest["counts"]["duplicate_ids_rejected"] == 1


def _many(n: int, patients: int | None = None) -> list[Report]:
    return [
        _report(
            i,
            patient_id=(f"p{i % patients}" if patients else None),
            impression=f"Finding {i % 17}.",
        )
        for i in range(n)
    ]


def test_same_seed_gives_byte_identical_files_and_other_seed_differs(tmp_path: Path) -> None:
    inp = _write_reports(tmp_path / "reports.jsonl", _many(300, patients=120))
    build_dataset_files([inp], tmp_path / "a", DatasetOptions(seed=13))
    build_dataset_files([inp], tmp_path / "b", DatasetOptions(seed=13))
    build_dataset_files([inp], tmp_path / "c", DatasetOptions(seed=14))
    for split in ("train", "validation", "test"):
        a = (tmp_path / "a" / f"{split}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / f"{split}.jsonl").read_bytes()
    assert (tmp_path / "a" / "test.jsonl").read_bytes() != (
        tmp_path / "c" / "test.jsonl"
    ).read_bytes()


def test_a_patient_never_spans_two_splits_and_study_is_the_fallback() -> None:
    reports = _many(400, patients=90)
    reports += [_report(1000 + i, study_id=f"s{i % 20}") for i in range(60)]  # no patient id
    result = build_dataset(reports, DatasetOptions(seed=7))
    owner: dict[str, str] = {}
    for split, members in result.splits.items():
        for r in members:
            key = r.patient_id or f"study:{r.study_id}"
            assert owner.setdefault(key, split) == split, f"{key} in {owner[key]} and {split}"
    assert result.manifest["split"]["group_kinds"] == {"patient": 90, "study": 20}


def test_group_by_none_splits_reports_of_one_patient() -> None:
    reports = [_report(i, patient_id="same-patient") for i in range(200)]
    grouped = build_dataset(reports, DatasetOptions())
    assert sum(1 for s in grouped.splits.values() if s) == 1  # one group: one split only
    ungrouped = build_dataset(reports, DatasetOptions(group_by="none"))
    assert all(ungrouped.splits[s] for s in ("train", "validation", "test"))


def test_fractions_are_approximately_right() -> None:
    result = build_dataset(_many(3000), DatasetOptions(val_frac=0.15, test_frac=0.1))
    n = 3000
    assert abs(len(result.splits["test"]) / n - 0.10) < 0.03
    assert abs(len(result.splits["validation"]) / n - 0.15) < 0.03
    assert sum(len(s) for s in result.splits.values()) == n


def test_adding_reports_never_moves_old_ones() -> None:
    old_reports = _many(500, patients=200)
    added = [_report(1000 + i, patient_id=f"new{i % 150}") for i in range(300)]
    old = build_dataset(old_reports)
    new = build_dataset(added[:150] + old_reports + added[150:])
    where_old = {r.id: s for s, members in old.splits.items() for r in members}
    where_new = {r.id: s for s, members in new.splits.items() for r in members}
    for rid, split in where_old.items():
        assert where_new[rid] == split


def test_tiny_input_still_gets_a_test_report() -> None:
    result = build_dataset(_many(6), DatasetOptions(seed=1))
    assert result.splits["test"] and result.splits["validation"] and result.splits["train"]


def test_manifest_records_input_sha256_options_and_output_hashes(tmp_path: Path) -> None:
    inp = _write_reports(tmp_path / "reports.jsonl", _many(50))
    build_dataset_files([inp], tmp_path / "ds", DatasetOptions(seed=5, dedupe=True))
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(inp.read_bytes()).hexdigest()
    assert manifest["inputs"][0]["reports"] == 50
    assert manifest["options"]["seed"] == 5 and manifest["options"]["dedupe"] is True
    test_file = tmp_path / "ds" / "test.jsonl"
    assert (
        manifest["files"]["test.jsonl"]["sha256"]
        == hashlib.sha256(test_file.read_bytes()).hexdigest()
    )
    assert sum(manifest["counts"][s] for s in ("train", "validation", "test")) == 50
    assert manifest["radimpress_version"]


def test_cli_build_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = _many(40, patients=15) + [_report(99, impression=None)]
    reports[0] = _report(0, impression="1. Cardiomegaly.\n2. Small XXXX ___ effusion..")
    folder = tmp_path / "ingested"
    folder.mkdir()
    _write_reports(folder / "reports.jsonl", reports)
    out = tmp_path / "ds"
    code = main(["dataset", "build", "--input", str(folder), "--out", str(out), "--seed", "3",
                 "--strip-numbering", "--placeholder", "[X]"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "41 reports" in printed and "1 without impression" in printed
    everything = [
        r for s in ("train", "validation", "test") for r in read_reports(out / f"{s}.jsonl")
    ]
    assert len(everything) == 40
    cleaned = next(r for r in everything if r.id == "r0")
    assert cleaned.impression == "Cardiomegaly.\nSmall [X] effusion."


def test_cli_bad_input_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "reports.jsonl"
    bad.write_text(
        '{"id": "a", "findings": "ok", "impression": "ok"}\n{"id": "b", "impression": "x"}\n'
    )
    code = main(["dataset", "build", "--input", str(bad), "--out", str(tmp_path / "ds")])
    assert code == 2
    assert f"{bad}:2" in capsys.readouterr().err
