"""Decode input bytes line by line, remembering where undecodable bytes sit.

Hospital exports are often mostly UTF-8 with a few Windows-1252 bytes pasted
in. Failing the whole file on the first bad byte would throw away thousands of
good reports, and silently replacing the byte would hide the problem. So the
text is decoded with ``surrogateescape`` and every line that carried a bad
byte is recorded with its byte offset; readers reject just the records that
touch those lines and name the offset so a person can find the byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


def decode(data: bytes, encoding: str = "utf-8") -> Decoded:
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        offset_base = 3
    else:
        offset_base = 0
    text = data.decode(encoding, errors="surrogateescape")
    lines = split_lines(text)
    decoded = Decoded(lines=lines, encoding=encoding)
    if not _SURROGATE.search(text):
        return decoded
    offset = offset_base
    for no, line in enumerate(lines, start=1):
        m = _SURROGATE.search(line)
        if m:
            prefix = len(line[: m.start()].encode(encoding, errors="surrogateescape"))
            decoded.bad[no] = BadBytes(no, offset + prefix, ord(m.group()) - 0xDC00)
        offset += len(line.encode(encoding, errors="surrogateescape"))
    return decoded


def excerpt(text: str, n: int = 160) -> str:
    """The start of a raw record, on one line, for the rejects file."""
    flat = " ".join(_SURROGATE.sub("\ufffd", text).split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"
