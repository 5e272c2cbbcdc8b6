"""``json.loads`` for untrusted input: every way it can fail becomes a reason string.

``json.JSONDecodeError`` is not the only failure: a value nested deeper than
the interpreter's recursion limit raises RecursionError, and an integer of
more than 4,300 digits raises a plain ValueError (CPython's guard against
quadratic int conversion). Catching only the first let one such line end a
whole file; readers use these helpers so it is one record's reject instead.
"""

from __future__ import annotations

import json
from typing import Any


def load_json(text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, why the text is not usable JSON)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError as e:
        if "integer string conversion" in str(e):
            return None, "invalid JSON: a number with more than 4,300 digits"
        return None, f"invalid JSON: {e}"


def complete_alone(line: str) -> bool:
    """Whether one line holds a whole JSON value (too deep or too long still counts: it ended).

    Used to tell JSON Lines from one document spread over lines: a pretty-printed
    document's first line (``{`` or ``[``) is never a value by itself.
    """
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    except (RecursionError, ValueError):
        return True
    return True


def looks_like_json_lines(lines: list[str]) -> bool:
    """Whether text that failed to parse as one document is JSON Lines instead.

    Decided by the whole file, not its first character: at least two non-blank
    lines, and at least half of them whole JSON values by themselves. A
    pretty-printed document (``{``, ``"id": 1,`` ...) has almost no such lines;
    JSON Lines with some broken records still has mostly whole lines.
    """
    nonblank = [ln for ln in lines if ln.strip()]
    if len(nonblank) < 2:
        return False
    whole = 0
    for i, line in enumerate(nonblank):
        whole += complete_alone(line)
        if 2 * whole >= len(nonblank):
            return True
        if 2 * (whole + len(nonblank) - i - 1) < len(nonblank):
            return False
    return False


def split_json_lines(text: str) -> list[str]:
    """Lines of a JSON Lines text; only CR/LF end a line (JSON strings may hold U+2028)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
