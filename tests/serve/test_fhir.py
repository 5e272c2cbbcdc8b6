"""FHIR R4: DiagnosticReport -> draft -> DiagnosticReport, OperationOutcome errors, and ingest."""

from __future__ import annotations

import base64
import json
import os

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.operationoutcome import OperationOutcome

from radimpress.drafting import DraftWarning
from radimpress.formats.fhir import EXTENSION_URL, reports_from_json
from radimpress.models.baselines import RetrievalModel
from radimpress.records import Report
from radimpress.serve.app import create_app
from radimpress.serve.settings import ServeSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
TOKEN = "fhir-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URL = "/fhir/DiagnosticReport/$draft-impression"

PAIRS = [
    ("Heart size normal. Lungs clear. No effusion.", "No acute cardiopulmonary disease."),
    ("Large right pleural effusion with compressive atelectasis.", "Large right pleural effusion."),
    ("Left lower lobe consolidation with air bronchograms.", "Left lower lobe pneumonia."),
]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def report_with_text(text: str, **extra) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr-1",
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "36643-5", "display": "XR Chest 2 views"}
            ]
        },
        "subject": {"reference": "Patient/pat-7"},
        "identifier": [{"system": "urn:example:accession", "value": "ACC-1001"}],
        "presentedForm": [{"contentType": "text/plain; charset=utf-8", "data": b64(text)}],
        **extra,
    }


