"""Free-text reports: header synonyms, inline headers, numbered impressions, multi-report files."""

from __future__ import annotations

import pytest

from radimpress.formats.sections import parse_sections
from radimpress.ingest import ingest_paths


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def _sections(text: str) -> dict[str, str]:
    return parse_sections(text.splitlines(keepends=True)).sections


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("IMPRESSION", "impression"),
        ("Impression", "impression"),
        ("CONCLUSION", "impression"),
        ("Conclusions", "impression"),
        ("SUMMARY", "impression"),
        ("Opinion", "impression"),
        ("INTERPRETATION", "impression"),
        ("INDICATION", "indication"),
        ("Clinical history", "indication"),
        ("HISTORY", "indication"),
        ("Reason for exam", "indication"),
        ("REASON FOR EXAMINATION", "indication"),
        ("Clinical information", "indication"),
        ("COMPARISON", "comparison"),
        ("Comparisons", "comparison"),
        ("EXAMINATION", "exam"),
        ("Exam", "exam"),
        ("PROCEDURE", "exam"),
        ("TECHNIQUE", "technique"),
        ("Description", "findings"),
    ],
)
def test_header_synonyms_map_to_canonical_sections(header, canonical):
    text = f"FINDINGS: Lungs are clear.\n{header}: some text here.\n"
    if canonical == "findings":
        text = f"{header}: some text here.\n"
    secs = _sections(text)
    assert secs[canonical] == "some text here."


def test_headers_on_their_own_line_and_inline_mixed_case():
    secs = _sections(
        "Findings\n  The heart is normal.\n  No effusion.\nIMPRESSION:\nNormal chest.\n"
        "Comparison: XXXX\n"
    )
    assert secs["findings"] == "The heart is normal.\nNo effusion."
    assert secs["impression"] == "Normal chest."
    assert secs["comparison"] == "XXXX"


def test_midline_uppercase_header_splits_a_line_but_lowercase_word_does_not():
    secs = _sections("FINDINGS: Lungs clear, no comparison: none. IMPRESSION: Normal.\n")
    assert secs["findings"] == "Lungs clear, no comparison: none."
    assert secs["impression"] == "Normal."


def test_numbered_impression_kept_line_for_line_and_hard_wraps_undone():
    secs = _sections(
        "FINDINGS:\n The right lower lobe shows patchy\n consolidation. No effusion.\n"
        "IMPRESSION:\n 1. Right lower lobe pneumonia.\n 2. No effusion.\n"
    )
    assert secs["findings"] == "The right lower lobe shows patchy consolidation. No effusion."
    assert secs["impression"] == "1. Right lower lobe pneumonia.\n2. No effusion."


def test_anatomy_subheadings_stay_in_findings_and_open_it_when_unlabelled():
    secs = _sections(
        "INDICATION: line check\nLUNGS: clear.\nHEART: normal size.\nIMPRESSION: Normal.\n"
    )
    assert secs["findings"] == "LUNGS: clear.\nHEART: normal size."
    assert secs["indication"] == "line check"


def test_unknown_capitalised_header_becomes_other_section_and_sentence_colon_does_not():
    secs = _sections(
        "CLINICAL NOTES: XXXX\nFINDINGS: Heart size: normal. Lungs clear.\nIMPRESSION: Normal.\n"
        "RECOMMENDATION: None.\n"
    )
    assert secs["clinical notes"] == "XXXX"
    assert secs["findings"] == "Heart size: normal. Lungs clear."
    assert secs["impression"] == "Normal."
    assert secs["recommendations"] == "None."


def test_single_report_file_gets_stem_id_line_source_and_fields(tmp_path):
    p = _write(
        tmp_path,
        "case_17.txt",
        "\n\n   FINAL REPORT\n EXAMINATION: CHEST (PA AND LAT)\n INDICATION: Cough.\n"
        " TECHNIQUE: PA and lateral\n FINDINGS:\n Small left effusion.\n IMPRESSION:\n Small left effusion.\n",
    )
    res = ingest_paths([p])
    assert res.rejects == []
    (r,) = res.reports
    assert r.id == "case_17"
    assert r.source == f"{p}:3"
    assert r.exam == "CHEST (PA AND LAT)"
    assert r.indication == "Cough."
    assert r.sections == {"technique": "PA and lateral"}
    assert r.trainable


