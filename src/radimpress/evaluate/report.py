"""Write an evaluation as files a person can open: JSON, CSV, Markdown and one HTML page.

``report.html`` is self-contained (CSS inline, plots as base64 PNG) so it can
be mailed or attached to a ticket and still show everything. The worst
examples are there because a mean cannot tell a radiologist whether the
failures are harmless rewordings or missed findings; reading ten can.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radimpress import __version__
from radimpress.evaluate.plots import box_plot_png
from radimpress.evaluate.scoring import EvaluationResult
from radimpress.evaluate.stats import DESCRIBE_COLUMNS

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
padding:0 1rem;color:#1d2430;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #e3e7ee;padding-bottom:.2rem}
.meta,.note{color:#5b6575;font-size:.9rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d9dee7;padding:.3rem .6rem;text-align:right;vertical-align:top}
th{background:#f2f5f9}td.t,th.t{text-align:left}tbody td.t:first-child{white-space:nowrap}
tr:nth-child(even) td{background:#fafbfd}
.better{color:#11703a;font-weight:600}.worse{color:#a4262c;font-weight:600}
img{max-width:100%;border:1px solid #e3e7ee;margin:.4rem 0}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:.8rem}.plots>*{min-width:0}
.ex{border:1px solid #d9dee7;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}
.ex h4{margin:.1rem 0 .4rem;font-size:.95rem}
.ex dl{display:grid;grid-template-columns:8rem 1fr;gap:.2rem .8rem;margin:0}
.ex dt{color:#5b6575;font-weight:600}.ex dd{margin:0;white-space:pre-wrap}
"""


def _num(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _signed(v: float) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:+.2f}"


def format_p(v: float) -> str:
    """p-values below the bootstrap's resolution read as <0.001, not as a fake exact value."""
    if v is None or math.isnan(v):
        return "–"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


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


def _label(result: EvaluationResult, metric: str) -> str:
    info = result.metric_info.get(metric)
    if info is None:
        return metric
    return f"{info.label} ({info.scale})" if info.scale else info.label


def aggregate_rows(result: EvaluationResult) -> tuple[list[str], list[list[str]]]:
    """One row per system: n and the mean of each metric, then scorer aggregates."""
    extra = sorted(
        {k for s in result.systems for k in result.aggregates[s] if k not in result.metric_info}
    )
    header = ["system", "n", *[result.metric_info[m].label for m in result.metrics], *extra]
    rows = []
    for s in result.systems:
        agg = result.aggregates[s]
        rows.append(
            [
                s,
                str(len(result.references)),
                *[_num(agg.get(m)) for m in result.metrics],
                *[_num(agg.get(k)) for k in extra],
            ]
        )
    return header, rows


def comparison_rows(result: EvaluationResult) -> tuple[list[str], list[list[str]]]:
    header = ["system", "vs", "metric", "mean (system)", "mean (vs)", "difference", "95% CI", "p"]
    rows = []
    for c in result.comparisons:
        rows.append([
            c["system"], c["baseline"], result.metric_info[c["metric"]].label,
            _num(c["mean_system"]), _num(c["mean_baseline"]), _signed(c["diff"]),
            f"[{_signed(c['ci_low'])}, {_signed(c['ci_high'])}]", format_p(c["p_value"]),
        ])  # fmt: skip
    return header, rows


def distribution_rows(result: EvaluationResult, metric: str) -> tuple[list[str], list[list[str]]]:
    header = ["system", *DESCRIBE_COLUMNS]
    rows = []
    for s in result.systems:
        d = result.distribution[s][metric]
        rows.append(
            [s, *[str(int(d["count"])) if k == "count" else _num(d[k]) for k in DESCRIBE_COLUMNS]]
        )
    return header, rows


