"""Hypothesis strategies: input files of every format, valid records mixed with broken ones.

Each strategy draws a :class:`Case`: the files to write, how many records they
hold, and what every valid record must come out as. The property tests and
``bench/robustness_ingest.py`` share them, so the benchmark's 1,000 files per
format are the same kind of files the default test run checks.

Record texts are lowercase words (some non-ASCII) with punctuation that each
format must escape or quote (``,`` and ``"`` for CSV, ``|^~\\&`` for HL7,
quotes and backslashes for JSON). Some valid records carry characters that
must not reach reports.jsonl (NUL, ANSI escapes, bidirectional controls, lone
surrogates in JSON); their expected text is the text without them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

LETTERS = "abcdefghijklmnopqrstuvwxyzéüøßπ中"
# (inserted, what remains once cleaned)
INVISIBLE = [
    ("\x00", ""),
    ("\x1b[31m", ""),
    ("\x1b[0m", ""),
    ("\x07", ""),
    ("\u202e", ""),
    ("\u2066", ""),
    ("\u200f", ""),
]
BIDI_ONLY = [("\u202e", ""), ("\u2067", "")]  # XML 1.0 forbids C0 controls, not these
JSON_INVISIBLE = [*INVISIBLE, ("\ud800", "\ufffd")]


@dataclass
class Case:
    """Files to write, the number of records in them, and each valid record's expected form."""

    files: dict[str, bytes] = field(default_factory=dict)
    records: int = 0
    valid: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (findings, imp)

    def write(self, root: Path) -> list[Path]:
        paths = []
        for name, data in self.files.items():
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            paths.append(p)
        return paths


@st.composite
def text_pair(draw, punctuation: tuple[str, ...] = (), invisible=()) -> tuple[str, str]:
    """(text as written, text expected after ingest): one line, no edge whitespace."""
    word = st.text(alphabet=LETTERS, min_size=1, max_size=8)
    marks = st.sampled_from(("", "", ",", ";", *punctuation))
    words = draw(st.lists(st.tuples(word, marks).map("".join), min_size=1, max_size=10))
    raw, clean = list(words), list(words)
    if invisible and draw(st.booleans()):
        i = draw(st.integers(0, len(words) - 1))
        token, left = draw(st.sampled_from(invisible))
        raw[i] += token
        clean[i] += left
    return " ".join(raw) + ".", " ".join(clean) + "."


def _maybe_impression(draw, punctuation=(), invisible=()) -> tuple[str | None, str | None]:
    if draw(st.booleans()):
        return draw(text_pair(punctuation, invisible))
    return None, None


# ---------------------------------------------------------------- CSV
CSV_BROKEN = [
    "open_quote",
    "stray_quote",
    "extra_field",
    "missing_field",
    "empty_findings",
    "bad_bytes",
    "only_control",
]


@st.composite
def csv_case(draw) -> Case:
    kinds = draw(st.lists(st.sampled_from(["valid"] * 4 + CSV_BROKEN), min_size=1, max_size=12))
    crlf = draw(st.booleans())
    end = "\r\n" if crlf else "\n"
    case = Case(records=len(kinds))
    rows = [f"id,findings,impression{end}".encode()]
    plain = text_pair()
    for n, kind in enumerate(kinds):
        rid = f"c{n}"
        if kind == "valid":
            raw, clean = draw(text_pair(('"', '""'), INVISIBLE))
            if draw(st.booleans()):  # a multi-line quoted field
                more_raw, more_clean = draw(text_pair())
                raw, clean = raw + "\n" + more_raw, clean + "\n" + more_clean
            imp_raw, imp_clean = _maybe_impression(draw, ('"',))
            buf = io.StringIO()
            csv.writer(buf, lineterminator=end).writerow([rid, raw, imp_raw or ""])
            rows.append(buf.getvalue().encode())
            case.valid[rid] = (clean, imp_clean)
            continue
        words = draw(plain)[0].replace(",", "").replace(";", "")
        row = {
            "open_quote": f'{rid},"{words},{words}',
            "stray_quote": f'{rid},"{words} "{words}" x",{words}',
            "extra_field": f"{rid},{words},{words},{words}",
            "missing_field": f"{rid},{words}",
            "empty_findings": f"{rid},,{words}",
            "only_control": f"{rid},\x00\x1b[0m\u202e,{words}",
            "bad_bytes": f"{rid},{words}",
        }[kind]
        data = row.encode() + (b"\xff\xfe," if kind == "bad_bytes" else b"") + end.encode()
        rows.append(data)
    case.files["table.csv"] = b"".join(rows)
    return case