MULTI = """REPORT ID: A1
FINDINGS: Normal heart. Clear lungs.
IMPRESSION: Normal.
=====
FINDINGS: Large right effusion.
CONCLUSION: Large right effusion.
-----
INDICATION: fever
IMPRESSION: Pneumonia.
-----
FINDINGS: Endotracheal tube 4 cm above the carina.

FINAL REPORT
Accession: ACC-9
FINDINGS: Cardiomegaly.
IMPRESSION: Cardiomegaly.
REPORT ID: B7
FINDINGS:
IMPRESSION: nothing to see
"""


def test_multi_report_file_split_ids_and_rejects_with_line_numbers(tmp_path):
    p = _write(tmp_path, "batch.txt", MULTI)
    res = ingest_paths([p])
    ids = [r.id for r in res.reports]
    assert ids == ["A1", "batch#2", "batch#4", "ACC-9"]
    by_id = {r.id: r for r in res.reports}
    assert by_id["batch#2"].impression == "Large right effusion."
    assert by_id["batch#2"].source == f"{p}:5"
    assert not by_id["batch#4"].trainable  # findings without impression is kept, not trainable
    assert by_id["ACC-9"].source == f"{p}:13"
    rejects = {(r.location, r.reason) for r in res.rejects}
    assert rejects == {("line 8", "no findings section"), ("line 17", "empty findings")}
    assert all(r.source == str(p) for r in res.rejects)
    assert res.summary["not_trainable"] == 1
    assert res.summary["rejected_by_reason"] == {"no findings section": 1, "empty findings": 1}


def test_text_without_any_header_is_rejected_unless_asked(tmp_path):
    p = _write(tmp_path, "bare.txt", "The lungs are clear.\nNo effusion.\n")
    res = ingest_paths([p])
    assert [r.reason for r in res.rejects] == ["no findings section"]
    res = ingest_paths([p], headerless_as_findings=True)
    assert res.reports[0].findings == "The lungs are clear.\nNo effusion."
    assert not res.reports[0].trainable


def test_undecodable_bytes_reject_only_that_report_with_offset(tmp_path):
    good = b"FINDINGS: Clear lungs.\nIMPRESSION: Normal.\n=====\n"
    bad = b"FINDINGS: Caf\xe9 lungs.\nIMPRESSION: Odd.\n"
    p = _write(tmp_path, "mixed.txt", good + bad)
    res = ingest_paths([p])
    assert [r.id for r in res.reports] == ["mixed#1"]
    (rej,) = res.rejects
    assert rej.location == "line 4"
    assert f"byte offset {len(good) + len(b'FINDINGS: Caf')}" in rej.reason
    assert "0xE9" in rej.reason and "line 4" in rej.reason
    assert rej.reason.startswith("undecodable bytes")
    # the same file read with the right encoding is accepted in full
    res = ingest_paths([p], encoding="latin-1")
    assert len(res.reports) == 2 and res.reports[1].findings == "Café lungs."


def test_empty_text_file_is_rejected(tmp_path):
    p = _write(tmp_path, "empty.txt", "  \n\n")
    res = ingest_paths([p])
    assert res.reports == []
    assert [(r.source, r.reason) for r in res.rejects] == [(str(p), "empty file")]


def test_back_to_back_reports_without_markers_are_split_at_a_blank_line_and_header(tmp_path):
    p = _write(
        tmp_path,
        "pasted.txt",
        "EXAM: CXR\nFINDINGS: Clear.\nIMPRESSION: Normal.\n\nEXAM: CXR portable\nFINDINGS: Edema.\n"
        "IMPRESSION: Edema.\nADDENDUM: reviewed, no change.\n",
    )
    res = ingest_paths([p])
    assert [(r.id, r.exam, r.findings) for r in res.reports] == [
        ("pasted#1", "CXR", "Clear."),
        ("pasted#2", "CXR portable", "Edema."),
    ]
    assert res.reports[1].sections == {"addendum": "reviewed, no change."}


