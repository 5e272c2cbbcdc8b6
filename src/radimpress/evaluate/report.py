"""Write an evaluation as files a person can open: JSON, CSV, Markdown and one HTML page.

``report.html`` is self-contained (CSS inline, plots as base64 PNG) so it can
be mailed or attached to a ticket and still show everything. The page is
ordered for its reader: the comparison they came for first (pre-trained
against fine-tuned), then every system's means side by side, the differences
against the reference system, the clinical labels as one grid, the score
distributions, and a few of the worst reports per system, because a mean
cannot tell a radiologist whether the failures are harmless rewordings or
missed findings; reading five can.

The Markdown and the HTML are rendered from the same list of blocks, so
they always show the same numbers; metrics.json holds every one of them.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radimpress import __version__
from radimpress.evaluate.plots import box_plot_png
from radimpress.evaluate.scoring import EvaluationResult, MetricInfo
from radimpress.evaluate.stats import DESCRIBE_COLUMNS

FALLBACK_NOTE = (
    "safe selection's last resort: every candidate the model offered carried a high-severity "
    "warning, so these drafts are not the model's text; `radimpress generate --no-fallback` "
    "keeps the model's own"
)

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;max-width:1240px;
padding:0 1rem;color:#1d2430;line-height:1.45;font-size:15px}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{margin-top:2.2rem;border-bottom:2px solid #e3e7ee;padding-bottom:.2rem;font-size:1.3rem}
h3{font-size:1.05rem;margin:1.4rem 0 .3rem}
.meta,.note{color:#5b6575;font-size:.9rem}.note li{margin:.15rem 0}
nav.toc{font-size:.9rem;margin:.6rem 0}nav.toc a{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.88rem;max-width:100%}
th,td{border:1px solid #d9dee7;padding:.28rem .5rem;text-align:right;vertical-align:top}
th{background:#f2f5f9;font-weight:600}
td{white-space:nowrap;font-variant-numeric:tabular-nums}
td.t,th.t{text-align:left}td.t{white-space:normal;overflow-wrap:anywhere}
tr:nth-child(even) td{background:#fafbfd}
td small{display:block;color:#5b6575;font-size:.78rem;font-weight:400}
.better{color:#11703a;font-weight:600;background:#eaf6ee!important}
.worse{color:#a4262c;font-weight:600;background:#fbecec!important}
.best{font-weight:700}
.warn{border-left:4px solid #c98a00;background:#fff8e6;padding:.45rem .8rem;margin:.6rem 0}
.dist{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:1rem;align-items:start}
@media (max-width:1000px){.dist{grid-template-columns:minmax(0,1fr)}}
.dist table{width:100%}
img{max-width:100%;height:auto;border:1px solid #e3e7ee}
details{border:1px solid #d9dee7;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
summary{cursor:pointer;font-weight:600}
.ex{border-top:1px solid #e3e7ee;padding:.5rem 0;margin:.3rem 0}
.ex h4{margin:.1rem 0 .4rem;font-size:.95rem}
.ex dl{display:grid;grid-template-columns:8rem minmax(0,1fr);gap:.2rem .8rem;margin:0}
.ex dt{color:#5b6575;font-weight:600}.ex dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
"""


# ---------------------------------------------------------------- formatting


