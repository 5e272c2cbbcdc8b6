"""Rich-text markup in report text: HTML line breaks, formatting tags and entities.

Why: RIS and EHR exports often carry a report as HTML-flavoured text
("FINDINGS:<br>Lungs clear.<br>IMPRESSION: ...", "<p><b>IMPRESSION:</b> ...</p>",
"&nbsp;", "&amp;"). Left in, a section header after "<br>" does not start a line,
so the report is rejected for having no findings (or its impression stays inside
the findings, where a model learns to copy the answer); and a model learns "<br>"
as a word and writes it into drafts (the default recipe drafted "... concerning
for<BR>metastatic disease", copied from one Open-i impression).

Only tags that lay out or format text are read, so "<6 mm", "< 1 cm" and
"<XXXX>" stay as they are; entities need their closing ";" ("R&L" stays).
"""

from __future__ import annotations

import html
import re

_TAG = r"<\s*/?\s*(?:{names})\b(?:\s[^<>]{{0,200}}?)?\s*/?\s*>"
# tags that end a line: a break, a paragraph, a block, a list item, a table row
_LINE = re.compile(_TAG.format(names="br|p|div|li|tr|h[1-6]|hr|ul|ol|table"), re.I)
# table cells: a space, so "a</td><td>b" stays two words
_CELL = re.compile(_TAG.format(names="td|th"), re.I)
# formatting only: removed
_FORMAT = re.compile(
    _TAG.format(
        names="b|i|u|em|strong|span|font|sup|sub|small|big|s|strike|tt|pre|center|"
        "html|body|thead|tbody|tfoot|blockquote|code|mark"
    ),
    re.I,
)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_SPACES = {"\xa0": " ", "\u2007": " ", "\u202f": " "}


def markup_to_text(text: str) -> str:
    """The text with line-ending tags as line breaks, formatting tags removed and
    entities decoded (a no-break space becomes a space)."""
    if "<" not in text and "&" not in text:
        return text
    text = _LINE.sub("\n", text)
    text = _CELL.sub(" ", text)
    text = _FORMAT.sub("", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    for old, new in _SPACES.items():
        text = text.replace(old, new)
    return text
