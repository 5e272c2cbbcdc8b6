"""CSV / JSONL / Parquet: column mapping, the Open-i flat CSV, and malformed tables."""

from __future__ import annotations

import json
import os
import sys
import threading

import pandas as pd
import pytest

from radimpress.ingest import ingest_paths
from radimpress.records import Report

OPENI_HEADER = "uid,MeSH,Problems,image,indication,comparison,findings,impression\n"


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def test_openi_flat_csv_needs_no_options(tmp_path):
    p = _write(
        tmp_path,
        "openi.csv",
        OPENI_HEADER
        + "7,Cardiomegaly/mild;Opacity,Cardiomegaly;Opacity,Xray Chest PA and Lateral,Dyspnea.,None.,"
        '"Mild cardiomegaly, clear lungs.","1. Mild cardiomegaly. 2. No edema."\n'
        "8,normal,normal,Xray Chest PA and Lateral,,,,Normal chest.\n"
        '9,normal,normal,"Chest, 2 views",Cough,,"Lungs clear.\nNo effusion.",\n',
    )
    res = ingest_paths([p])
    r7, r9 = res.reports
    assert r7.id == "7" and r7.exam == "Xray Chest PA and Lateral"
    assert r7.findings == "Mild cardiomegaly, clear lungs."
    assert r7.impression == "1. Mild cardiomegaly. 2. No edema."
    assert r7.sections == {"MeSH": "Cardiomegaly/mild;Opacity", "Problems": "Cardiomegaly;Opacity"}
    assert r7.source == f"{p}:2"
    assert r9.findings == "Lungs clear.\nNo effusion." and not r9.trainable
    (rej,) = res.rejects
    assert (rej.source, rej.location, rej.reason) == (str(p), "line 3", "empty findings")
    assert rej.excerpt.startswith("8 | normal")


def test_column_mapping_options(tmp_path):
    p = _write(
        tmp_path,
        "hospital.csv",
        "acc_no;pat;body;concl;why\nA-1;P9;Clear lungs.;Normal.;cough\n",
    )
    res = ingest_paths(
        [p],
        findings_col="body",
        impression_col="concl",
        id_col="acc_no",
        patient_col="pat",
        indication_col="why",
    )
    (r,) = res.reports
    assert (r.id, r.patient_id, r.findings, r.impression, r.indication) == (
        "A-1",
        "P9",
        "Clear lungs.",
        "Normal.",
        "cough",
    )
    assert r.sections == {}


def test_missing_columns_name_the_column_and_the_available_ones(tmp_path):
    p = _write(tmp_path, "t.csv", "uid,body,impression\n1,Clear.,Normal.\n")
    (rej,) = ingest_paths([p]).rejects
    assert rej.reason.startswith("missing column")
    assert "available: uid, body, impression" in rej.reason
    assert "--findings-col" in rej.reason and "--report-col" in rej.reason
    (rej,) = ingest_paths([p], findings_col="body", impression_col="concl").rejects
    assert "'concl'" in rej.reason and "--impression-col" in rej.reason
    assert "available: uid, body, impression" in rej.reason


WHOLE_REPORTS = (
    "accession,patient_id,report_text\n"
    'A-1,P1,"EXAM: CHEST PA AND LATERAL\nINDICATION: cough\n'
    'FINDINGS: Right lower lobe consolidation.\nIMPRESSION: Pneumonia."\n'
    'A-2,P2,"Accession: X-9\nTECHNIQUE: Two views.\nFINDINGS: Lungs clear.\n"\n'
    'A-3,P3,"Lungs clear. No effusion."\n'
    "A-4,P4,\n"
)


def test_a_whole_report_in_one_column_is_split_into_its_sections(tmp_path):
    """A RIS export with one report-text column reads with no options, as a .txt would."""
    p = _write(tmp_path, "ris.csv", WHOLE_REPORTS)
    res = ingest_paths([p])
    r1, r2 = res.reports
    assert (r1.id, r1.patient_id, r1.exam, r1.indication) == (
        "A-1",
        "P1",
        "CHEST PA AND LATERAL",
        "cough",
    )
    assert (r1.findings, r1.impression) == ("Right lower lobe consolidation.", "Pneumonia.")
    assert r1.source == f"{p}:2" and r1.trainable
    # the id column wins over the text's own header; a section the text has is kept
    assert (r2.id, r2.findings, r2.impression) == ("A-2", "Lungs clear.", None)
    assert r2.sections == {"technique": "Two views."}
    no_header, empty = res.rejects
    assert no_header.location == "line 10" and "no findings section in column 'report_text'" in (
        no_header.reason
    )
    assert "--headerless-as-findings" in no_header.reason
    assert (empty.location, empty.reason) == (
        "line 11",
        "empty report text in column 'report_text'",
    )