def _num(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _signed(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:+.2f}"


def format_p(v: float | None, resamples: float | None = None) -> str:
    """A p of 0 means no resample crossed 0: print the bootstrap's resolution, "<1/B"."""
    if v is None or math.isnan(v):
        return "–"
    if v == 0.0:
        return f"<{1.0 / resamples:.2g}" if resamples else "<0.001"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _value(info: MetricInfo | None, v: float | None) -> str:
    """A mean as the reader expects it: rates as % of reports, the rest with 2 decimals."""
    if info is not None and info.kind == "rate":
        return "–" if v is None or math.isnan(v) else f"{100 * v:.1f}%"
    return _num(v)


def _report_value(info: MetricInfo, v: float) -> str:
    """One report's value: a count is a whole number there, whatever its mean looks like."""
    v = float(v)
    if info.kind == "count" and v.is_integer():
        return str(int(v))
    return _value(info, v)


def _delta(info: MetricInfo | None, v: float | None) -> str:
    """A difference: percentage points for rates."""
    if v is None or math.isnan(v):
        return "–"
    if info is not None and info.kind == "rate":
        return f"{100 * v:+.1f} pp"
    return f"{v:+.2f}"


def _ci(info: MetricInfo | None, c: dict[str, Any]) -> str:
    if c["ci_low"] is None or math.isnan(c["ci_low"]):
        return "–"
    return f"[{_delta(info, c['ci_low'])}, {_delta(info, c['ci_high'])}]"


def _jsonable(obj: Any) -> Any:
    """NaN/inf -> null (strict JSON), numpy scalars -> Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _sha256(path: str | Path) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    return hashlib.sha256(p.read_bytes()).hexdigest()


def metric_name(result: EvaluationResult, metric: str) -> str:
    """The full name of a metric or aggregate, with its scale: "ROUGE-L (F1 x 100)"."""
    info = result.metric_info.get(metric) or result.aggregate_info.get(metric)
    if info is None:
        return metric
    if not info.scale or info.kind == "rate":  # rates print as %: the unit is on the value
        return info.label
    if info.label.endswith(")"):  # "Label F1 (micro, rule-based, x 100)"
        return f"{info.label[:-1]}, {info.scale})"
    return f"{info.label} ({info.scale})"


def _info(result: EvaluationResult, metric: str) -> MetricInfo | None:
    return result.metric_info.get(metric) or result.aggregate_info.get(metric)


# ---------------------------------------------------------------- blocks


@dataclass
class Cell:
    text: str
    cls: str = ""
    title: str = ""  # HTML tooltip only (details that are in metrics.json anyway)
    sub: str = ""  # a second, smaller line (CI and p under a difference)


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]]
    left: int = 1  # leading text columns
    css_id: str = ""


@dataclass
class Block:
    kind: str  # h2, h3, p, note, warn, ul, table, dist, examples
    text: str = ""
    items: list[str] = field(default_factory=list)
    table: Table | None = None
    anchor: str = ""
    image: tuple[str, str, str] | None = None  # (alt, relative path, metric key)
    examples: list[dict[str, Any]] = field(default_factory=list)


def _cells(values: list[str]) -> list[Cell]:
    return [Cell(v) for v in values]


def _significance_class(c: dict[str, Any], info: MetricInfo | None) -> str:
    if not c.get("significant"):
        return ""
    better = (c["diff"] > 0) == (info.higher_is_better if info else True)
    return "better" if better else "worse"


def _few_reports(result: EvaluationResult) -> bool:
    return len(result.references) < result.options.get("min_n", 30)


def headline_blocks(result: EvaluationResult) -> list[Block]:
    if not result.headline_pair:
        return []
    baseline, system = result.headline_pair
    blocks = [Block("h2", f"{system} vs {baseline}", anchor="headline")]
    rows: list[list[Cell]] = []
    by_metric = {c["metric"]: c for c in result.headline}
    primary = by_metric.get(result.primary_metric)
    if primary is not None:
        info = _info(result, result.primary_metric)
        sentence = (
            f"On {metric_name(result, result.primary_metric)}, {system} scores "
            f"{_delta(info, primary['diff'])} against {baseline}"
        )
        if not math.isnan(primary["ci_low"]):
            p = format_p(primary["p_value"], primary["resamples"])
            sentence += (
                f" (95% CI {_ci(info, primary)}, p {'< ' + p[1:] if p[0] == '<' else '= ' + p})"
            )
        blocks.append(Block("p", sentence + f", over {int(primary['n'])} reports."))
    for m in result.metrics:
        c = by_metric.get(m)
        info = _info(result, m)
        a, b = result.aggregates[baseline].get(m), result.aggregates[system].get(m)
        if c is None:
            rows.append([Cell(metric_name(result, m)), Cell(_value(info, a)),
                         Cell(_value(info, b)), Cell(_delta(info, b - a)), Cell("–"), Cell("–")])  # fmt: skip
            continue
        cls = _significance_class(c, info)
        rows.append([
            Cell(metric_name(result, m)), Cell(_value(info, c["mean_baseline"])),
            Cell(_value(info, c["mean_system"])), Cell(_delta(info, c["diff"]), cls),
            Cell(_ci(info, c)), Cell(format_p(c["p_value"], c["resamples"])),
        ])  # fmt: skip
    for k in _aggregate_keys(result):
        info = _info(result, k)
        a, b = result.aggregates[baseline].get(k), result.aggregates[system].get(k)
        diff = b - a if a is not None and b is not None else None
        rows.append([Cell(metric_name(result, k)), Cell(_value(info, a)), Cell(_value(info, b)),
                     Cell(_delta(info, diff)), Cell("–", title="system-level number: no per-report bootstrap"),
                     Cell("–")])  # fmt: skip
    header = ["Metric", baseline, system, "Difference", "95% CI", "p"]
    blocks.append(Block("table", table=Table(header, rows, css_id="headline-table")))
    blocks.append(
        Block(
            "note",
            f"Difference = {system} − {baseline}. Aggregates computed over all reports at once "
            "(micro and macro F1, shares of reports with a warning) have no per-report bootstrap: "
            "no CI or p.",
        )
    )
    return blocks


def _aggregate_keys(result: EvaluationResult) -> list[str]:
    """Scorer aggregates that are not a per-report metric's mean, in first-seen order."""
    keys: list[str] = []
    for s in result.systems:
        keys.extend(
            k for k in result.aggregates[s] if k not in result.metric_info and k not in keys
        )
    return keys


def mean_blocks(result: EvaluationResult) -> list[Block]:
    rows = [[Cell("Reports")] + [Cell(str(len(result.references))) for _ in result.systems]]
    for m in [*result.metrics, *_aggregate_keys(result)]:
        info = _info(result, m)
        values = [result.aggregates[s].get(m) for s in result.systems]
        finite = [v for v in values if v is not None and not math.isnan(v)]
        best = None
        if len(result.systems) > 1 and finite and len(set(finite)) > 1:
            best = max(finite) if (info.higher_is_better if info else True) else min(finite)
        rows.append(
            [Cell(metric_name(result, m), title=info.description if info else "")]
            + [Cell(_value(info, v), "best" if v == best else "") for v in values]
        )
    header = ["Metric", *result.systems]
    return [
        Block("h2", "Mean scores", anchor="means"),
        Block("table", table=Table(header, rows, css_id="means-table")),
        Block(
            "note",
            "Bold: the best system on that row. Rates are shares of reports; label F1 comes from "
            "radimpress's rule-based extractor (not CheXbert), in three forms: the mean of each "
            "report's F1, micro (all labels pooled) and macro (mean over observations).",
        ),
    ]


def _difference_cell(c: dict[str, Any] | None, info: MetricInfo | None) -> Cell:
    """A difference with its CI and p underneath, coloured when significant."""
    if c is None or math.isnan(c["diff"]):
        return Cell("–")
    sub = ""
    if not math.isnan(c["ci_low"]):
        sub = f"{_ci(info, c)} p {format_p(c['p_value'], c['resamples'])}"
    return Cell(_delta(info, c["diff"]), _significance_class(c, info), sub=sub)


def reference_blocks(result: EvaluationResult) -> list[Block]:
    if len(result.systems) < 2:
        return []
    ref = result.reference_system
    others = [s for s in result.systems if s != ref]
    by_key = {(c["system"], c["metric"]): c for c in result.comparisons}
    rows = []
    for m in result.metrics:
        info = _info(result, m)
        row = [Cell(metric_name(result, m))]
        for s in others:
            row.append(_difference_cell(by_key.get((s, m)), info))
        rows.append(row)
    blocks = [
        Block("h2", f"Differences against {ref}", anchor="reference"),
        Block(
            "p",
            f"Each cell: system − {ref}, the mean difference over the same reports, with its 95% "
            "CI and p from the paired bootstrap.",
        ),
        Block("table", table=Table(["Metric", *others], rows, css_id="reference-table")),
    ]
    return blocks


def group_blocks(result: EvaluationResult) -> list[Block]:
    """Means and differences on each group of references (normal / abnormal impressions)."""
    if not result.groups:
        return []
    groups = list(result.groups)
    counts = ", ".join(f"{g} {len(idx)}" for g, idx in result.groups.items())
    blocks = [
        Block("h2", "By reference impression", anchor="groups"),
        Block("p", f"{result.options.get('group_note') or 'Reports grouped by their reference.'} "
              f"Reports: {counts}."),
    ]  # fmt: skip
    rows = []
    for m in result.metrics:
        info = _info(result, m)
        for g in groups:
            values = [result.group_aggregates[g][s][m] for s in result.systems]
            finite = [v for v in values if not math.isnan(v)]
            best = None
            if len(result.systems) > 1 and finite and len(set(finite)) > 1:
                best = max(finite) if (info.higher_is_better if info else True) else min(finite)
            rows.append(
                [Cell(f"{metric_name(result, m)}, {g}"), Cell(str(len(result.groups[g])))]
                + [Cell(_value(info, v), "best" if v == best else "") for v in values]
            )
    header = ["Metric, reference impression", "Reports", *result.systems]
    blocks.append(Block("table", table=Table(header, rows, left=2, css_id="groups-table")))
    comparisons = [c for g in groups for c in result.group_comparisons.get(g, [])]
    pairs = list(dict.fromkeys((c["baseline"], c["system"]) for c in comparisons))
    if not pairs:
        return blocks
    by_key = {(c["group"], c["baseline"], c["system"], c["metric"]): c for c in comparisons}
    rows = []
    for m in result.metrics:
        info = _info(result, m)
        for g in groups:
            row = [Cell(f"{metric_name(result, m)}, {g}")]
            for baseline, system in pairs:
                row.append(_difference_cell(by_key.get((g, baseline, system, m)), info))
            rows.append(row)
    header = ["Metric, reference impression", *[f"{s} − {b}" for b, s in pairs]]
    blocks.append(Block("table", table=Table(header, rows, css_id="groups-diff-table")))
    return blocks


def label_blocks(result: EvaluationResult) -> list[Block]:
    """Each scorer table as one grid: its rows down, the systems across."""
    blocks: list[Block] = []
    for name, by_system in result.tables.items():
        systems = [s for s in result.systems if s in by_system]
        keys: list[str] = []
        for records in by_system.values():
            for r in records:
                keys.extend(k for k in r if k not in keys)
        if not keys:
            continue
        row_key, rest = keys[0], keys[1:]
        rows_by_id: dict[str, dict[str, dict[str, Any]]] = {}
        for s in systems:
            for r in by_system[s]:
                rows_by_id.setdefault(str(r.get(row_key)), {})[s] = r
        shared = [
            k
            for k in rest
            if all(len({repr(per[s].get(k)) for s in per}) == 1 for per in rows_by_id.values())
        ]
        varying = [k for k in rest if k not in shared]
        value_key = varying[-1] if varying else None
        if value_key is None and len(systems) > 1:
            continue
        if value_key is None:
            value_key, shared = rest[-1], rest[:-1]
        header = [row_key, *shared, *systems]
        rows, dropped = [], []
        for rid, per in rows_by_id.items():
            values = [per.get(s, {}).get(value_key) for s in systems]
            if all(v is None for v in values):
                dropped.append(rid)
                continue
            first = next(iter(per.values()))
            row = [Cell(rid)] + [Cell(_num(first.get(k), 1)) for k in shared]
            finite = [v for v in values if isinstance(v, int | float)]
            best = max(finite) if len(systems) > 1 and len(set(finite)) > 1 else None
            for s, v in zip(systems, values, strict=True):
                tip = ", ".join(
                    f"{k} {_num(per.get(s, {}).get(k), 1)}" for k in varying if k != value_key
                )
                row.append(Cell(_num(v, 1), "best" if v == best else "", title=tip))
            rows.append(row)
        blocks += [
            Block("h2", name, anchor="labels" if not blocks else ""),
            Block("table", table=Table(header, rows, css_id="labels-table" if not blocks else "")),
        ]
        note = f"Cells: {value_key}; bold: the best system on that row."
        if [k for k in varying if k != value_key]:
            note += f" {', '.join(k for k in varying if k != value_key)} are in metrics.json."
        if dropped:
            note += f" Left out, mentioned in no reference or prediction: {', '.join(dropped)}."
        blocks.append(Block("note", note))
    return blocks


def distribution_rows(result: EvaluationResult, metric: str) -> tuple[list[str], list[list[str]]]:
    header = ["system", *DESCRIBE_COLUMNS]
    rows = []
    for s in result.systems:
        d = result.distribution[s][metric]
        rows.append(
            [s, *[str(int(d["count"])) if k == "count" else _num(d[k]) for k in DESCRIBE_COLUMNS]]
        )
    return header, rows


def distribution_metrics(result: EvaluationResult) -> list[str]:
    """Metrics whose spread says something (not 0/1 rates)."""
    return [m for m in result.metrics if result.metric_info[m].kind != "rate"]


def distribution_blocks(result: EvaluationResult) -> list[Block]:
    blocks = [
        Block("h2", "Distributions over reports", anchor="distributions"),
        Block(
            "note",
            "count, mean, standard deviation, minimum, quartiles and maximum of the per-report "
            "values; the box plots show the same (box: quartiles, line: median, diamond: mean). "
            "Rates are 0 or 1 per report, so only their means are shown above.",
        ),
    ]
    for m in distribution_metrics(result):
        header, rows = distribution_rows(result, m)
        blocks += [
            Block("h3", metric_name(result, m)),
            Block(
                "dist",
                table=Table(header, [_cells(r) for r in rows], css_id=f"dist-{m}"),
                image=(f"{result.metric_info[m].label} box plot", f"plots/{m}.png", m),
            ),
        ]
    return blocks


def worst_blocks(result: EvaluationResult) -> list[Block]:
    k = max((len(v) for v in result.worst.values()), default=0)
    if k == 0:
        return []
    primary = result.primary_metric
    label = metric_name(result, primary)
    blocks = [
        Block("h2", f"The {k} lowest-scoring reports per system", anchor="worst"),
        Block(
            "note",
            f"By {label}, lowest first (ties by report id). Every report's scores are in "
            "per_report.csv; `radimpress evaluate --worst N` shows more.",
        ),
    ]
    shown = [m for m in (primary, "label_f1", "safety_warnings") if m in result.metric_info]
    for s, idx in result.worst.items():
        examples = []
        for i in idx:
            ref = result.references[i]
            fields = [("findings", ref.findings), ("prediction", result.predictions[s][i]),
                      ("reference", ref.impression or "")]  # fmt: skip
            fields += [
                (col, str(values[i])) for col, values in result.columns[s].items() if values[i]
            ]
            scores = ", ".join(
                f"{result.metric_info[m].label} {_report_value(result.metric_info[m], result.scores[s][m][i])}"
                for m in shown
            )
            examples.append({"id": ref.id, "scores": scores, "fields": fields})
        blocks.append(Block("examples", text=s, examples=examples))
    return blocks


def intro_lines(result: EvaluationResult) -> list[str]:
    o = result.options
    ref = result.sources.get("references", "references")
    b = o["bootstrap_resamples"]
    k = max(1, math.ceil(round(b * (1 - o.get("confidence", 0.95)) / 2, 9))) if b else 0
    lines = [
        f"{len(result.references)} reference reports ({ref}); systems: {', '.join(result.systems)}.",
        "ROUGE scores are F1 x 100 from Google's rouge-score "
        f"({'with' if o['use_stemmer'] else 'without'} Porter stemming); ROUGE-Lsum uses radimpress's "
        "sentence splitter.",
    ]
    if b:
        lines.append(
            f"Comparisons: one paired bootstrap over reports ({b} resamples, seed {o['seed']}) for "
            f"every difference. The 95% CI is the {k}th smallest and largest resampled difference; "
            "p is twice the share of resamples on the far side of 0, so p < 0.05 exactly when the "
            "CI excludes 0. No correction for multiple comparisons."
        )
    else:
        lines.append("No bootstrap was run (--bootstrap 0): differences without CI or p.")
    for s, ids in result.drafted_from_findings.items():
        lines.append(
            f"{s}: {len(ids)} of {len(result.references)} drafts are the findings' own sentences "
            f"({FALLBACK_NOTE}); ids {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}."
        )
    return lines


def significance_warning(result: EvaluationResult) -> str:
    n, min_n = len(result.references), result.options.get("min_n", 30)
    if n >= min_n:
        return (
            f"Green/red: a difference whose CI excludes 0 (p < 0.05) in the better/worse "
            f"direction; shown from {min_n} reports up."
        )
    return (
        f"Only {n} reports: below {min_n}, a bootstrap CI is too unstable to call a difference "
        "significant, so no difference is coloured. Read these numbers as a smoke test, not "
        "as evidence either way."
    )


def report_blocks(result: EvaluationResult) -> list[Block]:
    blocks = [Block("ul", items=intro_lines(result))]
    if result.headline_pair or len(result.systems) > 1:
        blocks.append(
            Block("warn" if _few_reports(result) else "note", significance_warning(result))
        )
    blocks += headline_blocks(result)
    blocks += mean_blocks(result)
    blocks += reference_blocks(result)
    blocks += group_blocks(result)
    blocks += label_blocks(result)
    blocks += distribution_blocks(result)
    blocks += worst_blocks(result)
    return blocks


# ---------------------------------------------------------------- Markdown


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_cell(c: Cell) -> str:
    text = f"{c.text} {c.sub}" if c.sub else c.text
    return f"**{text}**" if c.cls in ("better", "worse", "best") else text


def render_markdown(result: EvaluationResult, title: str, created: str) -> str:
    parts = [f"# {title}", "", f"radimpress {__version__}, {created}", ""]
    for b in report_blocks(result):
        if b.kind == "h2":
            parts += [f"## {b.text}", ""]
        elif b.kind == "h3":
            parts += [f"### {b.text}", ""]
        elif b.kind in ("p", "note"):
            parts += [b.text, ""]
        elif b.kind == "warn":
            parts += [f"> **Note:** {b.text}", ""]
        elif b.kind == "ul":
            parts += [f"- {line}" for line in b.items] + [""]
        elif b.kind == "table" and b.table:
            rows = [[_md_cell(c) for c in r] for r in b.table.rows]
            parts += [markdown_table(b.table.header, rows), ""]
        elif b.kind == "dist" and b.table and b.image:
            rows = [[c.text for c in r] for r in b.table.rows]
            parts += [
                markdown_table(b.table.header, rows),
                "",
                f"![{b.image[0]}]({b.image[1]})",
                "",
            ]
        elif b.kind == "examples":
            parts += [f"### {b.text}", ""]
            for ex in b.examples:
                parts += [f"**{ex['id']}** ({ex['scores']})", ""]
                parts += [f"- {k}: {v}".replace("\n", " ") for k, v in ex["fields"]] + [""]
    return "\n".join(parts)


# ---------------------------------------------------------------- HTML


def html_table(t: Table) -> str:
    e = html.escape

    def attrs(i: int, c: Cell | None = None) -> str:
        classes = (["t"] if i < t.left else []) + ([c.cls] if c and c.cls else [])
        out = f' class="{" ".join(classes)}"' if classes else ""
        if c and c.title:
            out += f' title="{e(c.title)}"'
        return out

    head = "".join(f"<th{attrs(i)}>{e(h)}</th>" for i, h in enumerate(t.header))
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{attrs(i, c)}>{e(c.text)}{f'<small>{e(c.sub)}</small>' if c.sub else ''}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in t.rows
    )
    css_id = f' id="{e(t.css_id)}"' if t.css_id else ""
    return f"<table{css_id}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(result: EvaluationResult, title: str, created: str, pngs: dict[str, bytes]) -> str:
    e = html.escape
    blocks = report_blocks(result)
    toc = [(b.anchor, b.text) for b in blocks if b.kind == "h2" and b.anchor]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1><p class=meta>radimpress {e(__version__)} · {e(created)}</p>",
        "<nav class=toc>" + "".join(f'<a href="#{a}">{e(t)}</a>' for a, t in toc) + "</nav>",
    ]
    for b in blocks:
        if b.kind == "h2":
            parts.append(f"<h2{f' id={e(b.anchor)}' if b.anchor else ''}>{e(b.text)}</h2>")
        elif b.kind == "h3":
            parts.append(f"<h3>{e(b.text)}</h3>")
        elif b.kind == "p":
            parts.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "note":
            parts.append(f"<p class=note>{e(b.text)}</p>")
        elif b.kind == "warn":
            parts.append(f'<p class=warn role="note">{e(b.text)}</p>')
        elif b.kind == "ul":
            parts.append("<ul class=note>" + "".join(f"<li>{e(x)}</li>" for x in b.items) + "</ul>")
        elif b.kind == "table" and b.table:
            parts.append(html_table(b.table))
        elif b.kind == "dist" and b.table and b.image:
            alt, _, metric = b.image
            b64 = base64.b64encode(pngs[metric]).decode("ascii")
            parts.append(
                f"<div class=dist>{html_table(b.table)}"
                f'<img alt="{e(alt)}" src="data:image/png;base64,{b64}"></div>'
            )
        elif b.kind == "examples":
            # The headline's system is open: its failures are what the reader came to see.
            is_open = " open" if result.headline_pair and b.text == result.headline_pair[1] else ""
            parts.append(
                f"<details{is_open}><summary>{e(b.text)} ({len(b.examples)} reports)</summary>"
            )
            for ex in b.examples:
                dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in ex["fields"])
                parts.append(
                    f"<div class=ex><h4>{e(ex['id'])} <span class=meta>{e(ex['scores'])}</span>"
                    f"</h4><dl>{dl}</dl></div>"
                )
            parts.append("</details>")
    parts += ["</body></html>"]
    return "\n".join(parts)