# ---------------------------------------------------------------- JSON Lines / JSON
JSON_BROKEN_SYNTAX = ["bad_syntax", "bad_bytes"]
JSON_BROKEN_VALUE = [
    "deep",
    "big_int",
    "array",
    "number",
    "null",
    "findings_number",
    "findings_list",
    "findings_bool",
    "findings_empty",
    "no_findings",
    "id_object",
]


def _broken_json(kind: str, rid: str) -> bytes:
    return {
        "bad_syntax": b'{"id": "' + rid.encode() + b'", findings: x',
        "bad_bytes": b'{"id": "' + rid.encode() + b'", "findings": "caf\xe9"}',
        "deep": b'{"id": "' + rid.encode() + b'", "findings": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        "big_int": b'{"id": "' + rid.encode() + b'", "findings": "x", "n": ' + b"7" * 4400 + b"}",
        "array": b"[1, 2]",
        "number": b"5",
        "null": b"null",
        "findings_number": json.dumps({"id": rid, "findings": 5}).encode(),
        "findings_list": json.dumps({"id": rid, "findings": ["a", "b"]}).encode(),
        "findings_bool": json.dumps({"id": rid, "findings": True}).encode(),
        "findings_empty": json.dumps({"id": rid, "findings": "  "}).encode(),
        "no_findings": json.dumps({"id": rid, "text": "x"}).encode(),
        "id_object": json.dumps({"id": {"a": 1}, "findings": "x"}).encode(),
    }[kind]


def _json_record(draw, rid: str, case: Case) -> dict:
    raw, clean = draw(text_pair(('"', "\\", "/"), JSON_INVISIBLE))
    imp_raw, imp_clean = _maybe_impression(draw, ('"',), JSON_INVISIBLE)
    case.valid[rid] = (clean, imp_clean)
    obj = {"id": rid, "findings": raw}
    if imp_raw is not None:
        obj["impression"] = imp_raw
    return obj


@st.composite
def jsonl_case(draw) -> Case:
    """JSON Lines, as .jsonl, or as .json holding mostly whole-line values."""
    as_json = draw(st.booleans())
    kinds = draw(
        st.lists(
            st.sampled_from(["valid"] * 4 + JSON_BROKEN_VALUE + JSON_BROKEN_SYNTAX),
            min_size=2 if as_json else 1,
            max_size=12,
        )
    )
    if as_json:  # a .json file is JSON Lines only when most lines are whole values
        syntax = [i for i, k in enumerate(kinds) if k in JSON_BROKEN_SYNTAX]
        for i in syntax[: max(0, len(syntax) - (len(kinds) - 1) // 2)]:
            kinds[i] = "valid"
    case = Case(records=len(kinds))
    lines = []
    for n, kind in enumerate(kinds):
        rid = f"j{n}"
        if kind == "valid":
            obj = _json_record(draw, rid, case)
            # A lone surrogate can only be written as a \u escape (raw, it is not UTF-8).
            ascii_only = draw(st.booleans()) or "\ud800" in json.dumps(obj, ensure_ascii=False)
            lines.append(json.dumps(obj, ensure_ascii=ascii_only).encode())
        else:
            lines.append(_broken_json(kind, rid))
    case.files["records.json" if as_json else "records.jsonl"] = b"\n".join(lines) + b"\n"
    return case


@st.composite
def json_document_case(draw) -> Case:
    """One .json document: an array of records, some not objects or with wrong types."""
    kinds = draw(
        st.lists(st.sampled_from(["valid"] * 3 + JSON_BROKEN_VALUE[2:]), min_size=1, max_size=12)
    )
    case = Case(records=len(kinds))
    items = []
    for n, kind in enumerate(kinds):
        rid = f"d{n}"
        items.append(
            _json_record(draw, rid, case)
            if kind == "valid"
            else json.loads(_broken_json(kind, rid))
        )
    indent = draw(st.sampled_from([None, 2]))
    case.files["document.json"] = json.dumps(items, indent=indent).encode()
    return case


# ---------------------------------------------------------------- FHIR
FHIR_BROKEN = [
    "null",
    "number",
    "patient",
    "lone_observation",
    "bad_status",
    "no_findings",
    "no_code",
]


def _dr(rid: str, findings: str | None, conclusion: str | None, **extra) -> dict:
    dr = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "XR Chest"},
        "identifier": [{"value": rid}],
    }
    if findings is not None:
        dr["presentedForm"] = [
            {
                "contentType": "text/plain",
                "data": base64.b64encode(findings.encode("utf-8")).decode(),
            }
        ]
    if conclusion is not None:
        dr["conclusion"] = conclusion
    dr.update(extra)
    return dr


def _fhir_valid(draw, rid: str, case: Case, entries: list | None) -> list[dict]:
    """A valid report; in a Bundle, sometimes with its findings in a referenced Observation."""
    raw, clean = draw(text_pair(('"',), INVISIBLE))
    imp_raw, imp_clean = _maybe_impression(draw, ('"',), INVISIBLE)
    case.valid[rid] = (clean, imp_clean)
    if entries is not None and draw(st.booleans()):
        obs = {
            "resourceType": "Observation",
            "id": f"o-{rid}",
            "status": "final",
            "code": {"text": "findings"},
            "valueString": raw,
        }
        dr = _dr(rid, None, imp_raw, result=[{"reference": f"Observation/o-{rid}"}])
        return [{"resource": dr}, {"resource": obs}]
    return [{"resource": _dr(rid, raw, imp_raw)}]


def _fhir_broken(kind: str, rid: str) -> object:
    return {
        "null": None,
        "number": 7,
        "patient": {"resource": {"resourceType": "Patient", "id": rid}},
        "lone_observation": {
            "resource": {
                "resourceType": "Observation",
                "id": f"lone-{rid}",
                "status": "final",
                "code": {"text": "x"},
                "valueString": "unused",
            }
        },
        "bad_status": {"resource": _dr(rid, "text.", None, status="bogus")},
        "no_findings": {"resource": _dr(rid, None, "only a conclusion.")},
        "no_code": {"resource": {k: v for k, v in _dr(rid, "x.", None).items() if k != "code"}},
    }[kind]


@st.composite
def fhir_bundle_case(draw) -> Case:
    kinds = draw(st.lists(st.sampled_from(["valid"] * 3 + FHIR_BROKEN), min_size=1, max_size=10))
    case = Case(records=len(kinds))
    entries: list = []
    for n, kind in enumerate(kinds):
        rid = f"f{n}"
        if kind == "valid":
            entries += _fhir_valid(draw, rid, case, entries)
        else:
            entries.append(_fhir_broken(kind, rid))
    entries = draw(st.permutations(entries))  # an Observation may come before its report
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    case.files["bundle.json"] = json.dumps(bundle).encode()
    return case


@st.composite
def fhir_ndjson_case(draw) -> Case:
    """FHIR bulk-data NDJSON: one resource per line, some lines broken; the first is valid."""
    kinds = ["valid"] + draw(
        st.lists(
            st.sampled_from(
                ["valid"] * 3
                + [
                    "patient",
                    "bad_status",
                    "no_findings",
                    "bad_syntax",
                    "deep",
                    "big_int",
                    "number",
                ]
            ),
            max_size=10,
        )
    )
    case = Case(records=len(kinds))
    lines = []
    for n, kind in enumerate(kinds):
        rid = f"n{n}"
        if kind == "valid":
            (entry,) = _fhir_valid(draw, rid, case, None)
            lines.append(json.dumps(entry["resource"]).encode())
        elif kind in ("bad_syntax", "deep", "big_int", "number"):
            lines.append(_broken_json(kind, rid))
        else:
            lines.append(json.dumps(_fhir_broken(kind, rid)["resource"]).encode())
    case.files["reports.ndjson"] = b"\n".join(lines) + b"\n"
    return case


# ---------------------------------------------------------------- HL7 v2
HL7_BROKEN = ["no_obx", "impression_only", "adt", "no_control_id", "garbage_segment"]
HL7_SPECIALS = ("|", "^", "~", "\\", "&")


def _hl7_escape(text: str) -> str:
    out = text.replace("\\", "\\E\\")
    for ch, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        out = out.replace(ch, f"\\{code}\\")
    return out


@st.composite
def hl7_case(draw) -> Case:
    kinds = draw(st.lists(st.sampled_from(["valid"] * 3 + HL7_BROKEN), min_size=1, max_size=12))
    case = Case(records=len(kinds))
    sep = draw(st.sampled_from(["\r", "\n", "\r\n"]))
    messages = []
    for n, kind in enumerate(kinds):
        acc = f"A{n}"
        mtype = "ADT^A01" if kind == "adt" else "ORU^R01"
        control = "" if kind == "no_control_id" else f"MSG{n}"
        segs = [
            f"MSH|^~\\&|RIS|HOSP|RAD|HOSP|20240101120000||{mtype}|{control}|P|2.5",
            f"PID|1||P{n}",
            f"OBR|1||{acc}|71020^XR CHEST^L",
        ]
        if kind == "valid":
            raw, clean = draw(text_pair(HL7_SPECIALS, INVISIBLE))
            imp_raw, imp_clean = _maybe_impression(draw, HL7_SPECIALS, INVISIBLE)
            segs.append(f"OBX|1|TX|&GDT|1|{_hl7_escape(raw)}")
            if imp_raw is not None:
                segs.append(f"OBX|2|TX|&IMP|1|{_hl7_escape(imp_raw)}")
            case.valid[acc] = (clean, imp_clean)
        elif kind == "impression_only":
            segs.append("OBX|1|TX|&IMP|1|normal")
        elif kind == "garbage_segment":
            segs.append("this is not a segment")
            segs.append("OBX|1|TX|&GDT|1|text")
        elif kind in ("adt", "no_control_id"):
            segs.append("OBX|1|TX|&GDT|1|text")
        messages.append(sep.join(segs) + sep)
    mllp = draw(st.booleans())
    body = "".join(("\x0b" + m + "\x1c\r") if mllp else m for m in messages)
    case.files["messages.hl7"] = body.encode()
    return case


# ---------------------------------------------------------------- free text
FREETEXT_BROKEN = ["no_findings", "empty_findings", "bad_bytes", "only_control"]


@st.composite
def freetext_case(draw) -> Case:
    kinds = draw(
        st.lists(st.sampled_from(["valid"] * 3 + FREETEXT_BROKEN), min_size=1, max_size=10)
    )
    case = Case(records=len(kinds))
    chunks = []
    for n, kind in enumerate(kinds):
        rid = f"T{n}"
        head = f"Accession: {rid}\n"
        if kind == "valid":
            raw, clean = draw(text_pair(('"', "(", ")"), INVISIBLE))
            imp_raw, imp_clean = _maybe_impression(draw, (), INVISIBLE)
            body = f"FINDINGS: {raw}\n" + (f"IMPRESSION: {imp_raw}\n" if imp_raw else "")
            case.valid[rid] = (clean, imp_clean)
            chunks.append((head + body).encode())
        elif kind == "no_findings":
            chunks.append(f"{head}IMPRESSION: normal.\n".encode())
        elif kind == "empty_findings":
            chunks.append(f"{head}FINDINGS:\nIMPRESSION: normal.\n".encode())
        elif kind == "only_control":
            chunks.append(f"{head}FINDINGS: \x00\x1b[0m\u202e\nIMPRESSION: x.\n".encode())
        else:
            chunks.append(f"{head}FINDINGS: caf".encode() + b"\xe9 opacity.\n")
    case.files["reports.txt"] = b"=====\n".join(chunks)
    return case


# ---------------------------------------------------------------- Open-i XML
XML_BROKEN = ["malformed", "no_abstract", "empty_findings", "entity_bomb", "not_xml"]
_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<eCitation><uId id="{rid}"/>'
    "<MedlineCitation><Article><Abstract>"
    '<AbstractText Label="FINDINGS">{findings}</AbstractText>{imp}'
    "</Abstract></Article></MedlineCitation></eCitation>\n"
)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def openi_xml_case(draw) -> Case:
    kinds = draw(st.lists(st.sampled_from(["valid"] * 3 + XML_BROKEN), min_size=1, max_size=8))
    case = Case(records=len(kinds))
    for n, kind in enumerate(kinds):
        rid = f"CXR{n}"
        if kind == "valid":
            raw, clean = draw(text_pair(("&", "<", ">", '"'), BIDI_ONLY))
            imp_raw, imp_clean = _maybe_impression(draw, ("&",), BIDI_ONLY)
            imp = (
                f'<AbstractText Label="IMPRESSION">{_xml_escape(imp_raw)}</AbstractText>'
                if imp_raw
                else ""
            )
            text = _XML.format(rid=rid, findings=_xml_escape(raw), imp=imp)
            case.valid[rid] = (clean, imp_clean)
        elif kind == "malformed":
            text = _XML.format(rid=rid, findings="x", imp="")[:-20]
        elif kind == "no_abstract":
            text = f'<?xml version="1.0"?><eCitation><uId id="{rid}"/></eCitation>'
        elif kind == "empty_findings":
            text = _XML.format(rid=rid, findings="", imp="")
        elif kind == "entity_bomb":
            text = (
                '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                f'<eCitation><uId id="{rid}"/><AbstractText Label="FINDINGS">&c;</AbstractText></eCitation>'
            )
        else:
            text = "FINDINGS: this is not XML at all.\n"
        case.files[f"ecgen/{n}.xml"] = text.encode()
    return case