def test_a_findings_cell_that_holds_the_impression_too_is_split(tmp_path):
    """Left whole, a model would train on the radiologist's answer and draft by copying it."""
    p = _write(
        tmp_path,
        "leak.csv",
        "id,findings,impression\n"
        '1,"Lungs clear.\nIMPRESSION: Normal chest.",\n'
        '2,"INDICATION: Cough. FINDINGS: Right effusion. IMPRESSION: Effusion.",Effusion.\n'
        '3,"Left effusion.\nImpression: Left effusion, new.",Small left effusion.\n'
        "4,Lungs clear. No change in impression of hyperinflation.,Normal.\n",
    )
    r1, r2, r3, r4 = ingest_paths([p]).reports
    assert (r1.findings, r1.impression, r1.trainable) == ("Lungs clear.", "Normal chest.", True)
    assert (r2.findings, r2.impression, r2.indication) == ("Right effusion.", "Effusion.", "Cough.")
    assert r2.sections == {}
    # the impression column wins; a different one in the cell is kept beside it, not lost
    assert (r3.findings, r3.impression) == ("Left effusion.", "Small left effusion.")
    assert r3.sections == {"impression (in findings)": "Left effusion, new."}
    assert r4.findings == "Lungs clear. No change in impression of hyperinflation."


def test_whole_report_column_options(tmp_path):
    p = _write(tmp_path, "ris.csv", WHOLE_REPORTS)
    res = ingest_paths([p], headerless_as_findings=True)
    assert [r.findings for r in res.reports][2] == "Lungs clear. No effusion."
    empty = _write(tmp_path, "e.csv", 'id,report\n1,"FINDINGS:\nIMPRESSION: Normal."\n')
    (rej,) = ingest_paths([empty]).rejects
    assert rej.reason == "empty findings in column 'report'"
    # a findings column is read before a whole-report one, unless --report-col asks for it
    both = _write(
        tmp_path, "both.jsonl", json.dumps({"id": "1", "findings": "F.", "text": "FINDINGS: T."})
    )
    assert ingest_paths([both]).reports[0].findings == "F."
    assert ingest_paths([both], report_col="text").reports[0].findings == "T."
    (rej,) = ingest_paths([both], report_col="text", findings_col="findings").rejects
    assert rej.reason == "give --findings-col or --report-col, not both"
    parquet = tmp_path / "ris.parquet"
    pd.DataFrame(
        {"acc": ["p1"], "Narrative": ["FINDINGS: Clear.\nIMPRESSION: Normal."]}
    ).to_parquet(parquet)
    (r,) = ingest_paths([parquet], id_col="acc").reports
    assert (r.id, r.findings, r.impression) == ("p1", "Clear.", "Normal.")


def test_broken_quoting_rejects_the_row_and_reading_resumes(tmp_path):
    p = _write(
        tmp_path,
        "broken.csv",
        "id,findings,impression\n"
        "1,Clear lungs.,Normal.\n"
        '2,"Left "basilar" opacity",Atelectasis.\n'  # quote inside a quoted field
        "3,Cardiomegaly.,Cardiomegaly.,extra\n"  # unquoted comma
        '4,"Unterminated quote,Pneumonia.\n'  # quote never closed
        "5,Small effusion.,Effusion.\n",
    )
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["1", "5"]
    rejects = {r.location: r.reason for r in res.rejects}
    assert set(rejects) == {"line 3", "line 4", "line 5"}
    assert rejects["line 3"].startswith("broken CSV quoting")
    assert rejects["line 4"].startswith("broken CSV row: 4 fields but the header has 3")
    assert "line 5" in rejects["line 5"] and "never closed" in rejects["line 5"]