def test_capitalised_subheadings_stay_in_impression_but_signature_blocks_do_not():
    secs = _sections(
        "FINDINGS: Opacity.\nIMPRESSION:\nRIGHT LOWER LOBE: pneumonia.\nREPORTING RADIOLOGIST: XXXX\n"
    )
    assert secs["impression"] == "RIGHT LOWER LOBE: pneumonia."
    assert secs["reporting radiologist"] == "XXXX"


@pytest.mark.parametrize(
    ("opening", "exam"),
    [
        ("CT CHEST WITHOUT CONTRAST\n\n", "CT CHEST WITHOUT CONTRAST"),
        ("XR Chest 2 views\n", "XR Chest 2 views"),
        # a sentence, two lines, or no modality or chest word: not an exam title
        ("The patient is a 60-year-old smoker.\n", None),
        ("Seen in clinic today.\nCT CHEST\n", None),
        # a title wrapped over two lines is one line
        ("CT CHEST\nWITH CONTRAST\n", "CT CHEST WITH CONTRAST"),
        ("Dr Smith, Radiology\n", None),
    ],
)
def test_an_untitled_opening_line_is_the_exam(tmp_path, opening, exam):
    # without it a CT report is read as a radiograph, and its nodule gets "CT for
    # characterisation" instead of the Fleischner table's answer
    p = _write(tmp_path, "r.txt", opening + "FINDINGS: 7 mm solid nodule.\nIMPRESSION: Nodule.\n")
    (r,) = ingest_paths([p]).reports
    assert r.exam == exam
    assert ("preamble" in r.sections) is (exam is None)


def test_a_ct_report_titled_only_by_its_first_line_gets_the_fleischner_answer(tmp_path):
    from radimpress.safety import recommend

    p = _write(
        tmp_path,
        "ct.txt",
        "CT CHEST WITHOUT CONTRAST\nHISTORY: Former smoker.\n"
        "FINDINGS: There is a 7 mm solid nodule in the right upper lobe.\nIMPRESSION: Nodule.\n",
    )
    (r,) = ingest_paths([p]).reports
    (rec,) = recommend(r.findings, r.impression, r.exam, r.indication)
    assert rec.rule_id == "fleischner-2017/solid/single/6-8/high"


@pytest.mark.parametrize(
    "header", ["FINDINGS/IMPRESSION:", "FINDINGS AND IMPRESSION", "Impression/Findings:"]
)
def test_a_combined_findings_impression_section_is_rejected_saying_so(tmp_path, header):
    p = _write(
        tmp_path, "c.txt", f"EXAM: CT CHEST\n{header}\n6 mm solid nodule in the right lower lobe.\n"
    )
    res = ingest_paths([p])
    (rej,) = res.rejects
    assert rej.reason.startswith("no findings section: findings and impression are one section")


@pytest.mark.parametrize(
    ("header", "section"),
    [
        # joined headers: left unread, the impression after the findings stayed inside them
        ("Impressions/Recommendations", "impression"),
        ("IMPRESSION AND RECOMMENDATIONS", "impression"),
        ("Conclusion/Recommendation", "impression"),
        ("Diagnosis", "impression"),
        ("Technique/Findings", "findings"),
        ("History/Indication", "indication"),
        ("Observations", "findings"),
        ("Comparison studies", "comparison"),
        ("Results", "findings"),
        # a paediatric report's "Results: ... Discussion: Right middle lobe pneumonia." was
        # rejected for having no findings; the discussion is kept out of them, not trained on
        ("Discussion", "discussion"),
    ],
)
@pytest.mark.parametrize("colon", [":", ""])  # "HEADER: text" or the header alone on its line
def test_more_hospital_headers_and_joined_ones(header, section, colon):
    if not colon and header != header.upper() and header != header.title():
        header = header.upper()  # a bare header is written in capitals or title case
    text = f"FINDINGS: Lungs clear.\n{header}{colon}\nNormal chest.\n"
    sections = _sections(text)
    if section == "findings":
        assert sections["findings"] == "Lungs clear.\nNormal chest."
    else:
        assert sections == {"findings": "Lungs clear.", section: "Normal chest."}
