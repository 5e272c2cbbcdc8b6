"""`radimpress ingest` end to end, the public ingest_paths API and the format registry."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from radimpress.cli import main  # noqa: E402
from radimpress.ingest import Format, ingest_paths, register_format, sample_paths  # noqa: E402
from radimpress.ingest.formats import FORMATS  # noqa: E402
from radimpress.records import InputError, Reject, Report, read_jsonl  # noqa: E402


def _lines(path):
    return [obj for _, obj in read_jsonl(path)]


@pytest.mark.parametrize("command", [["ingest", "SRC"], ["dataset", "build", "--input", "SRC"]])
def test_an_out_folder_named_like_a_file_is_refused_with_the_fix(tmp_path, capsys, command):
    """`--out reports.jsonl` made a folder of that name; the user found out a command later."""
    src = tmp_path / "a.txt"
    src.write_text("FINDINGS: Clear lungs.\nIMPRESSION: Normal.\n")
    args = [str(src) if a == "SRC" else a for a in command]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--out", str(tmp_path / "reports.jsonl")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "reports.jsonl' names a file; --out names a folder" in err
    assert f"'{tmp_path / 'reports'}'" in err
    assert not (tmp_path / "reports.jsonl").exists()
    with pytest.raises(SystemExit, match="2"):  # an existing file is never replaced by a folder
        main([*args, "--out", str(src)])
    assert "a.txt' is a file" in capsys.readouterr().err
    (tmp_path / "kept.jsonl").mkdir()  # a folder that exists is taken whatever its name
    assert main(["ingest", str(src), "--out", str(tmp_path / "kept.jsonl")]) == 0
    assert (tmp_path / "kept.jsonl" / "reports.jsonl").exists()


def test_cli_writes_reports_rejects_summary_and_prints_counts(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(
        "FINDINGS: Clear lungs.\nIMPRESSION: Normal.\n=====\nFINDINGS: Small effusion.\n"
    )
    (src / "b.csv").write_text(
        "uid,findings,impression\n1,Cardiomegaly.,Cardiomegaly.\n2,,Normal.\n"
    )
    (src / "c.xml").write_text("<eCitation><AbstractText Label='FINDINGS'>x</eCitation>")
    out = tmp_path / "out"
    rc = main(["ingest", str(src), "--out", str(out)])
    assert rc == 0
    reports = _lines(out / "reports.jsonl")
    assert [r["id"] for r in reports] == ["a#1", "a#2", "1"]
    assert [r["trainable"] for r in reports] == [True, False, True]
    rejects = _lines(out / "rejects.jsonl")
    assert {
        (r["source"], r["location"].split(",")[0], r["reason"].split(":")[0]) for r in rejects
    } == {
        (str(src / "b.csv"), "line 3", "empty findings"),
        (str(src / "c.xml"), "line 1", "bad XML"),
    }
    assert all(set(r) == {"source", "location", "reason", "excerpt"} for r in rejects)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["read"] == 5 and summary["accepted"] == 3 and summary["rejected"] == 2
    assert summary["not_trainable"] == 1
    assert summary["rejected_by_reason"] == {"empty findings": 1, "bad XML": 1}
    printed = capsys.readouterr().out
    assert "accepted" in printed and "1 not trainable" in printed and "bad XML" in printed


def test_cli_exit_code_nonzero_only_when_nothing_accepted(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,findings\n1,\n")
    good = tmp_path / "good.txt"
    good.write_text("FINDINGS: Clear.\n")
    assert main(["ingest", str(bad), "--out", str(tmp_path / "o1")]) == 1
    assert (tmp_path / "o1" / "rejects.jsonl").exists()  # the reasons are still written
    assert main(["ingest", str(bad), str(good), "--out", str(tmp_path / "o2")]) == 0
    assert main(["ingest", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o3")]) == 1
    assert _lines(tmp_path / "o3" / "rejects.jsonl")[0]["reason"] == "file not found"


def test_cli_column_options_and_format_override(tmp_path):
    p = tmp_path / "notes.log"
    p.write_text("FINDINGS: Clear.\nIMPRESSION: Normal.\n")
    out = tmp_path / "o"
    assert main(["ingest", str(p), "--out", str(out)]) == 1  # .log is no known format
    assert "unsupported format" in _lines(out / "rejects.jsonl")[0]["reason"]
    assert main(["ingest", str(p), "--format", "freetext", "--out", str(out)]) == 0
    assert _lines(out / "reports.jsonl")[0]["impression"] == "Normal."
    t = tmp_path / "t.csv"
    t.write_text("key,body\nk1,Clear lungs.\n")
    assert (
        main(["ingest", str(t), "--findings-col", "body", "--id-col", "key", "--out", str(out)])
        == 0
    )
    assert _lines(out / "reports.jsonl")[0]["id"] == "k1"


def test_rerun_gives_identical_files(tmp_path):
    for name in ("o1", "o2"):
        assert main(["ingest", *map(str, sample_paths()), "--out", str(tmp_path / name)]) == 0
    a = (tmp_path / "o1" / "reports.jsonl").read_bytes()
    assert a == (tmp_path / "o2" / "reports.jsonl").read_bytes()


def test_builtin_sample_ingests_cleanly_in_every_format():
    paths = sample_paths()
    res = ingest_paths(paths)
    assert res.rejects == []
    assert len(res.reports) >= 50
    assert sum(r.trainable for r in res.reports) >= 45
    assert res.summary["not_trainable"] >= 1
    assert {"freetext", "openi-xml", "csv", "jsonl"} <= set(res.summary["by_format"])
    assert len({r.id for r in res.reports}) == len(res.reports)
    assert any("\n2. " in (r.impression or "") for r in res.reports)  # numbered impressions


def test_duplicate_ids_are_rejected_naming_the_first(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text('{"id": "x", "findings": "Clear."}\n{"id": "x", "findings": "Effusion."}\n')
    res = ingest_paths([a])
    assert [r.findings for r in res.reports] == ["Clear."]
    (rej,) = res.rejects
    assert rej.location == "line 2"
    assert rej.reason == f"duplicate id: 'x' already read from {a}:1"


def test_unknown_option_and_unknown_format_are_errors(tmp_path):
    with pytest.raises(TypeError, match="findings_column"):
        ingest_paths([tmp_path], findings_column="x")
    with pytest.raises(InputError, match="unknown format 'dicom-sr'"):
        ingest_paths([tmp_path], format="dicom-sr")


def _detect_hl7(src, head: bytes) -> bool:
    return head.startswith(b"XSH|")  # not MSH: the real hl7v2 reader would claim that


def _read_hl7(src, options) -> Iterator[Report | Reject]:
    for no, line in enumerate(src.read_bytes().decode().splitlines(), start=1):
        if line.startswith("OBX|"):
            yield Report(
                id=f"{src.stem}-{no}", findings=line.split("|")[5], source=f"{src.label}:{no}"
            )


def test_a_new_format_is_one_registry_entry_and_wins_over_free_text(tmp_path):
    p = tmp_path / "msg.txt"  # .txt would otherwise go to the free-text reader
    p.write_text("XSH|^~\\&|RIS\nOBX|1|TX|FINDINGS||Clear lungs.\n")
    assert ingest_paths([p]).rejects[0].reason == "no findings section"
    saved = list(FORMATS)
    try:
        register_format(Format("hl7v2-test", f"{__name__}:_detect_hl7", f"{__name__}:_read_hl7"))
        res = ingest_paths([p])
        assert [(r.id, r.findings) for r in res.reports] == [("msg-2", "Clear lungs.")]
        assert res.summary["by_format"]["hl7v2-test"]["accepted"] == 1
    finally:
        FORMATS[:] = saved


def test_a_reader_crash_becomes_a_reject_for_that_file_only(tmp_path):
    (tmp_path / "a.boom").write_text("x")
    (tmp_path / "b.txt").write_text("FINDINGS: Clear.\n")
    saved = list(FORMATS)
    try:
        register_format(Format("boom", f"{__name__}:_detect_boom", f"{__name__}:_read_boom"))
        res = ingest_paths([tmp_path])
    finally:
        FORMATS[:] = saved
    assert [r.id for r in res.reports] == ["b"]
    assert res.rejects[0].reason == "reader error: boom: RuntimeError: kaboom"


def _detect_boom(src, head):
    return src.suffix == ".boom"


def _read_boom(src, options):
    raise RuntimeError("kaboom")
    yield


def test_sample_folder_as_a_whole_ingests_cleanly_and_skips_its_readme():
    folder = sample_paths()[0].parents[0]
    while folder.name != "sample":
        folder = folder.parent
    assert (folder / "README.md").exists()
    res = ingest_paths([folder])
    assert res.rejects == []
    assert len(res.reports) == len(ingest_paths(sample_paths()).reports)
