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


def split_json_lines(text: str) -> list[str]:
    """Lines of a JSON Lines text; only CR/LF end a line (JSON strings may hold U+2028)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
