"""The OpenAPI document is the contract: schemathesis, with every check, in positive and negative
modes, against the app in process, finds no 5xx and no answer the document does not allow.

The app is built with small limits so the generated bodies stay small (and the limits are
reachable); the schema is fetched from the app, so it carries those limits. Two things JSON
Schema cannot say are checked by hand instead of by schemathesis's positive-data check: a
batch may hold too many characters in all (413, naming max_batch_chars), and a FHIR report's
base64 text may decode to no findings (422, an OperationOutcome saying so).

For the FHIR operation the negative-data check is off: its schema describes the subset of
DiagnosticReport the server reads, while the server, like any FHIR server, also accepts the
other valid R4 elements (a second, PDF presentedForm; a null conclusion), so "not in the
subset" does not mean "invalid". Every other check runs there too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from radimpress.serve.app import create_app
from radimpress.serve.settings import ServeSettings
from support import ALICE, retrieval_model

AUTH = {"Authorization": f"Bearer {ALICE}"}
# (operation, generation mode) -> HTTP statuses seen, for the last test of this module.
SEEN: dict[tuple[str, str], Counter] = defaultdict(Counter)
CONFIG = {
    "seed": 20261130,  # the same cases every run: a failure here is reproducible
    "generation": {"mode": "all", "max-examples": 25, "deterministic": False},
    "checks": {"enabled": True},
}


DB_DIR = Path(tempfile.mkdtemp(prefix="radimpress-contract-"))
SETTINGS = ServeSettings(
    db_path=str(DB_DIR / "serve.db"),
    tokens={"alice": ALICE},
    model=retrieval_model(),
    safety_checks=False,  # the response shape is the same; the checks would cost seconds here
    max_findings_chars=300,
    max_field_chars=60,
    max_batch_items=4,
    max_batch_chars=600,
    max_candidates=3,
    max_wait_ms=0,
)
# Fetched from the app over (in-process) HTTP: the document it serves is the one tested.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(SETTINGS), config=SchemathesisConfig.from_dict(CONFIG)
)


@pytest.fixture(scope="module", autouse=True)
def _stop_the_app():
    yield
    schemathesis.python.asgi.shutdown_lifespans()  # the app's lifespan, started by schemathesis
    shutil.rmtree(DB_DIR, ignore_errors=True)


def _accepted(case, response) -> bool:
    """Valid data is drafted, except where the limit cannot be written in JSON Schema."""
    if response.status_code < 300:
        return True
    if case.path.endswith("/batch"):
        return response.status_code == 413 and "max_batch_chars" in response.text
    if case.path.startswith("/fhir/"):
        return response.status_code == 422 and "no findings" in response.text
    return False


@schema.parametrize()
def test_the_server_keeps_its_openapi_contract(case):
    excluded = [positive_data_acceptance]
    if case.path.startswith("/fhir/"):
        excluded.append(negative_data_rejection)
    response = case.call_and_validate(headers=AUTH, excluded_checks=excluded)
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    SEEN[f"{case.method} {case.path}", "positive" if positive else "negative"][
        response.status_code
    ] += 1
    if positive:
        assert _accepted(case, response), (response.status_code, response.text[:500])


def test_the_positive_run_drafts_through_every_front_door():
    """Valid requests generated from the schema alone get drafts, FHIR's included."""
    if not SEEN:
        pytest.fail("run this module whole: the contract test above fills SEEN")
    for operation in ("POST /v1/impressions", "POST /v1/impressions/batch"):
        assert SEEN[operation, "positive"][200] >= 5, SEEN[operation, "positive"]
        assert sum(SEEN[operation, "negative"].values()) >= 5
    fhir = SEEN["POST /fhir/DiagnosticReport/$draft-impression", "positive"]
    assert fhir[200] >= 5, fhir
