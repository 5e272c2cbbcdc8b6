"""Review pages, evaluation dashboard, run import and the feedback export (no browser)."""

from __future__ import annotations

import csv
import json
import os
import time

import pytest
from fastapi.testclient import TestClient

from radimpress.cli import main
from radimpress.models.training import load_split
from radimpress.records import InputError
from radimpress.serve.app import create_app
from radimpress.serve.feedback import export_feedback
from radimpress.serve.runs import import_run
from radimpress.serve.settings import ServeSettings
from radimpress.serve.store import Draft, Store, new_id
from support import ALICE, retrieval_model, write_eval_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
AUTH = {"Authorization": f"Bearer {ALICE}"}


@pytest.fixture
def client(tmp_path):
    settings = ServeSettings(
        db_path=str(tmp_path / "serve.db"), tokens={"alice": ALICE}, model=retrieval_model()
    )
    with TestClient(create_app(settings)) as c:
        yield c


def login(c):
    r = c.post("/login", data={"token": ALICE, "next": "/review"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review"
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    assert "httponly" in r.headers["set-cookie"].lower()


def draft(c, findings="Moderate right pleural effusion.", **extra) -> str:
    r = c.post("/v1/impressions", headers=AUTH, json={"findings": findings, **extra})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_pages_send_browsers_to_login_and_reject_bad_tokens(client):
    for path in ("/review", "/dashboard", "/review/abc"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = client.post("/login", data={"token": "nope-nope-nope-nope", "next": "/review"})
    assert r.status_code == 401 and "not valid" in r.text
    r = client.post(
        "/login", data={"token": ALICE, "next": "https://evil.example/"}, follow_redirects=False
    )
    assert r.headers["location"] == "/review"  # no open redirect


def test_worklist_lists_waiting_drafts_and_report_page_shows_everything(client):
    d1 = draft(
        client, report_id="ACC-1", reference="Right effusion, moderate.", indication="dyspnoea"
    )
    draft(client, "Lungs clear.", report_id="ACC-2")
    login(client)
    page = client.get("/review").text
    assert "ACC-1" in page and "ACC-2" in page and f"/review/{d1}" in page
    assert "htmx-2.0.11.min.js" in page
    page = client.get(f"/review/{d1}").text
    assert "Moderate right pleural effusion." in page  # findings
    assert "Right pleural effusion." in page  # draft
    assert "Right effusion, moderate." in page  # reference
    assert "dyspnoea" in page and 'id="editor"' in page and "alice" in page
    assert client.app.state.store.get_draft(d1).opened_at is not None


def test_warnings_are_highlighted_in_findings_and_draft(client):
    store: Store = client.app.state.store
    d = Draft(
        id=new_id(),
        created_at=time.time(),
        model_name="m",
        model_version="1",
        findings="Small left pneumothorax. <b>x</b>",
        candidates=["Right pneumothorax."],
        warnings=[
            {
                "type": "laterality_mismatch",
                "severity": "high",
                "message": "left vs right",
                "candidate": 0,
                "evidence": [
                    {"field": "findings", "start": 6, "end": 10, "text": "left"},
                    {"field": "impression", "start": 0, "end": 5, "text": "Right"},
                ],
            }
        ],
    )
    store.add_drafts([d])
    login(client)
    page = client.get(f"/review/{d.id}").text
    assert (
        'Small <mark class="warn sev-high" data-warning="0" title="laterality_mismatch: left vs right">left</mark>'
        in page
    )
    assert (
        '<mark class="warn sev-high" data-warning="0" title="laterality_mismatch: left vs right">Right</mark> pneumothorax.'
        in page
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in page  # report text is escaped


def test_edit_is_saved_immediately_then_accept_records_edited(client):
    d = draft(client)
    login(client)
    client.get(f"/review/{d}")
    r = client.post(f"/review/{d}/text", data={"text": "Moderate right effusion."})
    assert r.status_code == 200 and "Saved" in r.text
    stored = client.app.state.store.get_draft(d)
    assert (stored.working_text, stored.status) == ("Moderate right effusion.", "draft")
    assert "Moderate right effusion." in client.get(f"/review/{d}").text  # survives a reload
    r = client.post(
        f"/review/{d}/decision",
        data={"decision": "accept", "text": "Moderate right effusion."},
        follow_redirects=False,
    )
    assert r.status_code == 303 and f"done={d}" in r.headers["location"]
    stored = client.app.state.store.get_draft(d)
    assert (stored.status, stored.final_text, stored.reviewer) == (
        "edited",
        "Moderate right effusion.",
        "alice",
    )
    assert stored.review_seconds is not None and stored.review_seconds >= 0


def test_accept_unchanged_reject_and_reopen(client):
    a, b = draft(client), draft(client, "Lungs clear.")
    login(client)
    r = client.post(f"/review/{a}/decision", data={"decision": "accept"}, follow_redirects=False)
    assert r.headers["location"] == f"/review/{b}?done={a}"  # on to the next waiting draft
    assert client.app.state.store.get_draft(a).status == "accepted"
    client.post(f"/review/{b}/decision", data={"decision": "reject"})
    assert client.app.state.store.get_draft(b).status == "rejected"
    client.post(f"/review/{b}/decision", data={"decision": "reopen"})
    assert client.app.state.store.get_draft(b).status == "draft"
    assert client.post(f"/review/{a}/decision", data={"decision": "maybe"}).status_code == 422
    assert client.post("/review/nope/decision", data={"decision": "accept"}).status_code == 404


def test_decided_drafts_are_not_overwritten_and_bad_decisions_say_why(client):
    a, b = draft(client), draft(client, "Lungs clear.")
    login(client)
    client.post(
        f"/review/{a}/decision", data={"decision": "accept", "text": "First reviewer's text."}
    )
    r = client.post(f"/review/{a}/decision", data={"decision": "reject"}, follow_redirects=False)
    assert r.status_code == 303 and "reopen" in r.headers["location"]
    assert (
        "Not saved: already edited by alice; reopen it first"
        in client.get(r.headers["location"]).text
    )
    stored = client.app.state.store.get_draft(a)
    assert (stored.status, stored.final_text) == ("edited", "First reviewer's text.")
    r = client.post(f"/review/{a}/text", data={"text": "late autosave"})
    assert (
        r.status_code == 409 and client.app.state.store.get_draft(a).working_text != "late autosave"
    )
    r = client.post(f"/review/{b}/decision", data={"decision": "accept", "text": "  "})
    assert "cannot accept an empty impression" in r.text
    assert client.app.state.store.get_draft(b).status == "draft"


def test_taking_another_candidate_as_is_counts_as_accepted(client):
    r = client.post(
        "/v1/impressions",
        headers=AUTH,
        json={"findings": "Left pleural effusion.", "num_candidates": 2},
    )
    d, second = r.json()["id"], r.json()["impressions"][1]
    login(client)
    client.post(f"/review/{d}/decision", data={"decision": "accept", "text": second})
    assert client.app.state.store.get_draft(d).status == "accepted"


def test_feedback_export_writes_a_trainable_dataset_folder(client, tmp_path):
    ids = [
        draft(client, f"Finding number {i}. Moderate right pleural effusion.", report_id=f"R{i}")
        for i in range(12)
    ]
    login(client)
    client.post(f"/review/{ids[0]}/decision", data={"decision": "accept"})
    client.post(
        f"/review/{ids[1]}/decision", data={"decision": "accept", "text": "Edited impression."}
    )
    client.post(f"/review/{ids[2]}/decision", data={"decision": "reject"})
    for i in ids[3:11]:
        client.post(f"/review/{i}/decision", data={"decision": "accept"})
    out = tmp_path / "feedback"
    rc = main(["feedback", "export", "--db", str(tmp_path / "serve.db"), "--out", str(out)])
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["train"] + manifest["counts"]["validation"] == 10
    assert manifest["counts"]["edited"] == 1 and manifest["counts"]["validation"] >= 1
    reports = load_split(out, "train") + load_split(out, "validation")
    assert len(reports) == 10 and all(r.trainable for r in reports)
    edited = [r for r in reports if r.sections["review_status"] == "edited"]
    assert edited[0].impression == "Edited impression."
    assert edited[0].sections["reviewer"] == "alice"
    assert edited[0].sections["draft_impression"] == "Right pleural effusion."
    assert ids[2] not in {r.sections.get("draft_id", r.source.split("=")[-1]) for r in reports}
    # re-exporting a database that grew never moves a hash-assigned pair between splits
    export_feedback(tmp_path / "serve.db", out, validation_fraction=0.5)
    before = {s: {r.id for r in load_split(out, s)} for s in ("train", "validation")}
    assert before["validation"] and before["train"]
    client.post(f"/review/{ids[11]}/decision", data={"decision": "accept"})
    export_feedback(tmp_path / "serve.db", out, validation_fraction=0.5)
    after = {s: {r.id for r in load_split(out, s)} for s in ("train", "validation")}
    assert before["train"] <= after["train"] and before["validation"] <= after["validation"]
    assert len(after["train"]) + len(after["validation"]) == 11


def test_dashboard_shows_runs_side_by_side_and_review_rates(client, tmp_path):
    store = client.app.state.store
    import_run(store, write_eval_dir(tmp_path / "pretrained", "base", (10.0, 20.0, 30.0)))
    import_run(store, write_eval_dir(tmp_path / "finetuned", "tuned", (50.0, 60.0, 70.0)))
    a, b = draft(client), draft(client, "Lungs clear.")
    login(client)
    client.post(f"/review/{a}/decision", data={"decision": "accept"})
    client.post(f"/review/{b}/decision", data={"decision": "accept", "text": "changed"})
    page = client.get("/dashboard").text
    assert "pretrained:base" in page and "finetuned:tuned" in page  # folder:system
    assert "20.00" in page and "60.00" in page  # ROUGE-L means side by side
    assert page.count('<svg class="boxplot"') == 4
    assert "100%" in page and "50%" in page  # acceptance rate 2/2, edit rate 1/2
    assert "retrieval-test" in page


def test_run_table_sorts_worst_first_filters_by_warning_and_links_to_report(client, tmp_path):
    run_dir = write_eval_dir(tmp_path / "run", scores=(40.0, 5.0, 90.0))
    with (run_dir / "per_report.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for row, warn in zip(
        rows, ["", "laterality_mismatch", "omitted_critical;laterality_mismatch"], strict=True
    ):
        row["warning_types"] = warn
    with (run_dir / "per_report.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (run_id,) = import_run(client.app.state.store, run_dir)
    login(client)
    page = client.get(f"/dashboard/runs/{run_id}").text
    assert page.index(">r1<") < page.index(">r0<") < page.index(">r2<")  # worst ROUGE-L first
    page = client.get(f"/dashboard/runs/{run_id}?sort=rougeL&order=desc").text
    assert page.index(">r2<") < page.index(">r0<") < page.index(">r1<")
    page = client.get(f"/dashboard/runs/{run_id}?warning=omitted_critical").text
    assert ">r2<" in page and ">r1<" not in page and ">r0<" not in page
    page = client.get(f"/dashboard/runs/{run_id}?warning=none").text
    assert ">r0<" in page and ">r1<" not in page
    draft_id = client.app.state.store.run_reports(run_id)[0]["draft_id"]
    assert f"/review/{draft_id}" in page
    report = client.get(f"/review/{draft_id}").text
    assert "prediction 0" in report and "reference 0" in report and "findings 0" in report
    # evaluation drafts stay out of the API worklist
    assert "prediction 0" not in client.get("/review").text


def test_reimporting_a_run_replaces_it_and_bad_folders_are_named(tmp_path):
    store = Store(tmp_path / "db")
    run_dir = write_eval_dir(tmp_path / "run")
    import_run(store, run_dir)
    import_run(store, run_dir)
    assert len(store.runs()) == 1 and store.count_drafts(origin="evaluation") == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="per_report.csv: not found"):
        import_run(store, tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "per_report.csv").write_text("x,y\n1,2\n")
    with pytest.raises(InputError, match="missing column"):
        import_run(store, tmp_path / "bad")


def test_serve_command_refuses_to_start_without_tokens(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RADIMPRESS_TOKENS", raising=False)
    retrieval_model().save(tmp_path / "model")
    assert main(["serve", "--model", str(tmp_path / "model"), "--db", str(tmp_path / "db")]) == 2
    assert "no API tokens" in capsys.readouterr().err
    assert (
        main(["serve", "--model", str(tmp_path / "model"), "--insecure-local", "--host", "0.0.0.0"])
        == 2
    )
    assert "only binds to 127.0.0.1" in capsys.readouterr().err


def test_tiny_feedback_export_borrows_one_validation_pair_and_says_so(tmp_path):
    store = Store(tmp_path / "db")
    drafts = [
        Draft(
            id=new_id(),
            created_at=time.time(),
            model_name="m",
            model_version="1",
            findings=f"findings {i}",
            candidates=[f"draft {i}"],
            report_id=f"R{i}",
        )
        for i in range(10)
    ]
    store.add_drafts(drafts)
    for d in drafts:
        store.decide(d.id, "accept", "bob")
    store.close()
    manifest = export_feedback(tmp_path / "db", tmp_path / "out", validation_fraction=0.0)
    assert manifest["counts"] == {"train": 9, "validation": 1, "accepted": 10, "edited": 0}
    (borrowed,) = load_split(tmp_path / "out", "validation")
    assert manifest["validation_borrowed_from_train"] == borrowed.id
    assert manifest["reviewers"] == ["bob"]


def test_imported_evaluation_drafts_are_not_waiting_for_reviewers(client, tmp_path):
    import_run(client.app.state.store, write_eval_dir(tmp_path / "run"))  # 3 evaluation rows
    draft(client, report_id="ACC-1")
    login(client)
    store = client.app.state.store
    assert store.count_drafts(status="draft") == 1  # across origins: the API draft only
    assert store.count_drafts(status="draft", origin="evaluation") == 3
    page = client.get("/review?status=draft&origin=all").text
    assert 'waiting <span class="count">1</span>' in page
    assert "ACC-1" in page and "prediction 0" not in page
    page = client.get("/review?status=draft&origin=evaluation").text
    assert 'not reviewed <span class="count">3</span>' in page and "prediction 0" in page


def test_evaluate_output_imports_with_warning_counts_rates_and_named_aggregates(client, tmp_path):
    from radimpress.evaluate import evaluate_systems, write_report
    from radimpress.evaluate.clinical import ClinicalScorer
    from radimpress.records import Report

    refs = [
        Report("p", "Large left pneumothorax. Small right effusion.", "Left pneumothorax."),
        Report("n", "Lungs are clear.", "No acute disease."),
    ]
    preds = {"p": "Right pneumothorax.", "n": "No acute disease."}
    result = evaluate_systems(refs, {"sys": preds}, bootstrap=0, extra_scorers=[ClinicalScorer()])
    write_report(result, tmp_path / "eval")
    (run_id,) = import_run(client.app.state.store, tmp_path / "eval")
    counts = {r["report_id"]: r["scores"]["safety_warnings"]
              for r in client.app.state.store.run_reports(run_id)}  # fmt: skip
    expected = result.scores["sys"]["safety_warnings"]
    assert counts == {"p": expected[0], "n": expected[1]} and counts["p"] >= 1
    login(client)
    page = client.get(f"/dashboard/runs/{run_id}").text
    row = page.split(">p</a>", 1)[1].split("</tr>", 1)[0]
    assert f'<td class="num">{int(expected[0])}</td>' in row  # the count, not "–"
    assert "warn_laterality_mismatch" not in page  # 0/1 rates are the Warnings pills
    board = client.get("/dashboard").text
    rate = result.aggregates["sys"]["warn_laterality_mismatch"]
    assert f"{100 * rate:.1f}%" in board  # rates as % of reports, like the report
    assert "Label F1 (micro, rule-based)" in board and "Label F1 (macro, rule-based)" in board


def test_runs_from_before_warning_details_still_show_the_warning_count(client, tmp_path):
    run_dir = write_eval_dir(tmp_path / "old")
    with (run_dir / "per_report.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    texts = ["", "laterality_mismatch: left vs right", "a: x; b: y"]
    for row, text in zip(rows, texts, strict=True):
        row["safety_warnings"] = text  # the count's column held the texts then
        row["warning_types"] = ",".join(t.split(":")[0] for t in text.split("; ") if t)
    with (run_dir / "per_report.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (run_id,) = import_run(client.app.state.store, run_dir)
    counts = {r["report_id"]: r["scores"]["safety_warnings"]
              for r in client.app.state.store.run_reports(run_id)}  # fmt: skip
    assert counts == {"r0": 0.0, "r1": 1.0, "r2": 2.0}


def test_the_review_page_offers_the_guideline_follow_up_to_append(client):
    from radimpress.serve.store import Draft, new_id

    def nodule_draft(text: str) -> Draft:
        d = Draft(
            id=new_id(), created_at=0.0, model_name="m", model_version="1",
            findings="There is a 7 mm solid nodule in the right upper lobe.", exam="CT CHEST",
            candidates=[text],
        )  # fmt: skip
        client.app.state.store.add_drafts([d])
        return d

    c = client
    draft = nodule_draft("Right upper lobe nodule.")
    login(c)
    page = c.get(f"/review/{draft.id}").text
    assert "Guideline follow-up" in page and "Per the Fleischner Society 2017" in page
    assert 'class="btn small append-follow-up"' in page
    # a draft that calls the nodule stable (another patient's words) still gets it offered
    copied = nodule_draft("Small right upper lobe nodule, stable.")
    assert "Per the Fleischner Society 2017" in c.get(f"/review/{copied.id}").text
    # where the table's answer is no follow-up, that sentence is offered
    small = Draft(
        id=new_id(), created_at=0.0, model_name="m", model_version="1",
        findings="4 mm solid nodule in the right lower lobe.", exam="CT CHEST",
        indication="Never smoker.", candidates=["Right lower lobe nodule."],
    )  # fmt: skip
    client.app.state.store.add_drafts([small])
    assert "low-risk patient): No routine follow-up." in c.get(f"/review/{small.id}").text
