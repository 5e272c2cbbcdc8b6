"""The format registry: which reader handles which file.

Adding a format is one module with two functions plus one entry in
``FORMATS``::

    def detect(src: Source, head: bytes) -> bool   # cheap: name and first 8 KiB only
    def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]

Entries name their functions as ``"module:function"`` strings and are imported
only when used, so a reader with heavy dependencies (fhir.resources, hl7apy)
costs nothing for users who never feed it such files.

Detection runs the specific formats first, in list order, then the
``fallback`` ones (free text accepts almost any text file, so it must not
shadow, say, an HL7 v2 reader appended later). Readers never raise for bad
data: they yield a ``Reject`` naming the file, line or element and the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from radimpress.ingest.options import IngestOptions
    from radimpress.ingest.sources import Source
    from radimpress.records import Reject, Report


@dataclass(frozen=True)
class Format:
    name: str
    detect: str  # "module:function" -> detect(src, head_bytes) -> bool
    read: str  # "module:function" -> read(src, options) -> Iterator[Report | Reject]
    fallback: bool = False  # tried only after every specific format declined
    description: str = ""

    def _load(self, ref: str) -> Callable:
        module, func = ref.split(":")
        return getattr(importlib.import_module(module), func)

    def detects(self, src: Source, head: bytes) -> bool:
        return bool(self._load(self.detect)(src, head))

    def reader(self, src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
        return self._load(self.read)(src, options)


_P = "radimpress.ingest."
FORMATS: list[Format] = [
    Format(
        "openi-xml",
        _P + "openi_xml:detect",
        _P + "openi_xml:read",
        description="Open-i / NLM CXR XML, one report per file (<AbstractText Label=...>)",
    ),
    Format(
        "csv",
        _P + "tabular:detect_csv",
        _P + "tabular:read_csv",
        description="CSV/TSV with a column mapping; the Open-i flat CSV needs none",
    ),
    Format(
        "jsonl",
        _P + "tabular:detect_jsonl",
        _P + "tabular:read_jsonl",
        description="JSON Lines / JSON array of records (radimpress Report form or mapped columns)",
    ),
    Format(
        "parquet",
        _P + "tabular:detect_parquet",
        _P + "tabular:read_parquet",
        description="Parquet table with a column mapping",
    ),
    Format(
        "excel",
        _P + "excel:detect",
        _P + "excel:read",
        description="Excel workbook (.xlsx/.xlsm), every sheet with a findings or whole-report column",
    ),
    Format(
        "fhir",
        _P + "fhir_reader:detect",
        _P + "fhir_reader:read",
        description="FHIR R4 DiagnosticReport or Bundle JSON/NDJSON (presentedForm or Observations)",
    ),
    Format(
        "hl7v2",
        _P + "hl7_reader:detect",
        _P + "hl7_reader:read",
        description="HL7 v2 ORU^R01 messages (OBX-3 &GDT findings, &IMP impression), one or many per file",
    ),
    Format(
        "freetext",
        _P + "freetext:detect",
        _P + "freetext:read",
        fallback=True,
        description="free-text reports with section headers, one or many per file",
    ),
]


def register_format(fmt: Format) -> None:
    """Add a format (replacing one with the same name), for plug-ins and tests."""
    FORMATS[:] = [f for f in FORMATS if f.name != fmt.name]
    FORMATS.append(fmt)


def format_names() -> list[str]:
    return [f.name for f in FORMATS]


def get_format(name: str) -> Format:
    for f in FORMATS:
        if f.name == name:
            return f
    raise KeyError(f"unknown format {name!r}; known: {', '.join(format_names())}")


def detect_format(src: Source, head: bytes) -> Format | None:
    for fmt in [f for f in FORMATS if not f.fallback] + [f for f in FORMATS if f.fallback]:
        if fmt.detects(src, head):
            return fmt
    return None