def test_undecodable_bytes_reported_with_byte_offset_and_line(tmp_path):
    head = b"id,findings,impression\n1,Clear.,Normal.\n"
    p = _write(tmp_path, "latin.csv", head + b"2,Caf\xe9 opacity.,Odd.\n3,Clear.,Normal.\n")
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["1", "3"]
    (rej,) = res.rejects
    assert rej.location == "line 3"
    assert f"byte offset {len(head) + 5}" in rej.reason and "0xE9" in rej.reason


def test_empty_and_header_only_files(tmp_path):
    empty = _write(tmp_path, "empty.csv", "")
    header_only = _write(tmp_path, "header.csv", OPENI_HEADER)
    res = ingest_paths([empty, header_only])
    assert res.reports == []
    assert [(r.source, r.reason) for r in res.rejects] == [
        (str(empty), "empty file"),
        (str(header_only), "no data rows (header only)"),
    ]


def test_jsonl_in_report_form_round_trips(tmp_path):
    original = [
        Report(
            id="r1",
            findings="Clear.",
            impression="Normal.",
            source="a.txt:3",
            exam="CXR",
            sections={"technique": "PA"},
        ),
        Report(id="r2", findings="Effusion.", patient_id="p2"),
    ]
    p = tmp_path / "reports.jsonl"
    p.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in original))
    res = ingest_paths([p])
    assert res.rejects == []
    assert res.reports[0] == original[0]  # source of an earlier ingest is kept
    assert res.reports[1].patient_id == "p2" and res.reports[1].source == f"{p}:2"


def test_jsonl_bad_lines_are_rejected_with_line_numbers(tmp_path):
    p = _write(
        tmp_path,
        "mixed.jsonl",
        '{"id": 1, "findings": "Clear.", "impression": "Normal."}\n'
        "{not json}\n"
        "[1, 2]\n"
        '{"id": 4, "findings": ""}\n'
        '{"id": 5, "body": "no findings key"}\n'
        '{"id": 6, "findings": ["a", "list"]}\n',
    )
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["1"]
    reasons = {r.location: r.reason for r in res.rejects}
    assert reasons["line 2"].startswith("invalid JSON")
    assert reasons["line 3"].startswith("invalid record: expected a JSON object")
    assert reasons["line 4"] == "empty findings"
    assert (
        reasons["line 5"].startswith("missing field") and "available: id, body" in reasons["line 5"]
    )
    assert reasons["line 6"].startswith("invalid record: field 'findings' must be text")


def test_fhir_json_is_not_swallowed_by_the_jsonl_reader(tmp_path):
    p = _write(tmp_path, "bundle.json", json.dumps({"resourceType": "Bundle", "entry": []}))
    res = ingest_paths([p])
    (rej,) = res.rejects
    assert (
        "jsonl" not in res.summary["by_format"]
        and res.summary["by_format"]["fhir"]["rejected"] == 1
    )
    assert "no DiagnosticReport" in rej.reason


def test_json_array_of_records(tmp_path):
    p = _write(
        tmp_path, "batch.json", json.dumps([{"findings": "Clear.", "impression": "Normal."}])
    )
    (r,) = ingest_paths([p]).reports
    assert r.id == "batch#1" and r.trainable


def test_parquet_with_mapping_and_empty_findings(tmp_path):
    p = tmp_path / "reports.parquet"
    pd.DataFrame(
        {
            "study": ["s1", "s2"],
            "FINDINGS_TEXT": ["Clear lungs.", ""],
            "IMPRESSION": ["Normal.", "x"],
        }
    ).to_parquet(p)
    res = ingest_paths([p], findings_col="findings_text", id_col="study")
    (r,) = res.reports
    assert (r.id, r.findings, r.impression) == ("s1", "Clear lungs.", "Normal.")
    (rej,) = res.rejects
    assert (rej.location, rej.reason) == ("row 2", "empty findings")


def test_corrupt_parquet_is_a_reject(tmp_path):
    p = _write(tmp_path, "bad.parquet", b"PAR1 definitely not parquet")
    (rej,) = ingest_paths([p]).rejects
    assert rej.reason.startswith("unreadable Parquet")


def test_excel_style_csv_with_bom_crlf_and_semicolons(tmp_path):
    p = _write(
        tmp_path,
        "export.csv",
        '\ufeffID;Findings;Impression\r\n1;Clear lungs.;Normal.\r\n2;"Small\r\neffusion.";Effusion.\r\n'.encode(
            "utf-8"
        ),
    )
    res = ingest_paths([p])
    assert res.rejects == []
    assert [(r.id, r.impression) for r in res.reports] == [("1", "Normal."), ("2", "Effusion.")]
    assert res.reports[1].source == f"{p}:3"