def _table_from_records(
    records: list[dict[str, Any]], system: str | None
) -> tuple[list[str], list[list[str]]]:
    keys: list[str] = []
    for r in records:
        keys.extend(k for k in r if k not in keys)
    header = (["system"] if system is not None else []) + keys
    rows = [
        ([system] if system is not None else []) + [_num(r.get(k)) for k in keys] for r in records
    ]
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    def cls(i: int) -> str:
        return ' class="t"' if i < left else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{html.escape(str(v))}</td>" for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def metrics_document(result: EvaluationResult, created: str) -> dict[str, Any]:
    """The content of metrics.json: every number in the report plus per-report scores."""
    return _jsonable({
        "radimpress_version": __version__,
        "created": created,
        "options": result.options,
        "inputs": {k: {"path": v, "sha256": _sha256(v)} for k, v in result.sources.items()},
        "n_reports": len(result.references),
        "systems": result.systems,
        "metrics": {m: info.to_dict() for m, info in result.metric_info.items()},
        "note": "ROUGE values are F1 x 100 everywhere in this file and the report.",
        "aggregate": result.aggregates,
        "distribution": result.distribution,
        "comparisons": result.comparisons,
        "tables": result.tables,
        "empty_predictions": {s: sum(1 for p in result.predictions[s] if not p.strip()) for s in result.systems},
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
    for m in result.metrics:
        info = result.metric_info[m]
        pngs[m] = box_plot_png(
            {s: result.scores[s][m] for s in result.systems},
            title=info.label,
            ylabel=info.scale or m,
        )
        paths[f"plots/{m}.png"] = out / "plots" / f"{m}.png"
        paths[f"plots/{m}.png"].write_bytes(pngs[m])

    paths["report.md"] = out / "report.md"
    _write_text(paths["report.md"], render_markdown(result, title, created))
    paths["report.html"] = out / "report.html"
    _write_text(paths["report.html"], render_html(result, title, created, pngs))
    return paths


def _intro(result: EvaluationResult) -> list[str]:
    o = result.options
    ref = result.sources.get("references", "references")
    return [
        f"{len(result.references)} reference reports ({ref}); systems: {', '.join(result.systems)}.",
        "ROUGE scores are F1 x 100 from Google's rouge-score "
        f"({'with' if o['use_stemmer'] else 'without'} Porter stemming); ROUGE-Lsum uses radimpress's "
        "sentence splitter.",
        f"Comparisons: paired bootstrap over reports ({o['bootstrap_resamples']} resamples, seed {o['seed']}) "
        f"of each system against the first ({o['baseline_system']}); 95% percentile CI of the difference "
        "in mean, two-sided p-value, no correction for multiple comparisons.",
    ]


def render_markdown(result: EvaluationResult, title: str, created: str) -> str:
    parts = [f"# {title}", "", f"radimpress {__version__}, {created}", ""]
    parts += [f"- {line}" for line in _intro(result)] + [""]
    parts += ["## Mean scores", "", markdown_table(*aggregate_rows(result)), ""]
    if result.comparisons:
        parts += [
            "## Differences against the first system",
            "",
            markdown_table(*comparison_rows(result)),
            "",
        ]
    parts += ["## Distributions", ""]
    for m in result.metrics:
        parts += [
            f"### {_label(result, m)}",
            "",
            markdown_table(*distribution_rows(result, m)),
            "",
            f"![{result.metric_info[m].label} box plot](plots/{m}.png)",
            "",
        ]
    for name, by_system in result.tables.items():
        parts += [f"## {name}", ""]
        for s, records in by_system.items():
            parts += [markdown_table(*_table_from_records(records, s)), ""]
    parts += [
        f"## Worst {max((len(v) for v in result.worst.values()), default=0)} reports per system "
        f"(by {result.metric_info[result.primary_metric].label})",
        "",
    ]
    for s, idx in result.worst.items():
        parts += [f"### {s}", ""]
        for i in idx:
            ref = result.references[i]
            score = result.scores[s][result.primary_metric][i]
            parts += [
                f"**{ref.id}** ({result.metric_info[result.primary_metric].label} {_num(float(score))})",
                "",
                f"- findings: {ref.findings}".replace("\n", " "),
                f"- prediction: {result.predictions[s][i]}".replace("\n", " "),
                f"- reference: {ref.impression}".replace("\n", " "),
                "",
            ]
    return "\n".join(parts)


def render_html(result: EvaluationResult, title: str, created: str, pngs: dict[str, bytes]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1><p class=meta>radimpress {e(__version__)} · {e(created)}</p>",
        "<ul class=note>" + "".join(f"<li>{e(line)}</li>" for line in _intro(result)) + "</ul>",
        "<h2>Mean scores</h2>",
        html_table(*aggregate_rows(result)),
    ]
    if result.comparisons:
        header, rows = comparison_rows(result)
        body = []
        for c, row in zip(result.comparisons, rows, strict=True):
            hib = result.metric_info[c["metric"]].higher_is_better
            significant = not math.isnan(c["p_value"]) and c["p_value"] < 0.05
            cls = ""
            if significant:
                cls = "better" if (c["diff"] > 0) == hib else "worse"
            cells = "".join(
                f"<td{' class=t' if i < 3 else ''}{f' class={cls}' if cls and i == 5 else ''}>{e(str(v))}</td>"
                for i, v in enumerate(row)
            )
            body.append(f"<tr>{cells}</tr>")
        head = "".join(
            f"<th{' class=t' if i < 3 else ''}>{e(h)}</th>" for i, h in enumerate(header)
        )
        parts += [
            "<h2>Differences against the first system</h2>",
            "<p class=note>Green/red: difference with p &lt; 0.05 in the better/worse direction.</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
        ]
    parts += ["<h2>Distributions</h2><div class=plots>"]
    for m in result.metrics:
        b64 = base64.b64encode(pngs[m]).decode("ascii")
        parts += [
            f"<div><h3>{e(_label(result, m))}</h3>",
            html_table(*distribution_rows(result, m)),
            f'<img alt="{e(result.metric_info[m].label)} box plot" src="data:image/png;base64,{b64}"></div>',
        ]
    parts += ["</div>"]
    for name, by_system in result.tables.items():
        parts += [f"<h2>{e(name)}</h2>"]
        for s, records in by_system.items():
            parts += [html_table(*_table_from_records(records, s))]
    label = result.metric_info[result.primary_metric].label
    parts += [f"<h2>Worst reports per system (by {e(label)})</h2>"]
    for s, idx in result.worst.items():
        parts += [f"<h3>{e(s)}</h3>"]
        for i in idx:
            ref = result.references[i]
            extra = "".join(
                f"<dt>{e(col)}</dt><dd>{e(str(values[i]))}</dd>"
                for col, values in result.columns[s].items()
            )
            scores = ", ".join(
                f"{result.metric_info[m].label} {_num(float(result.scores[s][m][i]))}"
                for m in result.metrics
            )
            parts += [
                f"<div class=ex><h4>{e(ref.id)} <span class=meta>{e(scores)}</span></h4><dl>"
                f"<dt>findings</dt><dd>{e(ref.findings)}</dd>"
                f"<dt>prediction</dt><dd>{e(result.predictions[s][i])}</dd>"
                f"<dt>reference</dt><dd>{e(ref.impression or '')}</dd>{extra}</dl></div>"
            ]
    parts += ["</body></html>"]
    return "\n".join(parts)
