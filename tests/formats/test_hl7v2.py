"""HL7 v2 ORU^R01: reading findings/impressions and writing drafts other systems can parse."""

from __future__ import annotations

import hl7
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from radimpress.formats.hl7v2 import (
    Hl7Error,
    build_ack,
    build_draft_oru,
    escape,
    parse_oru,
    read_oru_file,
    unescape,
)

ORU = "\r".join(
    [
        "MSH|^~\\&|RIS|GENHOSP|RADIMPRESS|GENHOSP|20240101120000||ORU^R01|MSG0001|P|2.5",
        "PID|1||PAT123^^^GENHOSP^MR||TESTPATIENT^ALPHA",
        "OBR|1|ORD1|ACC555|71020^CHEST 2 VIEWS^CPT|||20240101",
        "OBX|1|TX|18782-3&GDT^Findings^LN|1|Heart size normal.~Lungs clear \\F\\ no effusion.\\.br\\No pneumothorax.||||||F",
        "OBX|2|TX|&GDT^Findings|2|Bones intact \\T\\ unremarkable; 5 \\S\\ 7 \\E\\ ok.||||||F",
        "OBX|3|TX|&IMP^Impression|1|No acute disease.~Stable.||||||F",
    ]
)


def test_unescape_decodes_every_standard_sequence():
    assert unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g") == "a|b^c&d~e\\f\ng"
    assert unescape("caf\\XC3A9\\") == "café"
    assert unescape(escape("x|y^z&w~v\\u\nnext")) == "x|y^z&w~v\\u\nnext"


def test_parse_oru_joins_repeated_obx5_and_segments_and_decodes_escapes():
    m = parse_oru(ORU)
    assert m.findings == (
        "Heart size normal.\nLungs clear | no effusion.\nNo pneumothorax.\n"
        "Bones intact & unremarkable; 5 ^ 7 \\ ok."
    )
    assert m.impression == "No acute disease.\nStable."
    assert (m.patient_id, m.accession, m.exam) == ("PAT123", "ACC555", "CHEST 2 VIEWS")
    r = m.to_report("f.hl7:1")
    assert (r.id, r.patient_id, r.study_id, r.trainable) == ("ACC555", "PAT123", "ACC555", True)


def test_newline_segment_ends_and_many_messages_per_file():
    second = ORU.replace("MSG0001", "MSG0002").replace("ACC555", "ACC556")
    bad = "MSH|^~\\&|RIS|H|||20240101||ADT^A01|MSG9|P|2.5\nPID|1||X"
    text = ORU.replace("\r", "\n") + "\n" + second.replace("\r", "\r\n") + "\r\n" + bad + "\n"
    got = list(read_oru_file(text, "batch.hl7"))
    assert [line for line, _ in got] == [1, 7, 13]
    assert [m.accession for _, m in got[:2]] == ["ACC555", "ACC556"]
    assert isinstance(got[2][1], Hl7Error) and got[2][1].code == "AR"
    assert "ADT^A01" in got[2][1].reason


def test_non_standard_delimiters_are_honoured():
    # '#' fields, '!' components: an escaped field separator decodes to '#', and the
    # draft we send back uses the standard delimiters again.
    msg = ORU.replace("|", "#").replace("^", "!").replace("MSH#!~", "MSH#!~")
    m = parse_oru(msg)
    assert m.findings.startswith("Heart size normal.\nLungs clear # no effusion.")
    assert (m.patient_id, m.exam) == ("PAT123", "CHEST 2 VIEWS")
    out = build_draft_oru(m, "Draft.", "retrieval", "v1")
    assert str(hl7.parse(out).segment("PID")[3]) == "PAT123^^^GENHOSP^MR"
    assert str(hl7.parse(out).segment("PID")[5]) == "TESTPATIENT^ALPHA"


HEAD = "\r".join(ORU.split("\r")[:3])


def test_a_whole_narrative_in_one_obx_is_split_so_the_impression_stays_out_of_the_findings():
    """Feeds that send the report as one text (LOINC 18782-3 is used both ways): its own
    headers decide, so the radiologist's impression is not drafted or trained from."""
    narrative = (
        "OBX|1|TX|18782-3^Radiology Study observation^LN||EXAM: CHEST 2 VIEWS~"
        "INDICATION: Cough.~COMPARISON: None.~FINDINGS: Right lower lobe consolidation.~"
        "IMPRESSION: Right lower lobe pneumonia.||||||F"
    )
    m = parse_oru(HEAD + "\r" + narrative)
    assert m.findings == "Right lower lobe consolidation."
    assert m.impression == "Right lower lobe pneumonia."
    assert (m.indication, m.comparison, m.exam) == ("Cough.", "None.", "CHEST 2 VIEWS")
    r = m.to_report()
    assert (r.indication, r.comparison, r.trainable) == ("Cough.", "None.", True)
    # text before the first header of a findings OBX is findings
    m = parse_oru(HEAD + "\rOBX|1|TX|&GDT^Findings||Lungs clear.~IMPRESSION: Normal chest.||||||F")
    assert (m.findings, m.impression) == ("Lungs clear.", "Normal chest.")
    # an explicit impression OBX wins over the narrative's own
    m = parse_oru(HEAD + "\r" + narrative + "\rOBX|2|TX|&IMP^Impression||Pneumonia.||||||F")
    assert m.impression == "Pneumonia."


