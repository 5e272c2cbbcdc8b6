"""The HTTP API: drafts, validation, auth, batching, metrics and failure handling."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest
from fastapi.testclient import TestClient

from radimpress.drafting import DraftOptions
from radimpress.records import InputError, Report
from radimpress.serve.app import create_app
from radimpress.serve.auth import load_tokens, parse_tokens
from radimpress.serve.batching import MicroBatcher, ModelError
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Store
from support import ALICE, CountingModel, retrieval_model

AUTH = {"Authorization": f"Bearer {ALICE}"}


def make_client(tmp_path, model=None, **overrides) -> TestClient:
    settings = ServeSettings(
        db_path=str(tmp_path / "serve.db"),
        tokens={"alice": ALICE},
        model=model if model is not None else retrieval_model(),
        **overrides,
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


def test_draft_is_returned_and_stored(client, tmp_path):
    r = client.post(
        "/v1/impressions",
        headers=AUTH,
        json={
            "findings": "Moderate right pleural effusion. Heart size normal.",
            "report_id": "R-1",
            "indication": "dyspnea",
            "reference": "Right effusion.",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"id", "impressions", "model", "latency_ms", "warnings"}
    assert body["impressions"] == ["Right pleural effusion."]
    assert body["model"] == {"name": "retrieval-test", "version": "v1", "kind": "retrieval"}
    assert body["latency_ms"] >= 0 and isinstance(body["warnings"], list)
    assert r.headers["x-request-id"]
    stored = client.app.state.store.get_draft(body["id"])
    assert stored.findings.startswith("Moderate right pleural effusion")
    assert stored.candidates == ["Right pleural effusion."]
    assert (stored.status, stored.report_id, stored.reference) == (
        "draft",
        "R-1",
        "Right effusion.",
    )
    assert stored.model_version == "v1"


def test_num_candidates_returns_distinct_candidates(client):
    r = client.post(
        "/v1/impressions",
        headers=AUTH,
        json={"findings": "Left pleural effusion.", "num_candidates": 3},
    )
    cands = r.json()["impressions"]
    assert len(cands) == 3 and len(set(cands)) == 3


@pytest.mark.parametrize(
    ("payload", "loc", "reason"),
    [
        ({"findings": ""}, ["body", "findings"], "empty"),
        ({"findings": "   \n "}, ["body", "findings"], "empty"),
        ({}, ["body", "findings"], "Field required"),
        ({"findings": None}, ["body", "findings"], "valid string"),
        ({"findings": 42}, ["body", "findings"], "valid string"),
        ({"findings": ["a"]}, ["body", "findings"], "valid string"),
        ({"findings": "x" * 201}, ["body", "findings"], "the limit (max_findings_chars) is 200"),
        (
            {"findings": "ok", "indication": "y" * 101},
            ["body", "indication"],
            "the limit (max_field_chars) is 100",
        ),
        (
            {"findings": "ok", "num_candidates": 0},
            ["body", "num_candidates"],
            "greater than or equal",
        ),
        (
            {"findings": "ok", "num_candidates": 9},
            ["body", "num_candidates"],
            "less than or equal to 8",
        ),
        ({"findings": "ok", "num_candidates": "2"}, ["body", "num_candidates"], "valid integer"),
        ({"findings": "ok", "surprise": 1}, ["body", "surprise"], "Extra inputs"),
    ],
)
def test_invalid_requests_get_422_with_reason(tmp_path, payload, loc, reason):
    with make_client(tmp_path, max_findings_chars=200, max_field_chars=100) as c:
        r = c.post("/v1/impressions", headers=AUTH, json=payload)
        assert r.status_code == 422, r.text
        errors = r.json()["detail"]
        assert any(e["loc"] == loc and reason in e["msg"] for e in errors), errors
        assert "input" not in errors[0]  # the report text is not echoed back
        assert c.app.state.store.count_drafts() == 0


def test_malformed_json_is_422(client):
    r = client.post(
        "/v1/impressions",
        headers={**AUTH, "content-type": "application/json"},
        content=b'{"findings": "unterminated',
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_huge_body_is_refused_unread(tmp_path):
    with make_client(tmp_path, max_body_bytes=1 << 20) as c:
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "x" * (2 << 20)})
        assert r.status_code == 413


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-xxxxxxxxxxxx"}, {"Authorization": f"Basic {ALICE}"}],
)
def test_api_requires_a_valid_bearer_token(client, headers):
    r = client.post("/v1/impressions", headers=headers, json={"findings": "Lungs clear."})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert client.app.state.store.count_drafts() == 0


def test_insecure_local_needs_no_token(tmp_path):
    with make_client(tmp_path, insecure_local=True, local_reviewer="me") as c:
        assert c.post("/v1/impressions", json={"findings": "Lungs clear."}).status_code == 200


def test_tokens_from_file_and_environment(tmp_path):
    f = tmp_path / "tokens"
    f.write_text("# reviewers\nalice:" + "a" * 20 + "\nbob: " + "b" * 20 + "\n")
    tokens = load_tokens(str(f), env={"RADIMPRESS_TOKENS": "carol:" + "c" * 20 + "," + "d" * 20})
    assert tokens == {"alice": "a" * 20, "bob": "b" * 20, "carol": "c" * 20, "token-2": "d" * 20}
    with pytest.raises(InputError, match="shorter than 16"):
        parse_tokens("eve:short", "tokens")
    with pytest.raises(InputError, match="listed twice"):
        parse_tokens("x:" + "a" * 20 + "\nx:" + "b" * 20, "tokens")


def test_batch_endpoint_drafts_all_reports_in_one_generate_call(tmp_path):
    model = CountingModel(retrieval_model())
    with make_client(tmp_path, model=model) as c:
        r = c.post(
            "/v1/impressions/batch",
            headers=AUTH,
            json={
                "reports": [
                    {"findings": "Large left pleural effusion.", "report_id": "a"},
                    {"findings": "Right upper lobe pneumonia consolidation.", "report_id": "b"},
                    {
                        "findings": "Lungs clear, heart normal.",
                        "report_id": "c",
                        "num_candidates": 2,
                    },
                ]
            },
        )
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["report_id"] for x in results] == ["a", "b", "c"]
        assert [len(x["impressions"]) for x in results] == [1, 1, 2]
        assert results[0]["impressions"][0] == "Large left pleural effusion."
        assert model.calls == [3]
        assert c.app.state.store.count_drafts() == 3  # the start-up draft is not stored
        assert model.warm_ups == 1  # one draft through the whole path before /readyz says yes


def test_batch_validation_names_the_bad_item(tmp_path):
    with make_client(tmp_path, max_batch_items=3) as c:
        r = c.post(
            "/v1/impressions/batch",
            headers=AUTH,
            json={"reports": [{"findings": "ok"}, {"findings": " "}]},
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "reports", 1, "findings"]
        r = c.post(
            "/v1/impressions/batch", headers=AUTH, json={"reports": [{"findings": "ok"}] * 4}
        )
        assert r.status_code == 422 and "at most 3 items" in r.json()["detail"][0]["msg"]
        assert (
            c.post("/v1/impressions/batch", headers=AUTH, json={"reports": []}).status_code == 422
        )


def test_metrics_count_requests_latency_and_batch_sizes(client):
    client.post("/v1/impressions", headers=AUTH, json={"findings": "Lungs clear."})
    client.post("/v1/impressions", headers=AUTH, json={"findings": ""})
    client.post(
        "/v1/impressions/batch",
        headers=AUTH,
        json={"reports": [{"findings": "a effusion"}, {"findings": "b pneumonia"}]},
    )
    text = client.get("/metrics").text
    assert (
        'radimpress_requests_total{method="POST",route="/v1/impressions",status="200"} 1.0' in text
    )
    assert (
        'radimpress_requests_total{method="POST",route="/v1/impressions",status="422"} 1.0' in text
    )
    assert 'radimpress_request_latency_seconds_count{route="/v1/impressions"} 2.0' in text
    assert "radimpress_batch_size_count 2.0" in text
    assert 'radimpress_batch_size_bucket{le="2.0"} 2.0' in text
    assert "radimpress_reports_total 3.0" in text


def test_model_failure_is_a_500_with_error_id_and_the_server_keeps_answering(tmp_path, caplog):
    model = CountingModel(retrieval_model(), fail_on="EXPLODE")
    caplog.set_level(logging.INFO, logger="radimpress")
    with make_client(tmp_path, model=model) as c:
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "secret EXPLODE text"})
        assert r.status_code == 500
        body = r.json()
        assert body["error_id"].startswith("err-") and "secret" not in r.text
        assert body["error_id"] in caplog.text
        assert c.get("/healthz").status_code == 200
        ok = c.post("/v1/impressions", headers=AUTH, json={"findings": "Lungs clear."})
        assert ok.status_code == 200
        assert c.app.state.store.count_drafts() == 1
        assert "radimpress_model_errors_total 1.0" in c.get("/metrics").text
    assert "secret" not in caplog.text


def test_logs_carry_ids_sizes_and_timings_never_report_text(client, caplog):
    caplog.set_level(logging.DEBUG)
    r = client.post(
        "/v1/impressions",
        headers={**AUTH, "X-Request-ID": "req-123"},
        json={"findings": "Zebra-striped PATIENTNAME opacity.", "indication": "Mrs Jones"},
    )
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-123"
    client.post("/v1/impressions", headers=AUTH, json={"findings": "Zebra" + "q" * 30000})
    assert (
        "request_id=req-123" in caplog.text and "bytes_in=" in caplog.text and "ms=" in caplog.text
    )
    assert "Zebra" not in caplog.text and "Jones" not in caplog.text


def test_unloadable_model_is_not_ready_and_requests_get_503(tmp_path):
    settings = ServeSettings(
        db_path=str(tmp_path / "db"), tokens={"alice": ALICE}, model_dir=str(tmp_path / "missing")
    )
    with TestClient(create_app(settings)) as c:
        for _ in range(50):  # the model loads in the background
            if c.app.state.service.load_error:
                break
            asyncio.run(asyncio.sleep(0.05))
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "radimpress.json" in ready.json()["error"]
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "Lungs clear."})
        assert r.status_code == 503 and r.json()["error_id"]


class _CannotDraft(CountingModel):
    """Loads, then fails on every draft: a model folder saved by an incompatible version."""

    def generate(self, reports, num_candidates=1, num_beams=None):
        raise AttributeError("'NeighbourIndex' object has no attribute '_column_nnz'")


def test_a_model_that_loads_but_cannot_draft_says_so_in_readyz_and_the_log(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    with make_client(tmp_path, model=_CannotDraft(retrieval_model())) as c:
        for _ in range(50):
            if c.app.state.service.load_error:
                break
            asyncio.run(asyncio.sleep(0.05))
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert "start-up draft failed" in ready.json()["error"]
        assert "_column_nnz" in ready.json()["error"]
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "Lungs clear."})
        assert r.status_code == 503
    assert "cannot draft" in caplog.text


def test_openapi_page_works_offline(client):
    page = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui/swagger-ui.css").status_code == 200
    assert "/v1/impressions" in client.get("/openapi.json").json()["paths"]


# -- the micro-batcher on its own -------------------------------------------


def _model_step(model):
    """What the drafter's model step does: candidates with the options' decoding settings."""
    return lambda reports, options: model.generate(
        reports, options.num_candidates, **options.decoding()
    )


def _run_batcher(model, n_jobs, **kw):
    async def go():
        b = MicroBatcher(_model_step(model), **kw)
        await b.start()
        ticks = 0

        async def ticker():  # counts how often the event loop gets to run meanwhile
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        results = await asyncio.gather(
            *[
                b.generate(
                    [
                        Report(
                            f"r{i}",
                            f"finding {i} EXPLODE"
                            if i == 1 and model.fail_on
                            else "Large left pleural effusion.",
                        )
                    ],
                    DraftOptions(),
                )
                for i in range(n_jobs)
            ],
            return_exceptions=True,
        )
        t.cancel()
        await b.stop()
        return results, ticks

    return asyncio.run(go())


def test_concurrent_requests_share_one_generate_call():
    model = CountingModel(retrieval_model())
    results, _ = _run_batcher(model, 8, max_batch_size=16, max_wait_ms=200)
    assert model.calls == [8]
    assert all(r == [["Large left pleural effusion."]] for r in results)


def test_batch_size_limit_and_batching_off():
    model = CountingModel(retrieval_model())
    _run_batcher(model, 8, max_batch_size=3, max_wait_ms=200)
    assert model.calls == [3, 3, 2]
    model = CountingModel(retrieval_model())
    _run_batcher(model, 5, enabled=False)
    assert model.calls == [1, 1, 1, 1, 1]


def test_model_runs_off_the_event_loop():
    model = CountingModel(retrieval_model(), delay=0.3)
    _, ticks = _run_batcher(model, 2, max_wait_ms=1)
    assert ticks >= 10  # the loop kept running while generate slept in the worker thread


def test_one_failing_report_does_not_fail_its_batch_neighbours():
    model = CountingModel(retrieval_model(), fail_on="EXPLODE")
    results, _ = _run_batcher(model, 4, max_batch_size=16, max_wait_ms=200)
    assert isinstance(results[1], ModelError) and "EXPLODE" not in str(results[1])
    assert [r for i, r in enumerate(results) if i != 1] == [[["Large left pleural effusion."]]] * 3
    assert model.calls[0] == 4  # tried together first, then one by one


def test_store_migrates_old_databases_and_refuses_newer(tmp_path):
    import sqlite3

    db = tmp_path / "old.db"
    Store(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this radimpress"):
        Store(db)


def test_jobs_with_different_beam_widths_run_as_separate_groups():
    model = CountingModel(retrieval_model())

    async def go():
        b = MicroBatcher(_model_step(model), max_wait_ms=50)
        await b.start()
        await asyncio.gather(
            b.generate([Report("a", "effusion")], DraftOptions(num_beams=2)),
            b.generate([Report("b", "effusion")], DraftOptions(num_beams=2)),
            b.generate([Report("c", "effusion")], DraftOptions(num_beams=8)),
        )
        await b.generate([Report("d", "effusion")], DraftOptions())
        await b.stop()

    asyncio.run(go())
    assert model.beams == [2, 8, None] and model.calls == [2, 1, 1]


def test_num_beams_reaches_the_model_and_is_refused_where_it_cannot_apply(tmp_path):
    model = CountingModel(retrieval_model())
    with make_client(tmp_path, model=model) as c:
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "effusion", "num_beams": 3})
        assert r.status_code == 200 and model.beams == [3]
        assert (
            "num_beams"
            in c.get("/openapi.json").json()["components"]["schemas"]["ImpressionRequest"][
                "properties"
            ]
        )
    with make_client(tmp_path, model=retrieval_model()) as c:  # retrieval has no beams
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "effusion", "num_beams": 3})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "num_beams"]
        # ... and the schema does not offer what this server's model cannot do
        schema = c.get("/openapi.json").json()["components"]["schemas"]["ImpressionRequest"]
        assert "num_beams" not in schema["properties"]


def test_a_failing_safety_checker_is_flagged_not_silent(client, monkeypatch):
    import radimpress.safety

    def broken(*a, **k):
        raise RuntimeError("checker down")

    monkeypatch.setattr(radimpress.safety.SafetyChecker, "check_many", broken)
    r = client.post("/v1/impressions", headers=AUTH, json={"findings": "Left pleural effusion."})
    assert r.status_code == 200
    assert [w["type"] for w in r.json()["warnings"]] == ["safety_check_failed"]


class _FixedModel:
    """Always drafts the same impression: lets a test know which warning must fire."""

    kind = "fixed"
    name, version = "fixed", "v1"
    decoding_options = frozenset()
    progress = False

    def candidate_pool(self, **decoding):
        return 1

    def generate(self, reports, num_candidates=1):
        return [["No acute disease."] for _ in reports]

    def info(self):
        return {"name": self.name, "version": self.version, "kind": self.kind}


def test_safety_checks_in_their_own_process_flag_an_omitted_pneumothorax(tmp_path):
    with make_client(tmp_path, model=_FixedModel(), safety_process=True, safety_bulk_chars=0) as c:
        (pid,) = c.app.state.service.safety.pids()
        assert pid != os.getpid()
        # two candidates: the findings' own sentence (safe selection's last resort) first, and
        # the model's draft, whose omission the checker process flags
        two = {"findings": "Large right pneumothorax.", "num_candidates": 2}
        r = c.post("/v1/impressions", headers=AUTH, json=two)
        assert r.status_code == 200
        assert "omitted_critical" in [w["type"] for w in r.json()["warnings"]]
        # The checker process dying is flagged on the draft, and the server keeps answering.
        os.kill(pid, signal.SIGKILL)
        r = c.post("/v1/impressions", headers=AUTH, json={"findings": "Large right pneumothorax."})
        assert r.status_code == 200
        assert [w["type"] for w in r.json()["warnings"]] == ["safety_check_failed"]
        # ... and a new checker process takes over for the next request.
        r = c.post("/v1/impressions", headers=AUTH, json=two)
        assert "omitted_critical" in [w["type"] for w in r.json()["warnings"]]
        assert c.app.state.service.safety.pids() != [pid]
