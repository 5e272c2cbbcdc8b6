"""Holes where records used to disappear without a reject, each closed and checked."""

from __future__ import annotations

import json
import logging

from radimpress.cli import main
from radimpress.formats import hl7v2
from radimpress.ingest import Format, ingest_paths, register_format
from radimpress.ingest.formats import FORMATS


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def test_a_jsonl_line_too_deep_or_with_a_huge_integer_is_one_reject_and_reading_goes_on(tmp_path):
    p = _write(
        tmp_path,
        "a.jsonl",
        '{"id": 1, "findings": "Clear."}\n'
        '{"id": 2, "findings": ' + "[" * 5000 + "]" * 5000 + "}\n"
        '{"id": 3, "findings": "x", "n": ' + "1" * 4400 + "}\n"
        '{"id": 4, "findings": "Effusion."}\n',
    )
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["1", "4"]
    assert {r.location: r.reason for r in res.rejects} == {
        "line 2": "invalid JSON: nested too deeply",
        "line 3": "invalid JSON: a number with more than 4,300 digits",
    }


def test_json_lines_whose_first_line_is_an_array_are_still_json_lines(tmp_path):
    p = _write(
        tmp_path,
        "batch.json",
        '[1, 2]\n{"id": "a", "findings": "Clear."}\n{"id": "b", "findings": "Effusion."}\n',
    )
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["a", "b"]
    (rej,) = res.rejects
    assert (rej.location, rej.reason) == (
        "line 1",
        "invalid record: expected a JSON object, got array",
    )


def test_a_pretty_printed_json_document_stays_one_document(tmp_path):
    doc = [{"id": "a", "findings": "Clear."}, {"id": "b", "findings": 5}]
    p = _write(tmp_path, "doc.json", json.dumps(doc, indent=2))
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["a"]
    assert [(r.location, r.reason) for r in res.rejects] == [
        ("item 2", "invalid record: field 'findings' must be text, got number")
    ]
    broken = _write(tmp_path, "broken.json", json.dumps(doc, indent=2)[:-3])
    (rej,) = ingest_paths([broken]).rejects
    assert rej.reason.startswith("invalid JSON")  # one reject, not one per line


def test_non_string_text_fields_are_rejects_naming_the_field(tmp_path):
    p = _write(
        tmp_path,
        "t.jsonl",
        '{"id": 1, "findings": 5}\n'
        '{"id": 2, "findings": "Clear.", "impression": false}\n'
        '{"id": true, "findings": "Clear."}\n'
        '{"id": 4, "findings": "Clear.", "patient_id": 77}\n',
    )
    res = ingest_paths([p])
    assert [(r.id, r.patient_id) for r in res.reports] == [("4", "77")]
    assert [r.reason for r in res.rejects] == [
        "invalid record: field 'findings' must be text, got number",
        "invalid record: field 'impression' must be text, got boolean",
        "invalid record: field 'id' must be text or a number, got boolean",
    ]


def test_each_csv_row_with_an_open_quote_is_its_own_reject(tmp_path):
    rows = ["id,findings,impression"] + [f'{i},"open quote {i},Normal.' for i in range(2000)]
    p = _write(tmp_path, "open.csv", "\n".join(rows) + "\n")
    res = ingest_paths([p])
    assert res.reports == [] and len(res.rejects) == 2000
    assert [r.location for r in res.rejects[:3]] == ["line 2", "line 3", "line 4"]


def test_good_csv_rows_after_an_open_quote_are_read(tmp_path):
    p = _write(
        tmp_path,
        "mixed.csv",
        'id,findings,impression\n1,"never closed,x\n2,Clear.,Normal.\n3,"Quoted, fine.",x\n'
        '4,"Two\nlines.",x\n5,Effusion.,x\n',
    )
    res = ingest_paths([p])
    assert [(r.id, r.findings) for r in res.reports] == [
        ("2", "Clear."),
        ("3", "Quoted, fine."),
        ("4", "Two\nlines."),
        ("5", "Effusion."),
    ]
    (rej,) = res.rejects
    assert rej.location == "line 2" and "reading resumes on line 3" in rej.reason


def test_bom_only_and_blank_tables_are_empty_files(tmp_path):
    tsv = _write(tmp_path, "bom.tsv", b"\xef\xbb\xbf")
    blank = _write(tmp_path, "blank.csv", b"\xef\xbb\xbf\n\n")
    res = ingest_paths([tsv, blank])
    assert [(r.source, r.reason) for r in res.rejects] == [
        (str(tsv), "empty file"),
        (str(blank), "empty file"),
    ]


def test_utf16_without_bom_gets_an_encoding_hint_and_with_bom_is_read(tmp_path):
    text = "FINDINGS: Clear lungs.\nIMPRESSION: Normal.\n"
    le = _write(tmp_path, "le.txt", text.encode("utf-16-le"))
    be = _write(tmp_path, "be.csv", "id,findings\n1,Clear.\n".encode("utf-16-be"))
    res = ingest_paths([le, be])
    assert res.reports == []
    assert [r.reason for r in res.rejects] == [
        "looks like UTF-16-LE text without a byte-order mark (a NUL byte in every other "
        "position); pass --encoding utf-16-le",
        "looks like UTF-16-BE text without a byte-order mark (a NUL byte in every other "
        "position); pass --encoding utf-16-be",
    ]
    assert ingest_paths([le], encoding="utf-16-le").reports[0].impression == "Normal."
    bom = _write(tmp_path, "bom.txt", text.encode("utf-16"))
    assert ingest_paths([bom]).reports[0].findings == "Clear lungs."


