"""Decode input bytes line by line, remembering where undecodable bytes sit.

Hospital exports are often mostly UTF-8 with a few Windows-1252 bytes pasted
in. Failing the whole file on the first bad byte would throw away thousands of
good reports, and silently replacing the byte would hide the problem. So the
text is decoded with ``surrogateescape`` and every line that carried a bad
byte is recorded with its byte offset; readers reject just the records that
touch those lines and name the offset so a person can find the byte.

Byte-order marks decide the encoding when present (a UTF-16 export from
Windows tools carries one). UTF-16 without a mark decoded as UTF-8 would give
a NUL between every letter and a reject per line that blames "undecodable
bytes"; it is recognised by its NUL pattern instead, and the file gets one
reject that names the ``--encoding`` to pass.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from radimpress.records import InputError, Reject

if TYPE_CHECKING:
    from radimpress.ingest.sources import Source

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass
class BadBytes:
    line: int  # 1-based
    offset: int  # byte offset of the first bad byte in the file
    byte: int

    def describe(self, encoding: str) -> str:
        return (
            f"undecodable bytes: invalid {encoding} byte 0x{self.byte:02X} at byte offset "
            f"{self.offset} (line {self.line}); if the file is not {encoding}, pass --encoding"
        )


@dataclass
class Decoded:
    lines: list[str]  # with line endings, as a csv reader wants them
    encoding: str
    bad: dict[int, BadBytes] = field(default_factory=dict)  # line number -> first bad byte

    def first_bad(self, first_line: int, last_line: int) -> BadBytes | None:
        """The first bad byte between two line numbers (inclusive), if any."""
        if not self.bad:
            return None
        for no in range(first_line, last_line + 1):
            if no in self.bad:
                return self.bad[no]
        return None


def split_lines(text: str) -> list[str]:
    """Split on \\n, \\r\\n and \\r only (str.splitlines also splits on form feeds etc.)."""
    return _LINE.findall(text)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when the bytes look like BOM-less UTF-16 text, else None.

    Mostly-ASCII UTF-16 has a NUL in every other byte, on the odd positions for
    little-endian and the even ones for big-endian; no UTF-8 or 8-bit text does.
    """
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even = sample[0 : 2 * pairs : 2].count(0)
    odd = sample[1 : 2 * pairs : 2].count(0)
    if odd >= 0.4 * pairs and even <= 0.05 * pairs:
        return "utf-16-le"
    if even >= 0.4 * pairs and odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def text_encoding(data: bytes, encoding: str) -> str:
    """The codec to decode ``data`` with: a byte-order mark wins over ``encoding``.

    Raises InputError naming ``--encoding`` when the file looks like UTF-16 but
    neither a mark nor the option says so.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    if not _is_utf16(encoding):
        guess = utf16_without_bom(data)
        if guess:
            raise InputError(
                f"looks like {guess.upper()} text without a byte-order mark "
                f"(a NUL byte in every other position); pass --encoding {guess}"
            )
    return encoding


def _is_utf16(encoding: str) -> bool:
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


def decode(data: bytes, encoding: str = "utf-8") -> Decoded:
    codec = text_encoding(data, encoding)
    if _is_utf16(codec):
        # Wide encodings cannot carry surrogate-escaped bytes: decode strictly, fail with the offset.
        try:
            return Decoded(lines=split_lines(data.decode(codec)), encoding=codec)
        except UnicodeDecodeError as e:
            raise InputError(
                f"undecodable bytes: invalid {codec} at byte offset {e.start}; "
                "if the file is not in that encoding, pass --encoding"
            ) from None
    offset_base = 0
    if codec == "utf-8-sig":
        data, offset_base, codec = data[3:], 3, "utf-8"
    text = data.decode(codec, errors="surrogateescape")
    lines = split_lines(text)
    decoded = Decoded(lines=lines, encoding=codec)
    if not _SURROGATE.search(text):
        return decoded
    offset = offset_base
    for no, line in enumerate(lines, start=1):
        m = _SURROGATE.search(line)
        if m:
            prefix = len(line[: m.start()].encode(codec, errors="surrogateescape"))
            decoded.bad[no] = BadBytes(no, offset + prefix, ord(m.group()) - 0xDC00)
        offset += len(line.encode(codec, errors="surrogateescape"))
    return decoded


def read_decoded(src: Source, encoding: str) -> Decoded | Reject:
    """The source's text decoded, or the reject for a file that is empty or blank."""
    data = src.read_bytes()
    if not data.strip():
        return Reject(src.label, "", "empty file")
    return decode(data, encoding)


def excerpt(text: str, n: int = 160) -> str:
    """The start of a raw record, on one line, for the rejects file."""
    text = text[: 8 * n]  # a reject's cost must not grow with the size of its record
    flat = " ".join(_SURROGATE.sub("\ufffd", text).split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"
