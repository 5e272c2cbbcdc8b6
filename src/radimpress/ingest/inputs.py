"""Reports to draft for, from whatever file a user points a command at.

`radimpress generate --input` and `radimpress check --reports` read the same
way, so the ids of a prediction file match the reports it was made from: a
radimpress JSONL as it is, anything else through the ingest readers, with a
file of bare text taken as findings.
"""

from __future__ import annotations

from pathlib import Path

from radimpress.ingest.pipeline import ingest_paths
from radimpress.records import InputError, Report, read_reports


def load_inputs(path: str | Path) -> list[Report]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.suffix == ".jsonl":
        return read_reports(path)
    result = ingest_paths([path], headerless_as_findings=True)
    if not result.reports:
        raise InputError(f"{path}: no usable report ({len(result.rejects)} rejected)")
    return result.reports
