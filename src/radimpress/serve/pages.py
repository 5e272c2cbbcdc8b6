"""Helpers for the server-rendered pages: warning highlights, numbers, box plots.

Box plots are drawn as inline SVG on the server: no charting library, no
JavaScript, and the dashboard renders in one round trip.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

SEVERITY_ORDER = {
    "critical": 0,
    "high": 1,
    "error": 1,
    "warning": 2,
    "medium": 2,
    "low": 3,
    "info": 4,
}


def highlight(
    text: str | None, warnings: Sequence[dict[str, Any]], field: str, candidate: int | None = None
) -> Markup:
    """Escape ``text`` and wrap each warning's evidence span in a <mark>.

    Overlapping spans are merged into the first one (a span inside another is
    already visible); each mark carries the warning type as its title.
    """
    text = text or ""
    spans = []
    for n, w in enumerate(warnings):
        if candidate is not None and field == "impression" and w.get("candidate", 0) != candidate:
            continue
        for ev in w.get("evidence", []):
            if ev.get("field") == field and 0 <= ev["start"] < ev["end"] <= len(text):
                spans.append((ev["start"], ev["end"], n, w))
    spans.sort(key=lambda s: (s[0], -s[1]))
    out, pos = [], 0
    for start, end, n, w in spans:
        if start < pos:
            continue
        out.append(escape(text[pos:start]))
        sev = escape(str(w.get("severity", "warning")).lower())
        title = escape(f"{w.get('type', '')}: {w.get('message', '')}")
        out.append(Markup(f'<mark class="warn sev-{sev}" data-warning="{n}" title="{title}">'))
        out.append(escape(text[start:end]))
        out.append(Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def when(ts: float | None) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def num(x: Any, digits: int = 3) -> str:
    if x is None or x == "":
        return "–"
    try:
        return f"{float(x):.{digits}f}"
    except (TypeError, ValueError):
        return str(x)


def quartiles(values: Sequence[float]) -> dict[str, float] | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    if len(vals) == 1:
        q1 = med = q3 = vals[0]
    else:
        q1, med, q3 = statistics.quantiles(vals, n=4, method="inclusive")
    return {
        "min": vals[0],
        "q1": q1,
        "median": med,
        "q3": q3,
        "max": vals[-1],
        "mean": statistics.fmean(vals),
        "n": len(vals),
    }


def _fit(label: str, width: int, char_px: float = 7.0) -> str:
    """Shorten a label to what fits in ``width`` px at the plot's font size (full name in <title>)."""
    most = max(4, int(width / char_px))
    return label if len(label) <= most else label[: most - 1] + "…"


def boxplot_svg(
    series: Sequence[tuple[str, Sequence[float]]],
    width: int = 560,
    row_height: int = 46,
) -> Markup:
    """Horizontal box plots of scores x 100 (0-100, the tables' scale), one row per (label, values).

    Each run's name sits on its own line above its box, left-aligned from
    x = 0, so a long name is never cut at the plot's left edge; one too long
    for the width is shortened with an ellipsis and given in full on hover.
    """
    rows = [
        (label, quartiles([min(100.0, max(0.0, v)) for v in values])) for label, values in series
    ]
    left, right = 14, 18  # room for the "0" and "100" tick labels
    height = row_height * len(rows) + 30
    plot_w = width - left - right
    x = lambda v: left + v / 100.0 * plot_w  # noqa: E731
    parts = [
        f'<svg class="boxplot" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="box plots, 0 to 100">'
    ]
    for tick in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="4" y2="{height - 22}" '
            f'class="grid"/><text x="{x(tick):.1f}" y="{height - 8}" '
            f'text-anchor="middle" class="tick">{tick}</text>'
        )
    for i, (label, q) in enumerate(rows):
        y = 4 + i * row_height
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<text x="0" y="{y + 13}" class="label">{escape(_fit(label, width))}</text></g>'
        )
        if q is None:
            continue
        top, box_h = y + 19, row_height - 26
        mid = top + box_h / 2
        title = escape(
            f"{label}: median {q['median']:.1f}, IQR {q['q1']:.1f}–{q['q3']:.1f}, "
            f"mean {q['mean']:.1f}, n={q['n']}"
        )
        parts.append(
            f"<g><title>{title}</title>"
            f'<line x1="{x(q["min"]):.1f}" x2="{x(q["max"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" class="whisker"/>'
            f'<rect x="{x(q["q1"]):.1f}" y="{top}" width="{max(1.0, x(q["q3"]) - x(q["q1"])):.1f}" '
            f'height="{box_h}" class="box"/>'
            f'<line x1="{x(q["median"]):.1f}" x2="{x(q["median"]):.1f}" y1="{top}" '
            f'y2="{top + box_h}" class="median"/>'
            f'<circle cx="{x(q["mean"]):.1f}" cy="{mid:.1f}" r="3.5" class="mean"/></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def install_filters(env) -> None:
    env.filters["highlight"] = highlight
    env.filters["when"] = when
    env.filters["pct"] = pct
    env.filters["num"] = num
    env.globals["boxplot_svg"] = boxplot_svg