def test_every_fhir_bundle_entry_is_a_report_part_of_one_or_a_reject(tmp_path):
    dr = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "XR"},
        "identifier": [{"value": "acc-1"}],
        "result": [{"reference": "Observation/o1"}],
    }
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "f"},
        "valueString": "Clear lungs.",
    }
    entries = [
        {"resource": dr},
        {"resource": obs},
        None,
        "text",
        {"resource": {"resourceType": "Patient", "id": "p"}},
        {"resource": {**obs, "id": "o2"}},
        {"fullUrl": "urn:x"},
    ]
    p = _write(tmp_path, "b.json", json.dumps({"resourceType": "Bundle", "entry": entries}))
    res = ingest_paths([p])
    assert [(r.id, r.findings) for r in res.reports] == [("acc-1", "Clear lungs.")]
    assert [(r.location, r.reason.split(":", 1)[1].strip()) for r in res.rejects] == [
        ("Bundle.entry[2]", "null"),
        ("Bundle.entry[3]", "not an object (str)"),
        (
            "Bundle.entry[4]",
            "resourceType 'Patient' (only DiagnosticReport entries and the Observations "
            "they reference are read)",
        ),
        ("Bundle.entry[5]", "Observation that no DiagnosticReport in the Bundle references"),
        ("Bundle.entry[6]", "no resource object"),
    ]


def test_fhir_ndjson_bad_lines_are_rejects_and_the_rest_is_read(tmp_path):
    dr = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "XR"},
        "conclusion": "Normal.",
        "presentedForm": [{"contentType": "text/plain", "data": "Q2xlYXIu"}],
    }
    lines = [
        json.dumps({**dr, "id": "a"}),
        "[" * 3000 + "]" * 3000,
        json.dumps({**dr, "id": "b"}).replace('"Normal."', "1" * 4400),
        json.dumps({**dr, "id": "c"}),
    ]
    p = _write(tmp_path, "r.ndjson", "\n".join(lines) + "\n")
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["a", "c"]
    assert [(r.location, r.reason) for r in res.rejects] == [
        ("line 2", "invalid JSON: nested too deeply"),
        ("line 3", "invalid JSON: a number with more than 4,300 digits"),
    ]
    # .ndjson is one resource a line even when most lines are broken
    mostly_broken = _write(tmp_path, "m.ndjson", "\n".join([lines[0], "{bad", "{bad"]) + "\n")
    res = ingest_paths([mostly_broken])
    assert [r.id for r in res.reports] == ["a"]
    assert [r.location for r in res.rejects] == ["line 2", "line 3"]


def test_hl7_file_is_split_once_however_many_messages_are_rejected(tmp_path, monkeypatch):
    msg = "MSH|^~\\&|RIS|H|||20240101||ORU^R01|M{i}|P|2.5\rOBX|1|TX|&IMP|1|no findings\r"
    p = _write(tmp_path, "bad.hl7", "".join(msg.format(i=i) for i in range(500)))
    calls = []
    real = hl7v2.split_messages

    def counting(text):
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr("radimpress.ingest.hl7_reader.split_messages", counting)
    res = ingest_paths([p])
    assert len(res.rejects) == 500 and res.reports == []
    assert len(calls) == 1  # was once per reject: quadratic in bad messages
    assert res.rejects[1].location == "line 3" and "no findings" in res.rejects[1].reason


def test_openi_xml_entity_bomb_is_refused_by_the_hardened_parser(tmp_path):
    p = _write(
        tmp_path,
        "bomb.xml",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<eCitation><AbstractText Label="FINDINGS">&b;</AbstractText></eCitation>',
    )
    (rej,) = ingest_paths([p]).rejects
    assert rej.reason.startswith("bad XML: refused by the hardened parser")


def _detect_boom(src, head):
    return src.suffix == ".boom"


def _read_boom(src, options):
    raise RuntimeError("kaboom")
    yield


def test_a_caught_reader_error_prints_no_traceback(tmp_path, capsys, caplog):
    (tmp_path / "a.boom").write_text("x")
    (tmp_path / "b.txt").write_text("FINDINGS: Clear.\n")
    saved = list(FORMATS)
    try:
        register_format(Format("boom", f"{__name__}:_detect_boom", f"{__name__}:_read_boom"))
        with caplog.at_level(logging.INFO):
            assert main(["ingest", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    finally:
        FORMATS[:] = saved
    captured = capsys.readouterr()
    ours = "\n".join(  # other libraries' background threads (e.g. Ray's) may log meanwhile
        logging.Formatter().format(r) for r in caplog.records if r.name.startswith("radimpress")
    )
    assert "Traceback" not in captured.out + captured.err + ours
    assert (
        "reader error: boom: RuntimeError: kaboom"
        in (tmp_path / "out" / "rejects.jsonl").read_text()
    )
