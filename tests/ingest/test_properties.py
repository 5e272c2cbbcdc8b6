"""Every record read is accounted for, in every format: accepted + rejected == records written.

Hypothesis writes files mixing valid records with broken ones (see
``ingest_cases``) and checks two things a user relies on: no record
disappears without a reject, and every valid record comes out intact (same
id, findings and impression; only characters that must not reach
reports.jsonl removed). The example count is bounded for the default run;
``bench/robustness_ingest.py`` runs 1,000 files per format.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ingest_cases import FORMATS, Case
from radimpress.ingest import ingest_paths

EXAMPLES = 40


def check_case(case: Case) -> None:
    """The property itself (shared with the benchmark)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = case.write(Path(tmp))
        res = ingest_paths(paths)
    assert res.summary["read"] == len(res.reports) + len(res.rejects)
    assert len(res.reports) + len(res.rejects) == case.records, (
        f"{case.records} records written, {len(res.reports)} accepted + "
        f"{len(res.rejects)} rejected: {[(r.location, r.reason) for r in res.rejects]}"
    )
    got = {r.id: (r.findings, r.impression) for r in res.reports}
    assert got == case.valid


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_record_is_accepted_intact_or_rejected(fmt):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(FORMATS[fmt])
    def prop(case: Case) -> None:
        check_case(case)

    prop()