# ---------------------------------------------------------------- Parquet
@st.composite
def parquet_case(draw) -> Case:
    kinds = draw(
        st.lists(st.sampled_from(["valid"] * 3 + ["empty", "null"]), min_size=1, max_size=12)
    )
    case = Case(records=len(kinds))
    ids, findings, impressions = [], [], []
    for n, kind in enumerate(kinds):
        rid = f"p{n}"
        ids.append(rid)
        if kind == "valid":
            raw, clean = draw(text_pair(('"',), INVISIBLE))
            imp_raw, imp_clean = _maybe_impression(draw, (), INVISIBLE)
            findings.append(raw)
            impressions.append(imp_raw)
            case.valid[rid] = (clean, imp_clean)
        else:
            findings.append("" if kind == "empty" else None)
            impressions.append("x.")
    buf = io.BytesIO()
    pd.DataFrame({"id": ids, "findings": findings, "impression": impressions}).to_parquet(buf)
    case.files["table.parquet"] = buf.getvalue()
    return case


@st.composite
def excel_case(draw) -> Case:
    """An .xlsx workbook: valid rows, empty findings, a number where findings belong,
    and a second sheet without a findings column (one reject for the sheet)."""
    import openpyxl

    kinds = draw(
        st.lists(st.sampled_from(["valid"] * 3 + ["empty", "number"]), min_size=1, max_size=12)
    )
    notes = draw(st.booleans())
    case = Case(records=len(kinds) + notes)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "findings", "impression"])
    for n, kind in enumerate(kinds):
        rid = f"x{n}"
        if kind == "valid":
            # no control characters: Excel cannot hold them, so openpyxl refuses to write them
            raw, clean = draw(text_pair(('"',)))
            imp_raw, imp_clean = _maybe_impression(draw, ())
            sheet.append([rid, raw, imp_raw])
            case.valid[rid] = (clean, imp_clean)
        else:
            sheet.append([rid, None if kind == "empty" else 7, "x."])
    if notes:
        book.create_sheet("Notes").append(["exported by", "RIS"])
    buf = io.BytesIO()
    book.save(buf)
    case.files["table.xlsx"] = buf.getvalue()
    return case


