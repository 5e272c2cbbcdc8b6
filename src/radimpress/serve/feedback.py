"""Turn reviewed drafts into training pairs: the feedback loop's export.

Accepted and edited drafts become Report records whose impression is the
text the radiologist signed off, laid out like `radimpress dataset build`
output (train.jsonl, validation.jsonl, manifest.json), so
`radimpress train --data DIR` (and `--resume-from MODEL`) reads it as is.
The split is by a hash of the report id (or draft id), so re-exporting a
growing database never moves a pair from train to validation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from radimpress import __version__
from radimpress.records import Report, write_jsonl
from radimpress.serve.store import Draft, Store


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bucket(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of(key: str, validation_fraction: float) -> str:
    return "validation" if _bucket(key) < validation_fraction else "train"


def draft_to_report(d: Draft, db_name: str) -> Report:
    return Report(
        id=f"feedback-{d.id}",
        findings=d.findings,
        impression=d.final_text,
        source=f"{db_name}#draft={d.id}",
        exam=d.exam,
        indication=d.indication,
        sections={
            "reviewer": d.reviewer or "",
            "review_status": d.status,
            "draft_impression": d.candidates[0] if d.candidates else "",
            "model_name": d.model_name,
            "model_version": d.model_version,
            "reviewed_at": dt.datetime.fromtimestamp(d.reviewed_at or 0, dt.UTC).isoformat(),
            **({"report_id": d.report_id} if d.report_id else {}),
        },
    )


def export_feedback(
    db: str | Path,
    out_dir: str | Path,
    validation_fraction: float = 0.1,
    include_evaluation: bool = False,
) -> dict[str, Any]:
    """Write the dataset folder; returns its manifest."""
    db, out = Path(db), Path(out_dir)
    store = Store(db)
    try:
        drafts = [
            d
            for d in store.reviewed(("accepted", "edited"))
            if include_evaluation or d.origin == "api"
        ]
    finally:
        store.close()
    splits: dict[str, list[Report]] = {"train": [], "validation": []}
    for d in drafts:
        if not (d.final_text and d.final_text.strip() and d.findings.strip()):
            continue
        splits[split_of(d.report_id or d.id, validation_fraction)].append(
            draft_to_report(d, db.name)
        )
    # A tiny export still needs something to validate on: borrow the train pair whose
    # hash is closest to the validation range. Only hash-assigned pairs are stable
    # across re-exports; the manifest names the borrowed one.
    borrowed = None
    if not splits["validation"] and len(splits["train"]) >= 10:
        key = lambda r: _bucket(r.sections.get("report_id") or r.id[len("feedback-") :])  # noqa: E731
        borrowed = min(splits["train"], key=key)
        splits["train"].remove(borrowed)
        splits["validation"].append(borrowed)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, reports in splits.items():
        path = out / f"{name}.jsonl"
        n = write_jsonl(path, reports)
        files[path.name] = {"sha256": _sha256(path), "lines": n}
    by_status = {
        s: sum(1 for r in sum(splits.values(), []) if r.sections["review_status"] == s)
        for s in ("accepted", "edited")
    }
    manifest = {
        "kind": "feedback",
        "radimpress_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source_db": str(db.resolve()),
        "options": {
            "validation_fraction": validation_fraction,
            "include_evaluation": include_evaluation,
        },
        "counts": {
            "train": len(splits["train"]),
            "validation": len(splits["validation"]),
            **by_status,
        },
        "reviewers": sorted({r.sections["reviewer"] for r in sum(splits.values(), [])}),
        "model_versions": sorted({r.sections["model_version"] for r in sum(splits.values(), [])}),
        "files": files,
        "validation_borrowed_from_train": borrowed.id if borrowed else None,
        "note": "impression = the reviewer's final text; sections.draft_impression = the model's draft",
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out / "manifest.json")
    return manifest
