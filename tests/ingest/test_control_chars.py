"""NUL, ANSI escapes and bidirectional controls never reach reports.jsonl; removals are counted."""

from __future__ import annotations

import json

from radimpress.cli import main
from radimpress.ingest.control_chars import clean_text


def test_clean_text_removes_each_kind_and_counts_it():
    from collections import Counter

    counts: Counter[str] = Counter()
    text = "a\x00b \x1b[1;31mred\x1b[0m \u202eevil\u202c \x1b]0;title\x07ok\tx\ny\x0cz \ud800"
    assert clean_text(text, counts) == "ab red evil ok\tx\ny\nz \ufffd"
    assert counts == {
        "NUL": 1,
        "ANSI escape": 3,
        "bidirectional control": 2,
        "page break": 1,
        "lone surrogate": 1,
    }
    assert clean_text("Plain café text, ünchanged.") == "Plain café text, ünchanged."


def test_ingest_cleans_reports_counts_in_summary_and_rejects_what_is_left_empty(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    rows = [
        {
            "id": "a\u202e",
            "findings": "Clear\x00 lungs \x1b[31mnow\x1b[0m.",
            "impression": "Nor\u2066mal.",
        },
        {"id": "b", "findings": "\x00\x1b[0m\u202e", "impression": "x"},
        {"id": "c", "findings": "Effusion.", "sections": {"note\x07": "ok\u202d"}},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert main(["ingest", str(src), "--out", str(out)]) == 0
    written = (out / "reports.jsonl").read_text(encoding="utf-8")
    for bad in ("\\u0000", "\\u001b", "\\u202e", "\\u2066", "\\u0007", "\\u202d"):
        assert bad not in json.dumps(written)  # nothing invisible, escaped or raw
    reports = [json.loads(line) for line in written.splitlines()]
    assert [(r["id"], r["findings"], r["impression"]) for r in reports] == [
        ("a", "Clear lungs now.", "Normal."),
        ("c", "Effusion.", None),
    ]
    assert reports[1]["sections"] == {"note": "ok"}
    (rej,) = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert rej["location"] == "line 2" and rej["reason"].startswith("empty findings")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cleaned"] == {
        "reports": 3,
        "removed": {"ANSI escape": 3, "bidirectional control": 4, "NUL": 2, "control character": 1},
    }
    assert "cleaned            3  reports" in capsys.readouterr().out
