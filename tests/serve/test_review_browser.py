"""A reviewer in a real browser: log in, open a draft, edit it, accept it with the
keyboard, and find the edited text in the feedback export.

Drives Debian's chromium (installed by .ci/run) through Playwright against a
real `radimpress serve` subprocess. Screenshots are saved under pytest's
tmp_path and their paths printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from radimpress.models.training import load_split
from radimpress.serve.feedback import export_feedback
from radimpress.serve.runs import import_run
from radimpress.serve.store import Draft, Store, new_id
from support import ALICE, served_for_browser, write_eval_dir

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def seed(port: int, db: Path, tmp_path: Path) -> None:
    """Three drafts through the API, one with highlighted warnings, one evaluation run."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {ALICE}"}
    ) as c:
        for rid, findings, ref in [
            (
                "ACC-1001",
                "Moderate right pleural effusion with adjacent atelectasis. Heart size normal.",
                "Moderate right pleural effusion.",
            ),
            ("ACC-1002", "Lungs are clear. No pneumothorax. Normal heart size.", None),
        ]:
            r = c.post(
                "/v1/impressions",
                json={
                    "findings": findings,
                    "report_id": rid,
                    "reference": ref,
                    "indication": "Shortness of breath.",
                    "num_candidates": 2,
                },
            )
            assert r.status_code == 200, r.text
    store = Store(db)
    findings = "Small left apical pneumothorax. Lungs otherwise clear."
    store.add_drafts(
        [
            Draft(
                id=new_id(),
                created_at=time.time(),
                model_name="retrieval-test",
                model_version="v1",
                report_id="ACC-1003",
                findings=findings,
                candidates=["Small right pneumothorax."],
                warnings=[
                    {
                        "type": "laterality_mismatch",
                        "severity": "high",
                        "message": "findings say left, the impression says right",
                        "candidate": 0,
                        "evidence": [
                            {"field": "findings", "start": 6, "end": 10, "text": "left"},
                            {"field": "impression", "start": 6, "end": 11, "text": "right"},
                        ],
                    }
                ],
            )
        ]
    )
    import_run(
        store, write_eval_dir(tmp_path / "eval-pretrained", "pretrained", (12.0, 35.0, 28.0))
    )
    import_run(store, write_eval_dir(tmp_path / "eval-finetuned", "finetuned", (41.0, 66.0, 58.0)))
    store.close()


def test_reviewer_edits_and_accepts_a_draft_in_chromium(tmp_path):
    import playwright.sync_api as playwright

    assert Path(CHROMIUM).exists(), "chromium missing: apt-get install chromium (see .ci/run)"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    edited = "Moderate right pleural effusion with adjacent atelectasis."
    with served_for_browser(tmp_path) as (base, port, db):
        seed(port, db, tmp_path)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{base}/review")
            assert "/login" in page.url  # no token yet
            page.fill("#token", ALICE)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/review")
            assert page.locator("table#worklist tbody tr").count() == 3
            page.screenshot(path=str(shots / "1-worklist.png"), full_page=True)

            page.click("text=ACC-1001")
            page.wait_for_selector("#editor")
            assert "Moderate right pleural effusion with adjacent atelectasis" in page.inner_text(
                "#findings"
            )
            assert page.inner_text("#reference") == "Moderate right pleural effusion."
            page.keyboard.press("e")  # shortcut: focus the editor
            assert page.evaluate("document.activeElement.id") == "editor"
            page.fill("#editor", edited)
            page.wait_for_selector("#save-state .ok", timeout=10_000)  # saved while typing
            assert Store(db).get_draft(_draft_id(page)).working_text == edited
            page.screenshot(path=str(shots / "2-report-edited.png"), full_page=True)

            page.keyboard.press("Escape")
            page.keyboard.press("a")  # shortcut: accept
            page.wait_for_selector(".banner")
            assert "edited" in page.inner_text(".banner")
            page.wait_for_selector("#findings")
            page.screenshot(path=str(shots / "3-next-draft.png"), full_page=True)

            page.goto(f"{base}/review?status=all")
            page.click("text=ACC-1003")
            page.wait_for_selector("mark.warn")
            assert page.locator("#findings mark.warn").inner_text() == "left"
            assert page.locator("#candidate-0 mark.warn").inner_text() == "right"
            page.screenshot(path=str(shots / "4-warnings.png"), full_page=True)

            page.goto(f"{base}/dashboard")
            assert page.locator("svg.boxplot").count() == 4
            page.screenshot(path=str(shots / "5-dashboard.png"), full_page=True)
            page.click("text=eval-pretrained:pretrained")
            page.wait_for_selector("#run-table")
            page.screenshot(path=str(shots / "6-run.png"), full_page=True)
            page.goto(f"{base}/docs")
            page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)  # offline assets work
            browser.close()

    out = tmp_path / "feedback"
    export_feedback(db, out)
    pairs = load_split(out, "train") + load_split(out, "validation")
    mine = [r for r in pairs if r.sections.get("report_id") == "ACC-1001"]
    assert len(mine) == 1 and mine[0].impression == edited
    assert mine[0].sections["reviewer"] == "alice" and mine[0].sections["review_status"] == "edited"
    for png in sorted(shots.glob("*.png")):
        print(f"screenshot: {png}")


def _draft_id(page) -> str:
    return page.url.rstrip("/").split("/")[-1].split("?")[0]
