"""Import `radimpress evaluate` output folders into the store for the dashboard.

An evaluate folder holds metrics.json and per_report.csv with one row per
(report, system): id, system, one column per metric (ROUGE as F1 x 100),
optional extra columns, prediction, reference, findings. Each system becomes
one run here, and each of its rows a draft (origin 'evaluation'), so every
row of the dashboard opens the same report page reviewers use.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from radimpress.drafting import CHECK_FAILED, DraftWarning
from radimpress.drafting.checks import check_items
from radimpress.records import InputError
from radimpress.serve.store import Draft, Store, new_id

TEXT_COLUMNS = {
    "id",
    "system",
    "prediction",
    "reference",
    "findings",
    "indication",
    "exam",
    "warnings",
    "warning_types",
    "warning_details",
    "candidates",
}
# Written by `radimpress evaluate` before it had a separate warning_details column:
# the count's column then held the warning texts, so the count is recounted here.
WARNING_COUNT = "safety_warnings"


def _float(value: str) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if x != x else x  # NaN -> None


def _warnings_from_row(row: dict[str, str], findings: str, prediction: str) -> list[dict[str, Any]]:
    raw = (row.get("warnings") or "").strip()
    if raw.startswith("["):
        try:
            return [DraftWarning.from_safety(w, 0).model_dump() for w in json.loads(raw)]
        except (json.JSONDecodeError, TypeError, ValueError, KeyError):
            pass
    types = row.get("warning_types") or (raw if raw and not raw.startswith("[") else "")
    names = [t.strip() for t in types.replace(";", ",").split(",") if t.strip()]
    if names:
        return [
            {"type": t, "severity": "warning", "message": t, "candidate": 0, "evidence": []}
            for t in names
        ]
    if not (findings and prediction):
        return []
    checked = check_items([(findings, [prediction])])
    if checked is None:
        return [CHECK_FAILED.model_dump()]
    return [w.model_dump() for w in checked[0][0]]


def _info_field(infos: Any, key: str) -> dict[str, str]:
    """{metric: info[key]} from metrics.json's "metrics" or "aggregate_metrics" (absent: {})."""
    if not isinstance(infos, dict):
        return {}
    return {m: str(i[key]) for m, i in infos.items() if isinstance(i, dict) and i.get(key)}


def read_run_dir(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """metrics.json (may be absent) and per_report.csv rows grouped by system."""
    run_dir = Path(run_dir)
    csv_path = run_dir / "per_report.csv"
    if not csv_path.exists():
        raise InputError(
            f"{csv_path}: not found (is {run_dir} a `radimpress evaluate` output folder?)"
        )
    metrics: dict[str, Any] = {}
    if (run_dir / "metrics.json").exists():
        try:
            metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"{run_dir / 'metrics.json'}: invalid JSON ({e.msg})") from None
    by_system: dict[str, list[dict[str, str]]] = {}
    with csv_path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "prediction"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{csv_path}:1: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            if not row.get("id"):
                raise InputError(f"{csv_path}:{line}: empty 'id'")
            by_system.setdefault(row.get("system") or run_dir.name, []).append(row)
    return metrics, by_system


def import_run(store: Store, run_dir: str | Path, name: str | None = None) -> list[str]:
    """Import every system of an evaluate folder; re-importing replaces it. Returns run ids."""
    run_dir = Path(run_dir)
    metrics, by_system = read_run_dir(run_dir)
    run_ids = []
    for system, rows in by_system.items():
        run_id = (
            f"{(name or run_dir.name)}:{system}" if len(by_system) > 1 or name is None else name
        )
        aggregate = (metrics.get("aggregate") or {}).get(system, {})
        distribution = (metrics.get("distribution") or {}).get(system, {})
        now = time.time()
        drafts = []
        for row in rows:
            findings = row.get("findings") or ""
            prediction = row.get("prediction") or ""
            scores = {
                k: x
                for k, v in row.items()
                if k not in TEXT_COLUMNS and (x := _float(v)) is not None
            }
            warnings = _warnings_from_row(row, findings, prediction)
            if WARNING_COUNT in row and WARNING_COUNT not in scores:
                scores[WARNING_COUNT] = float(len(warnings))
            drafts.append(
                (
                    Draft(
                        id=new_id(),
                        created_at=now,
                        model_name=system,
                        model_version=run_id,
                        findings=findings,
                        candidates=[prediction],
                        report_id=row["id"],
                        reference=row.get("reference") or None,
                        indication=row.get("indication") or None,
                        exam=row.get("exam") or None,
                        warnings=warnings,
                    ),
                    scores,
                )
            )
        store.add_run(
            run_id,
            name=run_id,
            source_dir=str(run_dir.resolve()),
            model_name=system,
            model_version=str(metrics.get("created", "")),
            metrics={
                "aggregate": aggregate,
                "distribution": distribution,
                "primary_metric": (metrics.get("options") or {}).get("primary_metric", "rougeL"),
                "metric_labels": {
                    m: (i or {}).get("label", m)
                    for m, i in (metrics.get("metrics") or {}).items()
                    if isinstance(i, dict)
                },
                "metric_scales": {
                    m: (i or {}).get("scale", "")
                    for m, i in (metrics.get("metrics") or {}).items()
                    if isinstance(i, dict)
                },
                "metric_kinds": _info_field(metrics.get("metrics"), "kind"),
                "aggregate_labels": _info_field(metrics.get("aggregate_metrics"), "label"),
                "aggregate_kinds": _info_field(metrics.get("aggregate_metrics"), "kind"),
                "aggregate_scales": _info_field(metrics.get("aggregate_metrics"), "scale"),
                "metrics": [m for m in (metrics.get("metrics") or {})],
                "n_reports": len(rows),
            },
            rows=drafts,
        )
        run_ids.append(run_id)
    return run_ids