# ---------------------------------------------------------------- archives
ARCHIVE_BROKEN = ["dotdot", "absolute", "symlink", "hardlink", "device", "no_findings"]


@st.composite
def archive_case(draw) -> Case:
    """A .zip or .tgz of one-report text files, with unsafe and broken members."""
    as_zip = draw(st.booleans())
    kinds = draw(st.lists(st.sampled_from(["valid"] * 3 + ARCHIVE_BROKEN), min_size=1, max_size=10))
    if as_zip:
        kinds = [k for k in kinds if k not in ("hardlink", "device")] or ["valid"]
    case = Case(records=len(kinds))
    members: list[tuple[str, str, bytes]] = []  # (name, kind, data)
    for n, kind in enumerate(kinds):
        name = f"reports/{n}.txt"
        if kind == "valid":
            raw, clean = draw(text_pair(('"',), INVISIBLE))
            imp_raw, imp_clean = _maybe_impression(draw, (), INVISIBLE)
            body = f"FINDINGS: {raw}\n" + (f"IMPRESSION: {imp_raw}\n" if imp_raw else "")
            case.valid[str(n)] = (clean, imp_clean)
            members.append((name, kind, body.encode()))
        elif kind == "dotdot":
            members.append((f"../{n}.txt", kind, b"FINDINGS: escaped.\n"))
        elif kind == "absolute":
            members.append((f"/tmp/{n}.txt", kind, b"FINDINGS: absolute.\n"))
        elif kind == "no_findings":
            members.append((name, kind, b"IMPRESSION: normal.\n"))
        else:
            members.append((f"reports/{kind}{n}.txt", kind, b""))
    buf = io.BytesIO()
    if as_zip:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, kind, data in members:
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o120777 if kind == "symlink" else 0o100644) << 16
                zf.writestr(info, b"/etc/passwd" if kind == "symlink" else data)
        case.files["reports.zip"] = buf.getvalue()
    else:
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            for name, kind, data in members:
                info = tarfile.TarInfo(name)
                info.type = {
                    "symlink": tarfile.SYMTYPE,
                    "hardlink": tarfile.LNKTYPE,
                    "device": tarfile.CHRTYPE,
                }.get(kind, tarfile.REGTYPE)
                if info.type != tarfile.REGTYPE:
                    info.linkname = "../../etc/passwd"
                info.size = len(data) if info.type == tarfile.REGTYPE else 0
                tf.addfile(info, io.BytesIO(data) if info.size else None)
        case.files["reports.tgz"] = buf.getvalue()
    return case


FORMATS = {
    "csv": csv_case(),
    "jsonl": jsonl_case(),
    "json-document": json_document_case(),
    "fhir-bundle": fhir_bundle_case(),
    "fhir-ndjson": fhir_ndjson_case(),
    "hl7v2": hl7_case(),
    "freetext": freetext_case(),
    "openi-xml": openi_xml_case(),
    "parquet": parquet_case(),
    "excel": excel_case(),
    "archive": archive_case(),
}
