"""Evaluation dashboard: runs side by side, score distributions, per-report tables,
and the feedback scoreboard (acceptance and edit rate per model version)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from radimpress.serve.routers.review import Reviewer, render

router = APIRouter(include_in_schema=False)

PREFERRED = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# Scores on 0-100 worth a box plot; rates and counts are read from the table.
PLOTTED = (*PREFERRED, "label_f1")


def _metric_names(
    runs: list[dict[str, Any]], reports: dict[str, list[dict[str, Any]]]
) -> list[str]:
    names: list[str] = []
    for run in runs:
        for m in run["metrics"].get("metrics") or []:
            if m not in names:
                names.append(m)
        for row in reports.get(run["id"], [])[:1]:
            for m in row["scores"]:
                if m not in names:
                    names.append(m)
    return sorted(
        names, key=lambda m: (PREFERRED.index(m) if m in PREFERRED else len(PREFERRED), m)
    )


def _times_100(values: list[float], scale: str) -> float:
    """Factor that puts a score on the tables' 0-100 scale (ROUGE arrives x 100 already)."""
    return 1.0 if ("100" in (scale or "") or any(v > 1.0 for v in values)) else 100.0


def _first(runs: list[dict[str, Any]], key: str, metric: str, default: Any) -> Any:
    """A metric's label/kind/scale as the first run that knows it says."""
    return next((r["metrics"].get(key, {}).get(metric) for r in runs
                 if r["metrics"].get(key, {}).get(metric)), default)  # fmt: skip


def _is_rate(runs: list[dict[str, Any]], metric: str) -> bool:
    kind = _first(runs, "metric_kinds", metric, None) or _first(
        runs, "aggregate_kinds", metric, None
    )
    scale = _first(runs, "metric_scales", metric, "") or _first(
        runs, "aggregate_scales", metric, ""
    )
    return kind == "rate" or scale == "share of reports"


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, reviewer: Reviewer):
    store = request.app.state.store

    def load():
        runs = store.runs()
        return runs, {r["id"]: store.run_reports(r["id"]) for r in runs}, store.review_stats()

    runs, reports, stats = await asyncio.to_thread(load)
    metrics = _metric_names(runs, reports)
    table = []  # metric -> per run mean
    for m in metrics:
        row = {
            "metric": m,
            "label": _first(runs, "metric_labels", m, m),
            "rate": _is_rate(runs, m),
            "values": [],
        }
        for run in runs:
            vals = [x["scores"][m] for x in reports[run["id"]] if m in x["scores"]]
            mean = run["metrics"].get("aggregate", {}).get(m)
            if mean is None and vals:
                mean = sum(vals) / len(vals)
            row["values"].append(mean)
        table.append(row)
    # System-level numbers that are not a mean per report (micro/macro label F1, ...).
    aggregates: list[str] = []
    for run in runs:
        aggregates += [k for k in run["metrics"].get("aggregate_labels", {}) if k not in aggregates]
    for k in aggregates:
        table.append(
            {
                "metric": k,
                "label": _first(runs, "aggregate_labels", k, k),
                "rate": _is_rate(runs, k),
                "values": [run["metrics"].get("aggregate", {}).get(k) for run in runs],
            }
        )
    plots = []
    for m in metrics:
        if m not in PLOTTED:
            continue
        series = []
        for run in runs:
            vals = [x["scores"][m] for x in reports[run["id"]] if m in x["scores"]]
            factor = _times_100(vals, run["metrics"].get("metric_scales", {}).get(m, ""))
            series.append((run["name"], [v * factor for v in vals]))
        if any(vals for _, vals in series):
            plots.append({"metric": m, "label": table[metrics.index(m)]["label"], "series": series})
    warning_rates = []
    for run in runs:
        rows = reports[run["id"]]
        flagged = sum(1 for x in rows if x["warning_types"])
        warning_rates.append(flagged / len(rows) if rows else None)
    return render(
        request,
        "dashboard.html",
        reviewer=reviewer,
        runs=runs,
        table=table,
        plots=plots,
        stats=stats,
        warning_rates=warning_rates,
    )


@router.get("/dashboard/runs/{run_id}", response_class=HTMLResponse)
async def run_page(
    request: Request,
    run_id: str,
    reviewer: Reviewer,
    sort: Annotated[str | None, Query(max_length=100)] = None,
    order: Annotated[str, Query(max_length=4)] = "asc",
    warning: Annotated[str, Query(max_length=100)] = "",
    q: Annotated[str, Query(max_length=500)] = "",
):
    store = request.app.state.store
    runs = await asyncio.to_thread(store.runs)
    run = next((r for r in runs if r["id"] == run_id), None)
    if run is None:
        return render(request, "not_found.html", status_code=404, reviewer=reviewer, what=run_id)
    rows = await asyncio.to_thread(store.run_reports, run_id)
    # 0/1 warning rates per report are the Warnings column's pills already.
    metrics = [m for m in _metric_names([run], {run_id: rows}) if not _is_rate([run], m)]
    kinds = run["metrics"].get("metric_kinds", {})
    primary = run["metrics"].get("primary_metric") or (metrics[0] if metrics else "")
    sort = sort if sort in (*metrics, "report_id", "warnings") else primary
    order = "desc" if order == "desc" else "asc"
    warning_types = sorted({t for r in rows for t in r["warning_types"]})
    if warning == "any":
        rows = [r for r in rows if r["warning_types"]]
    elif warning == "none":
        rows = [r for r in rows if not r["warning_types"]]
    elif warning:
        rows = [r for r in rows if warning in r["warning_types"]]
    if q:
        needle = q.lower()
        rows = [
            r
            for r in rows
            if needle in r["report_id"].lower()
            or needle in r["prediction"].lower()
            or needle in r["reference"].lower()
        ]

    def key(r):
        if sort == "report_id":
            return (0, r["report_id"])
        if sort == "warnings":
            return (0, len(r["warning_types"]))
        v = r["scores"].get(sort)
        return (1, 0.0) if v is None else (0, v)  # missing scores last

    rows.sort(key=key, reverse=(order == "desc"))
    if order == "desc":  # keep missing last either way
        rows.sort(
            key=lambda r: (
                0 if sort in ("report_id", "warnings") or r["scores"].get(sort) is not None else 1
            )
        )
    template = (
        "_run_table.html"
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "run-table"
        else "run.html"
    )
    return render(
        request,
        template,
        reviewer=reviewer,
        run=run,
        rows=rows,
        metrics=metrics,
        digits={m: 0 if kinds.get(m) == "count" else 1 for m in metrics},
        sort=sort,
        order=order,
        warning=warning,
        q=q,
        warning_types=warning_types,
        primary=primary,
    )
