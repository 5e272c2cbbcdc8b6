"""Every response is logged and counted (500s included), query parameters are bounded, and the
OpenAPI document states the limits of the server that serves it."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from radimpress.serve.app import create_app
from radimpress.serve.settings import ServeSettings
from support import ALICE, retrieval_model

AUTH = {"Authorization": f"Bearer {ALICE}"}


@pytest.fixture
def client(tmp_path):
    s = ServeSettings(
        db_path=str(tmp_path / "serve.db"),
        tokens={"alice": ALICE},
        model=retrieval_model(),
        safety_checks=False,
        max_findings_chars=300,
        max_field_chars=40,
        max_batch_items=5,
        max_candidates=4,
    )
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        yield c


def test_an_unhandled_error_is_a_500_logged_and_counted_with_its_request_id(
    client, monkeypatch, caplog
):
    async def broken(reports, *args, **kwargs):
        raise RuntimeError(f"could not draft {reports[0].findings}")  # report text: PHI

    monkeypatch.setattr(client.app.state.service, "draft", broken)
    caplog.set_level(logging.INFO, logger="radimpress")
    r = client.post(
        "/v1/impressions",
        headers={**AUTH, "X-Request-ID": "req-500"},
        json={"findings": "PATIENT SMITH has an effusion"},
    )
    assert r.status_code == 500 and r.headers["x-request-id"] == "req-500"
    eid = r.json()["error_id"]
    metrics = client.get("/metrics").text
    assert 'radimpress_requests_total{method="POST",route="/v1/impressions",status="500"} 1.0' in (
        metrics
    )
    assert f"error_id={eid} request_id=req-500 RuntimeError" in caplog.text
    assert "request_id=req-500 method=POST route=/v1/impressions status=500" in caplog.text
    assert "SMITH" not in caplog.text and "SMITH" not in r.text


def test_answers_before_routing_are_counted_under_their_route(client):
    r = client.post(
        "/v1/impressions", headers={**AUTH, "content-length": str(10 << 20)}, content=b"{}"
    )
    assert r.status_code == 413
    assert 'route="/v1/impressions",status="413"} 1.0' in client.get("/metrics").text


@pytest.mark.parametrize(
    "url",
    [
        "/review?page=99999999999999999999",
        "/review?page=0",
        "/review?page=-3",
        "/review?page=abc",
        "/review?done=" + "d" * 65,
        "/review/some-id?error=" + "e" * 501,
        "/dashboard/runs/x?q=" + "q" * 501,
        "/login?next=/" + "n" * 2001,
    ],
)
def test_query_parameters_out_of_bounds_are_422_not_500(client, url):
    r = client.get(url, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][0] == "query"


def test_pages_past_the_end_are_empty_not_errors(client):
    assert client.get("/review?page=1000000", headers=AUTH).status_code == 200


def test_the_schema_carries_this_servers_limits(client):
    doc = client.get("/openapi.json").json()
    item = doc["components"]["schemas"]["ImpressionRequest"]["properties"]
    assert item["findings"].items() >= {"minLength": 1, "maxLength": 300}.items()
    assert re.search(item["findings"]["pattern"], " \u3000\x1c\ufeff\n") is None
    assert {"type": "string", "maxLength": 40} in item["indication"]["anyOf"]
    assert {"type": "integer", "minimum": 1, "maximum": 4} in item["num_candidates"]["anyOf"]
    batch = doc["components"]["schemas"]["BatchRequest"]
    assert batch["properties"]["reports"]["maxItems"] == 5
    assert "50000 characters" in batch["description"]
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    fhir = doc["paths"]["/fhir/DiagnosticReport/$draft-impression"]["post"]
    report = fhir["requestBody"]["content"]["application/fhir+json"]["schema"]["oneOf"][0]
    assert report["properties"]["resourceType"] == {"const": "DiagnosticReport"}
    assert report["properties"]["presentedForm"]["items"]["properties"]["data"]["maxLength"] == 400
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("blank", [" \u2003\n", "\x1f", "\ufeff"])
def test_blank_findings_name_the_rule(client, blank):
    r = client.post("/v1/impressions", headers=AUTH, json={"findings": blank})
    assert r.status_code == 422
    assert r.json()["detail"][0] == {
        "loc": ["body", "findings"],
        "msg": "findings are empty",
        "type": "empty",
    }