def report_with_observations() -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "status": "registered",
        "code": {"text": "CT chest"},
        "contained": [
            {
                "resourceType": "Observation",
                "id": "f1",
                "status": "final",
                "code": {"text": "Finding"},
                "valueString": "Left lower lobe consolidation",
            },
            {
                "resourceType": "Observation",
                "id": "f2",
                "status": "final",
                "code": {"text": "Finding"},
                "valueString": "with air bronchograms.",
            },
        ],
        "result": [{"reference": "#f1"}, {"reference": "#f2"}],
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fhir-serve")
    model = RetrievalModel()
    model.fit([Report(id=f"r{i}", findings=f, impression=i_) for i, (f, i_) in enumerate(PAIRS)])
    model.name, model.version = "retrieval-test", "2024.1"
    settings = ServeSettings(
        db_path=str(tmp_path / "serve.db"), tokens={"alice": TOKEN}, model=model
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _draft_ext(resource: dict) -> dict[str, list[str]]:
    ext = next(e for e in resource["extension"] if e["url"] == EXTENSION_URL)
    out: dict[str, list[str]] = {}
    for e in ext["extension"]:
        out.setdefault(e["url"], []).append(e["valueString"])
    return out


def test_presented_form_report_round_trips_with_a_preliminary_draft(client):
    sent = report_with_text(
        "FINDINGS:\nLarge right pleural effusion and atelectasis.\n\nIMPRESSION:\nOld text."
    )
    r = client.post(URL, json=sent, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    out = r.json()
    dr = DiagnosticReport.model_validate(out)  # the library parses what we send back
    assert dr.status == "preliminary"
    assert dr.conclusion == "Large right pleural effusion."
    assert out["identifier"] == sent["identifier"] and out["subject"] == sent["subject"]
    ext = _draft_ext(out)
    assert ext["model-name"] == ["retrieval-test"] and ext["model-version"] == ["2024.1"]
    assert ext["draft-id"][0]  # stored for review like any other draft
    assert client.get(f"/review/{ext['draft-id'][0]}", headers=AUTH).status_code == 200


def test_contained_observations_give_the_findings(client):
    r = client.post(URL, json=report_with_observations(), headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["conclusion"] == "Left lower lobe pneumonia."
    assert DiagnosticReport.model_validate(r.json()).status == "preliminary"


def test_parameters_wrapper_is_accepted(client):
    params = {
        "resourceType": "Parameters",
        "parameter": [{"name": "report", "resource": report_with_observations()}],
    }
    r = client.post(URL, json=params, headers=AUTH)
    assert r.status_code == 200 and r.json()["resourceType"] == "DiagnosticReport"


def test_safety_warnings_go_into_the_extension(client, monkeypatch):
    def fake_check(items):
        warning = DraftWarning(
            type="laterality_mismatch", severity="high", message="left/right mismatch", candidate=0
        )
        return [[[warning] for _ in cands] for _, cands, *_ in items]

    monkeypatch.setattr(client.app.state.service.safety.normal, "check", fake_check)
    r = client.post(URL, json=report_with_observations(), headers=AUTH)
    ext = _draft_ext(r.json())
    assert ext["safety-warning"] == ["left/right mismatch"]
    (draft_id,) = ext["draft-id"]
    stored = client.app.state.store.get_draft(draft_id)  # on the review list like any draft
    assert stored.channel == "fhir" and stored.warnings[0]["type"] == "laterality_mismatch"


@pytest.mark.parametrize(
    "body, status, code, where",
    [
        (b"{not json", 400, "structure", None),
        (
            {"resourceType": "Patient", "id": "x"},
            400,
            "not-supported",
            "DiagnosticReport.resourceType",
        ),
        (
            {"resourceType": "DiagnosticReport", "status": "final"},
            400,
            "required",
            "DiagnosticReport.code",
        ),
        (report_with_text("x", status="done"), 400, "code-invalid", "DiagnosticReport.status"),
        (report_with_text("x", code={"text": 5}), 400, "structure", "DiagnosticReport.code.text"),
        (
            {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "CT"}},
            422,
            "required",
            "DiagnosticReport.presentedForm",
        ),
        (
            report_with_text("Lungs clear.", status="entered-in-error"),
            422,
            "business-rule",
            "DiagnosticReport.status",
        ),
        ({"resourceType": "Parameters", "parameter": []}, 400, "required", "Parameters.parameter"),
    ],
)
def test_invalid_resources_get_an_operation_outcome(client, body, status, code, where):
    if isinstance(body, bytes):
        r = client.post(
            URL, content=body, headers={**AUTH, "content-type": "application/fhir+json"}
        )
    else:
        r = client.post(URL, json=body, headers=AUTH)
    assert r.status_code == status, r.text
    oo = OperationOutcome.model_validate(r.json())
    issue = oo.issue[0]
    assert issue.severity == "error" and issue.code == code and issue.diagnostics
    if where:
        assert issue.expression == [where]


def test_auth_is_required(client):
    assert client.post(URL, json=report_with_observations()).status_code == 401


def test_bundle_ingest_resolves_references_and_reports_bad_entries(tmp_path):
    from radimpress.ingest import ingest_paths

    good = report_with_observations()
    good["contained"] = []
    good["result"] = [{"reference": "Observation/o9"}]
    good["conclusion"] = "Pneumonia."
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:dr", "resource": good},
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o9",
                    "status": "final",
                    "code": {"text": "f"},
                    "valueString": "Consolidation in the left lower lobe.",
                }
            },
            {"resource": report_with_text("x", status="bogus")},
            {"resource": report_with_text("FINDINGS: Heart normal.\nIMPRESSION: Normal.")},
        ],
    }
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    (tmp_path / "reports.ndjson").write_text(
        json.dumps(report_with_text("Lungs clear.", id="n1", identifier=[])) + "\n{broken\n"
    )
    res = ingest_paths([tmp_path])
    by_id = {r.id: r for r in res.reports}
    assert set(by_id) == {"ACC-1001", "n1", next(i for i in by_id if i.startswith("fhir-"))}
    obs_report = next(r for r in res.reports if r.id.startswith("fhir-"))
    assert (obs_report.findings, obs_report.impression) == (
        "Consolidation in the left lower lobe.",
        "Pneumonia.",
    )
    acc = by_id["ACC-1001"]
    assert (acc.findings, acc.impression, acc.patient_id, acc.exam) == (
        "Heart normal.",
        "Normal.",
        "pat-7",
        "XR Chest 2 views",
    )
    assert by_id["n1"].findings == "Lungs clear." and by_id["n1"].impression is None
    reasons = sorted((r.location, r.reason) for r in res.rejects)
    assert reasons[0][0] == "Bundle.entry[2]" and "'bogus'" in reasons[0][1]
    assert reasons[1][0] == "line 2" and "invalid JSON" in reasons[1][1]


def test_ids_are_stable_across_runs():
    a = list(reports_from_json(report_with_observations(), "f.json"))[0]
    b = list(reports_from_json(report_with_observations(), "f.json"))[0]
    assert a.id == b.id and a.id.startswith("fhir-")


def test_other_fhir_resources_are_rejected_with_what_was_expected(tmp_path):
    from radimpress.ingest import ingest_paths

    (tmp_path / "patient.json").write_text(json.dumps({"resourceType": "Patient", "id": "p1"}))
    res = ingest_paths([tmp_path])
    assert not res.reports
    assert "expected 'DiagnosticReport' or 'Bundle'" in res.rejects[0].reason