# ---------------------------------------------------------------- files


def metrics_document(result: EvaluationResult, created: str) -> dict[str, Any]:
    """The content of metrics.json: every number in the report plus per-report scores."""
    return _jsonable({
        "radimpress_version": __version__,
        "created": created,
        "options": result.options,
        "inputs": {k: {"path": v, "sha256": _sha256(v)} for k, v in result.sources.items()},
        "n_reports": len(result.references),
        "systems": result.systems,
        "reference_system": result.reference_system,
        "metrics": {m: info.to_dict() for m, info in result.metric_info.items()},
        "aggregate_metrics": {m: info.to_dict() for m, info in result.aggregate_info.items()},
        "note": "ROUGE and label F1 are x 100 everywhere in this file and the report; rates are "
        "shares of reports (0-1), printed as % in the report. Comparisons: system - baseline; "
        "'significant' is null below options.min_n reports.",
        "aggregate": result.aggregates,
        "distribution": result.distribution,
        "headline": {
            "baseline": result.headline_pair[0] if result.headline_pair else None,
            "system": result.headline_pair[1] if result.headline_pair else None,
            "comparisons": result.headline,
        },
        "comparisons": result.comparisons,
        "groups": {g: len(idx) for g, idx in result.groups.items()},
        "group_aggregate": result.group_aggregates,
        "group_comparisons": result.group_comparisons,
        "tables": result.tables,
        "empty_predictions": {s: sum(1 for p in result.predictions[s] if not p.strip()) for s in result.systems},
        "drafted_from_findings": {s: len(result.drafted_from_findings.get(s, [])) for s in result.systems},
        "worst": {s: [result.references[i].id for i in idx] for s, idx in result.worst.items()},
        "per_report": {
            s: {r.id: {m: result.scores[s][m][i] for m in result.metrics} for i, r in enumerate(result.references)}
            for s in result.systems
        },
        "seconds": result.seconds,
    })  # fmt: skip


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_report(
    result: EvaluationResult, out_dir: str | Path, *, title: str = "radimpress evaluation"
) -> dict[str, Path]:
    """Write metrics.json, per_report.csv, report.md, report.html and plots/*.png; return paths."""
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths: dict[str, Path] = {}

    paths["metrics.json"] = out / "metrics.json"
    _write_text(
        paths["metrics.json"],
        json.dumps(metrics_document(result, created), indent=2, ensure_ascii=False) + "\n",
    )

    rows = result.per_report_rows()
    paths["per_report.csv"] = out / "per_report.csv"
    tmp = paths["per_report.csv"].with_name("per_report.csv.tmp")
    fieldnames = (
        list(rows[0])
        if rows
        else ["id", "system", *result.metrics, "prediction", "reference", "findings"]
    )
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()}
            )
    tmp.replace(paths["per_report.csv"])

    pngs: dict[str, bytes] = {}
    for m in distribution_metrics(result):
        info = result.metric_info[m]
        pngs[m] = box_plot_png(
            {s: result.scores[s][m] for s in result.systems},
            title=info.label,
            xlabel=info.scale or m,
        )
        paths[f"plots/{m}.png"] = out / "plots" / f"{m}.png"
        paths[f"plots/{m}.png"].write_bytes(pngs[m])

    paths["report.md"] = out / "report.md"
    _write_text(paths["report.md"], render_markdown(result, title, created))
    paths["report.html"] = out / "report.html"
    _write_text(paths["report.html"], render_html(result, title, created, pngs))
    return paths
