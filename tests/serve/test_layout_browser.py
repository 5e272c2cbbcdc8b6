"""The evaluation report, the dashboard and the review page at 1280 px in a real browser.

Layout facts a reader relies on are asserted in the page (no sideways
scrolling, every distribution column on screen, box-plot labels inside their
plots, the shortcut bar clear of the warnings) and full-page screenshots are
saved under pytest's tmp_path, their paths printed, for a person to look at.
Drives Debian's chromium through Playwright, as tests/test_review_browser.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from radimpress.evaluate import evaluate_systems, write_report
from radimpress.evaluate.clinical import ClinicalScorer
from radimpress.serve.runs import import_run
from radimpress.serve.store import Draft, Store, new_id
from report_fixtures import sample_references, sample_systems
from support import ALICE, served_for_browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTH = 1280

# Rectangles of every table cell that ends right of the page's visible width.
CELLS_OFF_SCREEN = """(sel) => [...document.querySelectorAll(sel)]
  .filter(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
  .map(c => c.textContent)"""
# SVG text whose box leaves its plot's viewBox (a clipped label).
SVG_TEXT_OUTSIDE = """() => [...document.querySelectorAll('svg.boxplot')].flatMap(svg => {
  const vb = svg.viewBox.baseVal;
  return [...svg.querySelectorAll('text')].filter(t => {
    const b = t.getBBox();
    return b.x < -0.5 || b.y < -0.5 || b.x + b.width > vb.width + 0.5 || b.y + b.height > vb.height + 0.5;
  }).map(t => t.textContent);
})"""

WARNINGS = [
    ("laterality_mismatch", "high", "findings say left, the impression says right"),
    ("omitted_critical", "high", "the findings report a pneumothorax the impression leaves out"),
    ("unsupported_finding", "medium", "the impression mentions an effusion the findings do not"),
    ("contradiction", "medium", "the findings say no consolidation, the impression says pneumonia"),
    ("unsupported_finding", "low", "the impression mentions cardiomegaly the findings do not"),
    ("omitted_critical", "high", "the findings mention a malpositioned tube"),
]


def _evaluation(out: Path) -> Path:
    refs = sample_references()
    result = evaluate_systems(
        refs, sample_systems(refs), bootstrap=300, extra_scorers=[ClinicalScorer()]
    )
    write_report(result, out, title="radimpress demo: pre-trained vs fine-tuned")
    return out


def _seed(port: int, db: Path, eval_dir: Path) -> str:
    """Two API drafts, one stored draft with six warnings (its id returned), five runs."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {ALICE}"}
    ) as c:
        for rid in ("ACC-1", "ACC-2"):
            r = c.post("/v1/impressions", json={"findings": "Lungs clear.", "report_id": rid})
            assert r.status_code == 200, r.text
    store = Store(db)
    warned = Draft(
        id=new_id(),
        created_at=time.time(),
        model_name="retrieval-test",
        model_version="v1",
        report_id="ACC-3",
        findings="Small left apical pneumothorax. No consolidation. Endotracheal tube in the "
        "right mainstem bronchus. Heart size normal. " * 3,
        candidates=["Right pneumonia with small effusion and cardiomegaly."],
        warnings=[
            {"type": t, "severity": s, "message": m, "candidate": 0, "evidence": []}
            for t, s, m in WARNINGS
        ],
    )
    store.add_drafts([warned])
    runs = import_run(store, eval_dir)
    assert len(runs) == 5
    store.close()
    return warned.id


def test_report_dashboard_and_review_page_at_1280(tmp_path: Path) -> None:
    import playwright.sync_api as playwright

    assert Path(CHROMIUM).exists(), "chromium missing: apt-get install chromium (see .ci/run)"
    eval_dir = _evaluation(tmp_path / "eval")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with served_for_browser(tmp_path) as (base, port, db):
        warned_id = _seed(port, db, eval_dir)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": 860})

            # -- the evaluation report, as a file
            page.goto((eval_dir / "report.html").as_uri())
            page.screenshot(path=str(shots / "1-report.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            first_h2 = page.locator("h2").first.inner_text()
            assert "fine-tuned" in first_h2 and "pre-trained" in first_h2
            assert page.evaluate(CELLS_OFF_SCREEN, "th, td") == []
            dist_tables = page.locator("table[id^=dist-]")
            assert dist_tables.count() == 6  # ROUGE x4, label F1, warnings per report
            for i in range(dist_tables.count()):
                for col in ("75%", "max"):
                    assert dist_tables.nth(i).locator(f"th:text-is('{col}')").is_visible()
            # box plots are drawn at the size they are shown: their labels are as legible
            # as matplotlib laid them out (that they fit the figure: test_evaluate)
            sizes = page.evaluate(
                "[...document.querySelectorAll('.dist img')].map(i => [i.naturalWidth, i.clientWidth])"
            )
            assert len(sizes) == 6 and all(shown >= natural - 2 for natural, shown in sizes)
            assert page.locator("details").count() == 5
            assert page.locator("details[open] .ex").count() == 5  # the fine-tuned system's

            # -- the dashboard
            page.goto(f"{base}/review")
            page.fill("#token", ALICE)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/review")
            page.goto(f"{base}/review?status=all&origin=all")
            waiting = page.locator("nav.tabs a", has_text="waiting").locator(".count")
            assert waiting.inner_text() == "3"  # API drafts only, not the 5 x 52 imported rows
            page.goto(f"{base}/dashboard")
            page.screenshot(path=str(shots / "2-dashboard.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            assert page.locator("svg.boxplot").count() == 5  # ROUGE x4 and label F1
            assert page.evaluate(SVG_TEXT_OUTSIDE) == []
            ticks = page.locator("svg.boxplot").first.locator("text.tick").all_text_contents()
            assert ticks == ["0", "25", "50", "75", "100"]  # the tables' x 100 scale
            labels = page.locator("svg.boxplot").first.locator("text.label").all_text_contents()
            assert "eval:fine-tuned (t5-scratch-rag, 3 min)" in labels  # whole, not clipped

            # -- one run: the warning count is a number on rows with warnings
            page.click("text=eval:retrieval-consensus")
            page.wait_for_selector("#run-table")
            headers = page.locator("#run-table th").all_text_contents()
            col = next(i for i, h in enumerate(headers) if h.startswith("Safety warnings"))
            rows = page.locator("#run-table tbody tr")
            checked = 0
            for i in range(rows.count()):
                cells = rows.nth(i).locator("td")
                if cells.nth(len(headers) - 3).locator(".pill").count():
                    assert int(cells.nth(col).inner_text()) >= 1
                    checked += 1
            page.screenshot(path=str(shots / "3-run.png"), full_page=True)
            assert checked >= 5
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH

            # -- the review page: the shortcut bar never covers the warnings
            page.set_viewport_size({"width": WIDTH, "height": 600})  # warnings run off screen
            page.goto(f"{base}/review/{warned_id}")
            last = page.locator(".warnings li").last
            assert last.bounding_box()["y"] > 600
            last.evaluate("el => el.scrollIntoView({block: 'end'})")
            page.screenshot(path=str(shots / "4-review-warnings.png"))
            bar = page.locator("nav.keys").bounding_box()
            warn = last.bounding_box()
            assert bar and warn
            assert bar["y"] >= warn["y"] + warn["height"] or bar["y"] + bar["height"] <= warn["y"]
            browser.close()
    for png in sorted(shots.glob("*.png")):
        print(f"screenshot: {png}")
