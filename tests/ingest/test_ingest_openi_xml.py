"""Open-i XML: folders of files and the official .tgz, read without unpacking."""

from __future__ import annotations

import io
import tarfile

import pytest

from radimpress.ingest import ingest_paths

XML = """<?xml version="1.0" encoding="utf-8"?>
<eCitation>
  <uId id="CXR{n}"/>
  <pmcId id="{n}"/>
  <MedlineCitation><Article><Abstract>
    <AbstractText Label="COMPARISON">None.</AbstractText>
    <AbstractText Label="INDICATION">Cough {n}</AbstractText>
    <AbstractText Label="FINDINGS">{findings}</AbstractText>
    <AbstractText Label="IMPRESSION">{impression}</AbstractText>
  </Abstract></Article></MedlineCitation>
  <MeSH><major>Cardiomegaly/mild</major><major>Opacity</major></MeSH>
  <parentImage id="CXR{n}_1"><caption>Xray Chest PA and Lateral</caption></parentImage>
</eCitation>
"""


def xml(n, findings="The lungs are clear.", impression="Normal chest."):
    return XML.format(n=n, findings=findings, impression=impression)


def test_folder_of_xml_files(tmp_path):
    d = tmp_path / "ecgen-radiology"
    (d / "sub").mkdir(parents=True)
    (d / "1.xml").write_text(xml(1))
    (d / "sub" / "2.xml").write_text(xml(2, impression=""))
    res = ingest_paths([d])
    assert res.rejects == []
    r1, r2 = res.reports
    assert (r1.id, r1.findings, r1.impression) == ("CXR1", "The lungs are clear.", "Normal chest.")
    assert r1.indication == "Cough 1" and r1.comparison == "None."
    assert r1.exam == "Xray Chest PA and Lateral"
    assert r1.sections["MeSH"] == "Cardiomegaly/mild;Opacity"
    assert r1.source == str(d / "1.xml")
    assert r2.id == "CXR2" and r2.impression is None and not r2.trainable


def test_id_falls_back_to_file_stem(tmp_path):
    text = xml(5).replace('<uId id="CXR5"/>', "").replace('<pmcId id="5"/>', "")
    (tmp_path / "report_77.xml").write_text(text)
    assert [r.id for r in ingest_paths([tmp_path]).reports] == ["report_77"]


def _tgz(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def test_tgz_read_without_unpacking_and_bad_member_named(tmp_path, monkeypatch):
    archive = tmp_path / "NLMCXR_reports.tgz"
    _tgz(
        archive,
        {
            "ecgen-radiology/1.xml": xml(1).encode(),
            "ecgen-radiology/2.xml": xml(2, findings="").encode(),
            "ecgen-radiology/3.xml": b"<eCitation><uId id='CXR3'/><AbstractText Label='FINDINGS'>x</eCitation>",
            "ecgen-radiology/._4.xml": b"\x00\x05\x16\x07 resource fork",
            "ecgen-radiology/5.xml": xml(
                5, impression="1. Mild cardiomegaly. 2. No edema."
            ).encode(),
        },
    )

    def no_extract(*a, **k):
        raise AssertionError("ingest must not unpack the archive")

    monkeypatch.setattr(tarfile.TarFile, "extract", no_extract)
    monkeypatch.setattr(tarfile.TarFile, "extractall", no_extract)
    before = sorted(tmp_path.rglob("*"))
    res = ingest_paths([archive])
    assert sorted(tmp_path.rglob("*")) == before  # nothing written next to the archive

    assert [r.id for r in res.reports] == ["CXR1", "CXR5"]
    assert res.reports[0].source == f"{archive}:ecgen-radiology/1.xml"
    assert res.reports[1].impression == "1. Mild cardiomegaly. 2. No edema."
    rejects = {r.source: r for r in res.rejects}
    assert set(rejects) == {f"{archive}:ecgen-radiology/2.xml", f"{archive}:ecgen-radiology/3.xml"}
    assert rejects[f"{archive}:ecgen-radiology/2.xml"].reason == "empty findings"
    bad = rejects[f"{archive}:ecgen-radiology/3.xml"]
    assert bad.reason.startswith("bad XML: mismatched tag")
    assert bad.location.startswith("line 1, column ")
    assert res.summary["rejected_by_reason"] == {"empty findings": 1, "bad XML": 1}


def test_corrupt_archive_is_a_reject_not_a_crash(tmp_path):
    archive = tmp_path / "broken.tgz"
    archive.write_bytes(b"\x1f\x8b\x08\x00 this is not really gzip")
    other = tmp_path / "ok.xml"
    other.write_text(xml(9))
    res = ingest_paths([archive, other])
    assert [r.id for r in res.reports] == ["CXR9"]
    assert res.rejects[0].source == str(archive)
    assert res.rejects[0].reason.startswith("unreadable archive")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"<?xml version='1.0'?><root><a>", "bad XML"),
        (b"<?xml version='1.0'?><root><title>hi</title></root>", "not an Open-i report"),
    ],
)
def test_malformed_xml_files(tmp_path, content, reason):
    p = tmp_path / "x.xml"
    p.write_bytes(content)
    res = ingest_paths([p])
    assert res.reports == []
    assert res.rejects[0].reason.startswith(reason)
    assert res.rejects[0].source == str(p)
