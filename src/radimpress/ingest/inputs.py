"""Reports to draft for, from whatever file a user points a command at.

`radimpress generate --input` and `radimpress check --reports` read the same
way, so the ids of a prediction file match the reports it was made from: a
radimpress JSONL as it is, anything else through the ingest readers, with a
file of bare text taken as findings.
"""

from __future__ import annotations

from pathlib import Path

from radimpress.ingest.pipeline import ingest_paths
from radimpress.records import InputError, Reject, Report, read_reports_and_rejects


def load_inputs(path: str | Path) -> tuple[list[Report], list[Reject]]:
    """The usable reports of a file, and the records that are not, each with its reason.

    A few bad records among thousands do not stop a run (the caller writes the rejects
    beside its output); a file with no usable report at all is an error naming the first
    reasons.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.suffix == ".jsonl":
        reports, rejects = read_reports_and_rejects(path)
    else:
        result = ingest_paths([path], headerless_as_findings=True)
        reports, rejects = result.reports, result.rejects
    if not reports:
        why = "; ".join(f"{r.location or r.source}: {r.reason}" for r in rejects[:3])
        raise InputError(
            f"{path}: no usable report ({len(rejects)} rejected{': ' if why else ''}{why})"
        )
    return reports, rejects
