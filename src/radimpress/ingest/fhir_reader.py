"""FHIR R4 DiagnosticReport / Bundle JSON (or NDJSON) for ingest: a thin adapter.

The parsing lives in radimpress.formats.fhir (shared with the FHIR API);
each unusable DiagnosticReport becomes a reject naming its Bundle entry.
"""

from __future__ import annotations

from collections.abc import Iterator

from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source
from radimpress.records import Reject, Report


def detect(src: Source, head: bytes) -> bool:
    # Any FHIR JSON: a Patient or Observation file then gets a reject saying what was expected.
    return b'"resourceType"' in head


def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    from radimpress.formats.fhir import read_fhir_text

    data = src.read_bytes()
    try:
        text = data.decode(options.encoding)
    except UnicodeDecodeError as e:
        yield Reject(src.label, "", f"undecodable bytes at byte offset {e.start}; pass --encoding")
        return
    for item in read_fhir_text(text, src.label):
        if isinstance(item, Report):
            yield item
        else:
            location, reason = item
            yield Reject(src.label, location, reason, text[:80])
