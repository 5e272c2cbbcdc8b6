"""Reading references and predictions, and joining them by report id.

A score is only meaningful when every test report has exactly one prediction:
a silently dropped report (a crashed generation, a filtered id) changes the
test set and can move a mean by points. So anything that does not line up is
an error that names the file and lists the ids, never a warning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from radimpress.records import InputError, Report, jsonl_in_folder, read_jsonl

SHOW_IDS = 10


def _list_ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOW_IDS])
    more = f" (and {len(ids) - SHOW_IDS} more)" if len(ids) > SHOW_IDS else ""
    return f"{shown}{more}"


def resolve_references(path: str | Path) -> Path:
    """A Report JSONL, or a dataset folder (its test.jsonl is used)."""
    return jsonl_in_folder(path, "test.jsonl", "run `radimpress dataset build`")


def load_references(path: str | Path) -> list[Report]:
    """Read reference reports; every one needs a unique id and an impression."""
    path = resolve_references(path)
    reports: list[Report] = []
    first_line: dict[str, int] = {}
    no_impression: list[str] = []
    for no, obj in read_jsonl(path):
        report = Report.from_dict(obj, f"{path}:{no}")
        if report.id in first_line:
            raise InputError(
                f"{path}:{no}: duplicate id {report.id!r} (first on line {first_line[report.id]})"
            )
        first_line[report.id] = no
        if not (report.impression and report.impression.strip()):
            no_impression.append(f"{report.id} (line {no})")
        reports.append(report)
    if no_impression:
        raise InputError(
            f"{path}: {len(no_impression)} reference report(s) have no impression to compare "
            f"against: {_list_ids(no_impression)}; evaluate on a split from `radimpress dataset build`"
        )
    if not reports:
        raise InputError(f"{path}: no reference reports")
    return reports


def load_predictions(path: str | Path) -> dict[str, str]:
    """Read a predictions JSONL ({"id", "prediction"}) into {id: prediction}, in file order."""
    path = Path(path)
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for no, obj in read_jsonl(path):
        where = f"{path}:{no}"
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object with id and prediction")
        if obj.get("id") in (None, ""):
            raise InputError(f"{where}: missing field 'id'")
        if "prediction" not in obj:
            raise InputError(f"{where}: missing field 'prediction'")
        pred = obj["prediction"]
        if pred is None:
            pred = ""
        if not isinstance(pred, str):
            raise InputError(
                f"{where}: field 'prediction' must be a string, got {type(pred).__name__}"
            )
        rid = str(obj["id"])
        if rid in first_line:
            raise InputError(f"{where}: duplicate id {rid!r} (first on line {first_line[rid]})")
        first_line[rid] = no
        out[rid] = pred
    return out


def parse_system(spec: str) -> tuple[str, Path]:
    """``NAME=preds.jsonl`` -> (NAME, path); a bare path is named after its file."""
    name, sep, path = spec.partition("=")
    if not sep:
        name, path = Path(spec).stem, spec
    name, path = name.strip(), path.strip()
    if not name or not path:
        raise InputError(f"--system {spec!r}: expected NAME=predictions.jsonl")
    return name, Path(path)


def align_predictions(
    references: Sequence[Report], predictions: Mapping[str, str], source: str
) -> list[str]:
    """Predictions in reference order; missing or extra ids raise an error naming ``source``."""
    ref_ids = [r.id for r in references]
    ref_set = set(ref_ids)
    missing = [i for i in ref_ids if i not in predictions]
    extra = [i for i in predictions if i not in ref_set]
    problems = []
    if missing:
        problems.append(f"{len(missing)} reference id(s) have no prediction: {_list_ids(missing)}")
    if extra:
        problems.append(
            f"{len(extra)} predicted id(s) are not in the references: {_list_ids(extra)}"
        )
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))
    return [predictions[i] for i in ref_ids]


def drafted_from_findings(path: str | Path) -> list[str]:
    """Ids whose draft carries the ``drafted_from_findings`` note: safe selection found every
    candidate of the model flagged and drafted the findings' own sentences instead, so the
    score there is not the model's (`radimpress generate --no-fallback` drafts without it)."""
    out = []
    for _, obj in read_jsonl(Path(path)):
        warnings = obj.get("warnings") if isinstance(obj, dict) else None
        if isinstance(warnings, list) and any(
            isinstance(w, dict) and w.get("type") == "drafted_from_findings" for w in warnings
        ):
            out.append(str(obj.get("id")))
    return out