def test_a_report_under_a_local_code_is_read_by_its_headers():
    lines = [
        "OBX|1|TX|RPT^Report^L||FINDINGS: Lungs clear.||||||F",
        "OBX|2|TX|RPT^Report^L||IMPRESSION: Normal.||||||F",
        "OBX|3|NM|DOSE^Dose^L||12|mGy|||||F",
    ]
    m = parse_oru("\r".join([HEAD, *lines]))
    assert (m.findings, m.impression) == ("Lungs clear.", "Normal.")
    # without a FINDINGS header, text under an unknown code is not taken for findings
    with pytest.raises(Hl7Error, match="no text OBX has a FINDINGS section"):
        parse_oru(HEAD + "\rOBX|1|TX|RPT^Report^L||Lungs clear.||||||F")
    with pytest.raises(Hl7Error, match="FINDINGS section"):
        parse_oru(HEAD + "\rOBX|1|NM|FINDINGS^x^L||12|mGy|||||F")


@pytest.mark.parametrize(
    "message, code, words",
    [
        ("hello world", "AR", "MSH"),
        ("MSH|^~|RIS", "AR", "encoding"),
        (ORU.replace("ORU^R01", "ADT^A08"), "AR", "unsupported message type"),
        (ORU.replace("|MSG0001|", "||"), "AR", "control id"),
        ("\r".join(ORU.split("\r")[:3]), "AE", "no OBX"),
        (ORU.replace("18782-3&GDT", "&XYZ").replace("&GDT", "&XYZ"), "AE", "&GDT"),
        (ORU + "\rthis is not a segment", "AE", "segment 7"),
    ],
)
def test_unusable_messages_raise_with_ack_code_and_reason(message, code, words):
    with pytest.raises(Hl7Error) as e:
        parse_oru(message)
    assert e.value.code == code
    assert words in e.value.reason


def test_draft_oru_parses_with_python_hl7_and_hl7apy():
    m = parse_oru(ORU)
    out = build_draft_oru(
        m,
        "No acute disease.\nPleural | effusion & edema ^ absent.",
        "retrieval",
        "20240101",
        ["laterality: left in findings, right in draft"],
    )
    h = hl7.parse(out)
    assert str(h.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    obx = h.segment("OBX")
    assert str(obx[3]).startswith("&IMP") and str(obx[11]) == "P"
    assert str(h.segment("OBR")[25]) == "P"
    # our own reader gets the draft back intact
    back = parse_oru(out.replace("&IMP", "&GDT"))
    assert back.findings == "No acute disease.\nPleural | effusion & edema ^ absent."
    # Tolerant validation: the "&IMP" suffix is a subcomponent inside CE.1, which
    # the reporting-system convention uses and hl7apy's strict mode forbids.
    parsed = parse_message(out, find_groups=True)
    assert parsed.name == "ORU_R01"
    assert parsed.ORU_R01_PATIENT_RESULT.ORU_R01_PATIENT.PID.pid_3.value == "PAT123^^^GENHOSP^MR"
    obs = parsed.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION.ORU_R01_OBSERVATION.OBX
    assert obs.obx_11.value == "P"
    notes = [
        s.value
        for s in parsed.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION.ORU_R01_OBSERVATION.children
        if s.name == "NTE"
    ]
    assert any("retrieval 20240101" in n for n in notes) and any("laterality" in n for n in notes)


@pytest.mark.parametrize("code", ["AA", "AE", "AR"])
def test_acks_parse_with_both_libraries(code):
    m = parse_oru(ORU)
    ack = build_ack(code, "" if code == "AA" else "no findings | OBX", m, hl7_error="101")
    h = hl7.parse(ack)
    assert str(h.segment("MSA")[1]) == code and str(h.segment("MSA")[2]) == "MSG0001"
    a = parse_message(ack, find_groups=True, validation_level=VALIDATION_LEVEL.STRICT)
    assert a.msa.msa_1.value == code
    if code != "AA":
        assert "no findings" in a.err.err_8.value


def test_ingest_reads_hl7_files_with_line_numbered_rejects(tmp_path):
    from radimpress.ingest import ingest_paths

    second = ORU.replace("MSG0001", "MSG0002").replace("ACC555", "ACC556").replace("&IMP", "&XXX")
    no_findings = "MSH|^~\\&|RIS|H|||20240101||ORU^R01|MSG3|P|2.5\nOBX|1|TX|&IMP|1|x"
    # MLLP framing bytes left in a capture file are ignored
    (tmp_path / "capture.txt").write_text(
        "\x0b" + ORU + "\x1c\r" + second.replace("\r", "\n") + "\n" + no_findings
    )
    res = ingest_paths([tmp_path])
    assert [(r.id, r.trainable, r.source.rsplit(":", 1)[1]) for r in res.reports] == [
        ("ACC555", True, "1"),
        ("ACC556", False, "7"),
    ]
    (rej,) = res.rejects
    assert rej.location == "line 13" and "no findings" in rej.reason
