"""HL7 v2 ORU^R01 files for ingest: a thin adapter over radimpress.formats.hl7v2.

One file may hold many messages (segments ended by CR, LF or CRLF; MLLP
framing bytes are ignored). A message without findings, or of another type,
becomes a reject naming its first line.
"""

from __future__ import annotations

from collections.abc import Iterator

from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source
from radimpress.records import Reject, Report

HL7_SUFFIXES = (".hl7", ".er7", ".oru")


def detect(src: Source, head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf\x0b \t\r\n")
    return (
        start.startswith(b"MSH")
        and len(start) > 8
        or (src.suffix in HL7_SUFFIXES and b"MSH" in head)
    )


def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    from radimpress.formats.hl7v2 import Hl7Error, read_oru_file, split_messages

    data = src.read_bytes()
    try:
        text = data.decode(options.encoding)
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # HL7 v2's usual legacy character set
    for line, item in read_oru_file(text, src.label):
        if isinstance(item, Hl7Error):
            raw = dict(split_messages(text)).get(line, "")
            yield Reject(
                src.label, f"line {line}", f"unusable HL7 message: {item.reason}", raw[:80]
            )
        else:
            yield item.to_report(f"{src.label}:{line}")
