"""FHIR R4 DiagnosticReport / Bundle JSON (or NDJSON) for ingest: a thin adapter.

The parsing lives in radimpress.formats.fhir (shared with the FHIR API);
each unusable DiagnosticReport, and every Bundle entry that is not part of a
report, becomes a reject naming its ``Bundle.entry[i]`` (and line, in NDJSON).
"""

from __future__ import annotations

from collections.abc import Iterator

from radimpress.formats.fhir import read_fhir_text
from radimpress.ingest.decoding import decode, excerpt
from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source
from radimpress.records import Reject, Report


def detect(src: Source, head: bytes) -> bool:
    # Any FHIR JSON: a Patient or Observation file then gets a reject saying what was expected.
    return b'"resourceType"' in head


def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    decoded = decode(src.read_bytes(), options.encoding)
    bad = {no: b.describe(options.encoding) for no, b in decoded.bad.items()}
    json_lines = src.suffix in (".ndjson", ".jsonl")  # FHIR bulk data: one resource a line
    for item in read_fhir_text("".join(decoded.lines), src.label, bad, json_lines):
        if isinstance(item, Report):
            yield item
        else:
            location, reason, raw = item
            yield Reject(src.label, location, reason, excerpt(raw))
