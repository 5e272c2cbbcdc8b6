"""Open-i (Indiana University / NLM CXR) XML: one report per ``.xml`` file.

The report text sits in ``MedlineCitation/Article/Abstract/AbstractText``
elements whose ``Label`` names the section (FINDINGS, IMPRESSION, INDICATION,
COMPARISON); labels go through the same synonym table as free text. The id is
``uId/@id`` (``CXR1``), else ``pmcId/@id``, else the file stem. The image
caption (``Xray Chest PA and Lateral``) becomes ``exam``; MeSH terms go to
``sections``. Works the same on a folder of files and on members of the
official ``NLMCXR_reports.tgz`` (see :mod:`radimpress.ingest.sources`).
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

# Always the hardened parser (no entity expansion, no external entities or DTD fetches):
# defusedxml is a direct dependency, and there is deliberately no fallback to the
# standard parser, which expands a "billion laughs" entity bomb in memory.
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _fromstring

from radimpress.formats.sections import CONTENT_SYNONYMS, norm_name
from radimpress.ingest.decoding import excerpt
from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source
from radimpress.records import Reject, Report

# Markers of other XML report standards, left for their own readers.
_OTHER_XML = (b"http://hl7.org/fhir", b"urn:hl7-org:v3")


def detect(src: Source, head: bytes) -> bool:
    if any(m in head for m in _OTHER_XML):
        return False
    if src.suffix == ".xml":
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<eCitation") or (
        start.startswith(b"<?xml") and b"AbstractText" in head
    )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el: Element) -> str:
    return "".join(el.itertext()).strip()


def _first_attr(root: Element, tags: tuple[str, ...]) -> str | None:
    for tag in tags:
        for el in root.iter():
            if _local(el.tag) == tag and el.get("id"):
                return el.get("id")
    return None


def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    data = src.read_bytes()
    if not data.strip():
        yield Reject(src.label, "", "empty file")
        return
    try:
        root = _fromstring(data)
    except ParseError as e:
        line, col = getattr(e, "position", (0, 0))
        lines = data.splitlines()
        bad_line = lines[line - 1].decode("utf-8", "replace") if 0 < line <= len(lines) else ""
        yield Reject(src.label, f"line {line}, column {col}", f"bad XML: {e}", excerpt(bad_line))
        return
    except DefusedXmlException as e:  # entity declarations, external references
        yield Reject(src.label, "", f"bad XML: refused by the hardened parser: {e}")
        return

    abstract = [el for el in root.iter() if _local(el.tag) == "AbstractText"]
    if not abstract:
        yield Reject(
            src.label,
            "",
            "not an Open-i report: no <AbstractText> element",
            excerpt(data.decode("utf-8", "replace")),
        )
        return
    fields: dict[str, str] = {}
    sections: dict[str, str] = {}
    for el in abstract:
        label = (el.get("Label") or el.get("label") or "").strip()
        text = _text(el)
        canonical = CONTENT_SYNONYMS.get(norm_name(label)) if label else "findings"
        if canonical in ("findings", "impression", "indication", "comparison", "exam"):
            if canonical in fields and text:
                fields[canonical] = (fields[canonical] + "\n" + text).strip()
            else:
                fields.setdefault(canonical, text)
        elif text:
            sections[label or "text"] = text

    for group, name in (("major", "MeSH"), ("automatic", "MeSH automatic")):
        terms = [_text(el) for el in root.iter() if _local(el.tag) == group and _text(el)]
        if terms:
            sections[name] = ";".join(terms)
    caption = next(
        (_text(el) for el in root.iter() if _local(el.tag) == "caption" and _text(el)), None
    )

    report_id = _first_attr(root, ("uId", "pmcId", "IUXRId")) or src.stem
    if "findings" not in fields:
        yield Reject(src.label, "", "no findings section", excerpt(" ".join(fields.values())))
        return
    if not fields["findings"]:
        yield Reject(
            src.label,
            "AbstractText Label=FINDINGS",
            "empty findings",
            excerpt(f"id {report_id}: " + " ".join(v for v in fields.values() if v)),
        )
        return
    yield Report(
        id=report_id,
        findings=fields["findings"],
        impression=fields.get("impression") or None,
        source=src.label,
        exam=fields.get("exam") or caption,
        indication=fields.get("indication") or None,
        comparison=fields.get("comparison") or None,
        sections=sections,
    )
