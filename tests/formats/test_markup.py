"""HTML-flavoured report text from RIS and EHR exports, read as plain text."""

from __future__ import annotations

import base64

import pytest

from radimpress.dataset.clean import clean_text
from radimpress.formats.fhir import reports_from_json
from radimpress.formats.markup import markup_to_text
from radimpress.ingest import ingest_paths


@pytest.mark.parametrize(
    "text, plain",
    [
        (
            "FINDINGS: Lungs clear.<br>No effusion.<BR/>IMPRESSION: Normal.",
            "FINDINGS: Lungs clear.\nNo effusion.\nIMPRESSION: Normal.",
        ),
        (
            "<p><b>IMPRESSION:</b> Effusion &amp; atelectasis.</p>",
            "\nIMPRESSION: Effusion & atelectasis.\n",
        ),
        ('<span style="x">Small</span>&nbsp;effusion', "Small effusion"),
        ("<td>left</td><td>right</td>", " left  right "),
        ("&lt;6 mm nodule", "<6 mm nodule"),
        # not markup: sizes, a de-identified name in brackets, an ampersand without ";"
        ("Nodule <6 mm, < 1 cm. <XXXX>. R&L. a<b", "Nodule <6 mm, < 1 cm. <XXXX>. R&L. a<b"),
    ],
)
def test_markup_to_text(text, plain):
    assert markup_to_text(text) == plain


def test_a_line_break_tag_in_a_training_impression_is_not_a_word():
    # an Open-i impression the default recipe copied into a draft
    text = "2 right lung pulmonary nodules concerning for<BR>metastatic disease"
    assert clean_text(text, is_impression=True) == (
        "2 right lung pulmonary nodules concerning for metastatic disease"
    )


def test_reports_exported_as_html_are_split_into_their_sections(tmp_path):
    (tmp_path / "br.txt").write_text(
        "EXAM: CHEST 2 VIEWS<br>FINDINGS: Lungs are clear.<br>No effusion.<br><br>"
        "IMPRESSION: Normal chest.<br>\n"
    )
    (tmp_path / "ris.csv").write_text(
        "id,report_text\n"
        '1,"<p><b>FINDINGS:</b> Small right pleural effusion.&nbsp; No pneumothorax.</p>'
        '<p><b>IMPRESSION:</b> Small right effusion &amp; no pneumothorax.</p>"\n'
    )
    res = ingest_paths([tmp_path])
    assert res.rejects == []
    by_id = {r.id: r for r in res.reports}
    br = by_id["br"]
    assert (br.exam, br.findings, br.impression) == (
        "CHEST 2 VIEWS",
        "Lungs are clear.\nNo effusion.",
        "Normal chest.",
    )
    ris = by_id["1"]
    assert "IMPRESSION" not in ris.findings and "<" not in ris.findings
    assert ris.impression == "Small right effusion & no pneumothorax."


def test_fhir_presented_form_as_html():
    html = "<html><body><p><b>FINDINGS:</b> Left lower lobe consolidation.</p><p><b>IMPRESSION:</b> Pneumonia.</p></body></html>"
    dr = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "XR chest"},
        "presentedForm": [
            {"contentType": "text/html", "data": base64.b64encode(html.encode()).decode()}
        ],
    }
    (r,) = list(reports_from_json(dr, "dr.json"))
    assert r.findings == "Left lower lobe consolidation."