def test_reports_through_a_pipe_are_read_once_and_whole(tmp_path):
    """`--input /dev/stdin` or a shell's `<(...)`: a pipe has no suffix and can be read once, so
    detecting its format must not consume what the reader needs (the reader opened it again
    and waited for a second writer)."""
    lines = [json.dumps({"id": f"p{i}", "findings": f"Finding {i}."}) + "\n" for i in range(3)]
    fifo = tmp_path / "stdin"
    os.mkfifo(fifo)
    got: dict = {}
    reader = threading.Thread(target=lambda: got.update(res=ingest_paths([fifo])), daemon=True)
    reader.start()
    fifo.write_text("".join(lines))  # returns once the reader has opened the pipe
    reader.join(timeout=20)
    if reader.is_alive():
        fifo.write_text("")  # the second writer it waits for, so the thread ends
        reader.join(timeout=10)
        pytest.fail("the pipe was opened a second time after its format was detected")
    assert got["res"].rejects == []
    assert [(r.id, r.findings) for r in got["res"].reports] == [
        (f"p{i}", f"Finding {i}.") for i in range(3)
    ]


def _workbook(path, sheets):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_excel_workbook_every_sheet_with_rows_as_excel_numbers_them(tmp_path):
    import datetime as dt

    p = _workbook(
        tmp_path / "ris.xlsx",
        {
            "Reports": [
                ["Accession", "Findings", "Impression", "Comparison"],
                ["A1", "Lungs clear.", "Normal.", dt.date(2024, 1, 5)],
                [None, None, None, None],
                [17, 42, "x", None],
                ["A3", "Right effusion. IMPRESSION: Effusion.", None, None],
            ],
            "Whole reports": [
                ["id", "report_text"],
                ["W1", "FINDINGS: Clear.\nIMPRESSION: Normal."],
            ],
            "Notes": [["exported by", "RIS"], ["note", "monthly"]],
        },
    )
    res = ingest_paths([p])
    a1, a3, w1 = res.reports
    assert (a1.id, a1.comparison, a1.source) == ("A1", "2024-01-05", f"{p}:sheet 'Reports' row 2")
    assert (a3.findings, a3.impression) == ("Right effusion.", "Effusion.")
    assert (w1.id, w1.findings, w1.impression) == ("W1", "Clear.", "Normal.")
    bad_cell, notes = res.rejects
    assert bad_cell.location == "sheet 'Reports' row 4"
    assert bad_cell.reason == "invalid record: field 'Findings' must be text, got number"
    assert notes.location == "sheet 'Notes'" and notes.reason.startswith("missing column")


def test_excel_empty_header_only_broken_and_bomb_workbooks_are_rejects(tmp_path):
    import zipfile

    _workbook(tmp_path / "empty.xlsx", {"Sheet": []})
    _workbook(tmp_path / "header.xlsx", {"Sheet": [["id", "findings"]]})
    _write(tmp_path, "broken.xlsx", b"PK\x03\x04 not really a zip")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b"a" * 5_000_000)
    not_a_workbook = tmp_path / "notes.xlsx"  # a zip, but not a workbook
    with zipfile.ZipFile(not_a_workbook, "w") as z:
        z.writestr("notes.txt", "hello")
    reasons = {r.source.rsplit("/", 1)[-1]: r.reason for r in ingest_paths([tmp_path]).rejects}
    assert reasons["notes.xlsx"].startswith("unreadable Excel workbook: ")
    assert reasons["empty.xlsx"] == "empty workbook"
    assert reasons["header.xlsx"] == "no data rows (header only)"
    assert reasons["broken.xlsx"].startswith("unreadable Excel workbook")
    assert "--max-ratio" in reasons["bomb.xlsx"] and "sharedStrings.xml" in reasons["bomb.xlsx"]


def test_excel_without_openpyxl_is_a_reject_naming_the_extra(tmp_path, monkeypatch):
    p = _workbook(tmp_path / "ris.xlsx", {"Sheet": [["id", "findings"], ["1", "Clear."]]})
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # an import of it now fails
    (rej,) = ingest_paths([p]).rejects
    assert "pip install 'radimpress[formats]'" in rej.reason
