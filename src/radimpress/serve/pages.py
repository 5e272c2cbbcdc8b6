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


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


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


def boxplot_svg(
    series: Sequence[tuple[str, Sequence[float]]],
    width: int = 560,
    row_height: int = 34,
    label_width: int = 170,
) -> Markup:
    """Horizontal box plots of scores in [0, 1], one row per (label, values)."""
    rows = [(label, quartiles(values)) for label, values in series]
    height = row_height * len(rows) + 28
    plot_w = width - label_width - 16
    x = lambda v: label_width + v * plot_w  # noqa: E731
    parts = [
        f'<svg class="boxplot" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="box plots">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="4" y2="{height - 20}" '
            f'class="grid"/><text x="{x(tick):.1f}" y="{height - 6}" '
            f'text-anchor="middle" class="tick">{tick:g}</text>'
        )
    for i, (label, q) in enumerate(rows):
        y = 8 + i * row_height
        mid = y + row_height / 2 - 4
        parts.append(
            f'<text x="{label_width - 8}" y="{mid + 4:.1f}" text-anchor="end" '
            f'class="label">{escape(label)}</text>'
        )
        if q is None:
            continue
        title = escape(
            f"{label}: median {q['median']:.3f}, IQR {q['q1']:.3f}–{q['q3']:.3f}, n={q['n']}"
        )
        parts.append(
            f"<g><title>{title}</title>"
            f'<line x1="{x(q["min"]):.1f}" x2="{x(q["max"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" class="whisker"/>'
            f'<rect x="{x(q["q1"]):.1f}" y="{y + 2}" width="{max(1.0, x(q["q3"]) - x(q["q1"])):.1f}" '
            f'height="{row_height - 12}" class="box"/>'
            f'<line x1="{x(q["median"]):.1f}" x2="{x(q["median"]):.1f}" y1="{y + 2}" '
            f'y2="{y + row_height - 10}" class="median"/></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def install_filters(env) -> None:
    env.filters["highlight"] = highlight
    env.filters["when"] = when
    env.filters["pct"] = pct
    env.filters["num"] = num
    env.globals["boxplot_svg"] = boxplot_svg
