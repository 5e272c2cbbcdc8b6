"""HL7 v2 ORU^R01 files for ingest: a thin adapter over radimpress.formats.hl7v2.

One file may hold many messages (segments ended by CR, LF or CRLF; MLLP
framing bytes are ignored). A message without findings, or of another type,
becomes a reject naming its first line. The file is split once and each
message parsed once, so the cost is linear in the file however many messages
are rejected.
"""

from __future__ import annotations

from collections.abc import Iterator

from radimpress.formats.hl7v2 import Hl7Error, parse_oru, split_messages
from radimpress.ingest.decoding import excerpt, text_encoding
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
    data = src.read_bytes()
    codec = text_encoding(data, options.encoding)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # HL7 v2's usual legacy character set
    text = text.lstrip("\ufeff")
    found = False
    for line, message in split_messages(text):
        found = True
        try:
            msg = parse_oru(message)
        except Hl7Error as e:
            yield Reject(
                src.label, f"line {line}", f"unusable HL7 message: {e.reason}", excerpt(message)
            )
            continue
        except Exception as e:  # noqa: BLE001 - one odd message must not end the file
            yield Reject(
                src.label,
                f"line {line}",
                f"unusable HL7 message: {type(e).__name__}: {str(e)[:200]}",
                excerpt(message),
            )
            continue
        yield msg.to_report(f"{src.label}:{line}")
    if not found:
        yield Reject(src.label, "", "empty file")
