"""Evaluation: ROUGE against hand-computed values, joins, bootstrap, outputs, CLI."""

from __future__ import annotations

import base64
import csv
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radimpress.cli import main
from radimpress.evaluate import (
    MetricInfo,
    ScorerOutput,
    evaluate_systems,
    rouge_scores,
    split_sentences,
    write_report,
)
from radimpress.evaluate.inputs import align_predictions, load_predictions, load_references
from radimpress.evaluate.report import format_p
from radimpress.evaluate.stats import (
    DESCRIBE_COLUMNS,
    bootstrap_indices,
    bootstrap_p_value,
    describe,
    paired_bootstrap,
    percentile_ci,
)
from radimpress.records import InputError, Report


def _rouge(pred: str, ref: str, **kw) -> dict[str, float]:
    return {m: float(v[0]) for m, v in rouge_scores([pred], [ref], **kw).items()}


# ---------------------------------------------------------------- ROUGE by hand


def test_rouge_hand_computed_inserted_word() -> None:
    # reference  "no acute disease"                 -> 3 tokens
    # prediction "no acute cardiopulmonary disease" -> 4 tokens
    # R1: overlap {no, acute, disease} = 3; P = 3/4, R = 3/3; F = 2*.75*1/1.75 = 6/7
    # R2: ref bigrams {no acute, acute disease}; pred {no acute, acute cardiopulmonary,
    #     cardiopulmonary disease}; overlap 1; P = 1/3, R = 1/2; F = 2*(1/6)/(5/6) = 0.4
    # RL: LCS "no acute disease" = 3 -> same as R1 = 6/7
    s = _rouge("no acute cardiopulmonary disease", "no acute disease")
    assert s["rouge1"] == pytest.approx(6 / 7)
    assert s["rouge2"] == pytest.approx(0.4)
    assert s["rougeL"] == pytest.approx(6 / 7)
    assert s["rougeLsum"] == pytest.approx(6 / 7)  # one sentence each: Lsum = L


def test_rouge_hand_computed_reordered_sentences() -> None:
    # tokens (case and punctuation dropped): ref "no acute disease stable cardiomegaly",
    # pred "stable cardiomegaly no acute disease"; 5 tokens each.
    # R1: all 5 shared -> 1.0
    # R2: ref {no acute, acute disease, disease stable, stable cardiomegaly};
    #     pred {stable cardiomegaly, cardiomegaly no, no acute, acute disease}; 3 shared of 4 -> 0.75
    # RL: LCS over the whole text is "no acute disease" = 3 -> P = R = 3/5 -> 0.6
    # Lsum: sentence by sentence, each reference sentence is fully covered by one
    #       prediction sentence -> 5 hits of 5 -> 1.0 (only if the sentences were split)
    s = _rouge("Stable cardiomegaly. No acute disease.", "No acute disease. Stable cardiomegaly.")
    assert s["rouge1"] == pytest.approx(1.0)
    assert s["rouge2"] == pytest.approx(0.75)
    assert s["rougeL"] == pytest.approx(0.6)
    assert s["rougeLsum"] == pytest.approx(1.0)


def test_rouge_lsum_numbered_items_by_hand() -> None:
    # ref  "1. No acute disease. 2. Stable cardiomegaly." -> sentences [1 no acute disease], [2 stable cardiomegaly]
    # pred "1. Stable cardiomegaly. 2. No acute disease." -> [1 stable cardiomegaly], [2 no acute disease]
    # RL: LCS of "1 no acute disease 2 stable cardiomegaly" and
    #     "1 stable cardiomegaly 2 no acute disease" = "1 no acute disease" = 4 of 7 -> 4/7
    # Lsum: ref s1 gets "1" from pred s1 and "no acute disease" from pred s2 (4 hits),
    #       ref s2 gets "stable cardiomegaly" and "2" (3 hits): 7/7 -> 1.0
    ref = "1. No acute disease. 2. Stable cardiomegaly."
    pred = "1. Stable cardiomegaly. 2. No acute disease."
    s = _rouge(pred, ref)
    assert s["rougeL"] == pytest.approx(4 / 7)
    assert s["rougeLsum"] == pytest.approx(1.0)


def test_rouge_extremes_and_empty_prediction() -> None:
    assert _rouge("Normal chest.", "Normal chest.")["rougeLsum"] == pytest.approx(1.0)
    assert all(v == 0.0 for v in _rouge("Pneumothorax.", "No acute disease.").values())
    assert all(v == 0.0 for v in _rouge("", "No acute disease.").values())


def test_stemmer_switch_changes_plural_match() -> None:
    # without stemming "effusions" != "effusion": R1 = 1 shared of 2 each -> 0.5
    # with Porter stemming both become "effus": R1 = 1.0
    off = _rouge("bilateral effusion", "bilateral effusions")
    on = _rouge("bilateral effusion", "bilateral effusions", use_stemmer=True)
    assert off["rouge1"] == pytest.approx(0.5)
    assert on["rouge1"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("No acute disease. Stable cardiomegaly.", ["No acute disease.", "Stable cardiomegaly."]),
        (
            "1. No acute disease. 2. Stable cardiomegaly.",
            ["1. No acute disease.", "2. Stable cardiomegaly."],
        ),
        ("1. Cardiomegaly 2. Small effusion", ["1. Cardiomegaly", "2. Small effusion"]),
        ("Cardiomegaly.\nSmall effusion", ["Cardiomegaly.", "Small effusion"]),
        ("Nodule 1.5 cm. Stable.", ["Nodule 1.5 cm.", "Stable."]),
        ("Discussed with Dr. Smith. Stable.", ["Discussed with Dr. Smith.", "Stable."]),
        ("Atelectasis vs. pneumonia.", ["Atelectasis vs. pneumonia."]),
        ("Fracture of rib 5. Stable.", ["Fracture of rib 5.", "Stable."]),
        (
            "Is there effusion? No. 3 views obtained.",
            ["Is there effusion?", "No.", "3 views obtained."],
        ),
        ("no acute disease. stable heart.", ["no acute disease.", "stable heart."]),
        ("", []),
    ],
)
def test_sentence_splitter(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


# ---------------------------------------------------------------- inputs and joins


def _refs(n: int = 6) -> list[Report]:
    impressions = ["No acute disease.", "Cardiomegaly.", "Right lower lobe pneumonia.",
                   "Small left pleural effusion.", "No pneumothorax.", "Stable chest."]  # fmt: skip
    return [
        Report(id=f"r{i}", findings=f"Findings {i}.", impression=impressions[i % 6])
        for i in range(n)
    ]


def test_missing_and_extra_ids_are_listed_with_the_file() -> None:
    refs = _refs(15)
    preds = {f"r{i}": "x" for i in range(1, 15) if i != 3} | {"zz1": "x", "zz2": "x"}
    with pytest.raises(InputError) as err:
        align_predictions(refs, preds, "preds.jsonl")
    msg = str(err.value)
    assert msg.startswith("preds.jsonl:")
    assert "2 reference id(s) have no prediction: r0, r3" in msg
    assert "2 predicted id(s) are not in the references: zz1, zz2" in msg


def test_long_id_lists_show_first_ten_and_a_count() -> None:
    with pytest.raises(
        InputError, match=r"12 reference id\(s\) have no prediction: r0, .*r9 \(and 2 more\)"
    ):
        align_predictions(_refs(12), {}, "p.jsonl")


def test_duplicate_prediction_id_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "preds.jsonl"
    p.write_text(
        '{"id": "a", "prediction": "x"}\n{"id": "b", "prediction": "y"}\n{"id": "a", "prediction": "z"}\n'
    )
    with pytest.raises(InputError, match=re.escape(f"{p}:3: duplicate id 'a' (first on line 1)")):
        load_predictions(p)


def test_reference_problems_are_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.jsonl"
    dup.write_text(
        '{"id": "a", "findings": "f", "impression": "i"}\n{"id": "a", "findings": "g", "impression": "j"}\n'
    )
    with pytest.raises(InputError, match=re.escape(f"{dup}:2: duplicate id 'a'")):
        load_references(dup)
    no_imp = tmp_path / "noimp.jsonl"
    no_imp.write_text(
        '{"id": "a", "findings": "f", "impression": "i"}\n{"id": "b", "findings": "g"}\n'
    )
    with pytest.raises(InputError, match=r"no impression .*b \(line 2\)"):
        load_references(no_imp)


# ---------------------------------------------------------------- statistics


def test_describe_matches_numpy() -> None:
    x = np.array([0.0, 10.0, 20.0, 30.0, 100.0])
    d = describe(x)
    assert d["count"] == 5 and d["mean"] == pytest.approx(32.0)
    assert d["std"] == pytest.approx(np.std(x, ddof=1))
    assert (d["min"], d["25%"], d["50%"], d["75%"], d["max"]) == (0.0, 10.0, 20.0, 30.0, 100.0)


def test_bootstrap_clear_difference_is_significant_and_ci_covers_it() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(20, 60, size=200)
    b = a + rng.normal(15, 5, size=200)
    idx = bootstrap_indices(200, 1000, seed=1)
    r = paired_bootstrap(a, b, idx)
    observed = float(np.mean(b - a))
    assert r["diff"] == pytest.approx(observed)
    assert r["ci_low"] < observed < r["ci_high"]
    assert r["ci_low"] > 0
    # no resample crosses 0: p is 0, printed as the bootstrap's resolution
    assert r["p_value"] == 0.0 and r["resamples"] == 1000
    assert format_p(r["p_value"], r["resamples"]) == "<0.001"


def test_bootstrap_identical_systems_not_significant() -> None:
    a = np.random.default_rng(2).uniform(0, 100, size=150)
    r = paired_bootstrap(a, a.copy(), bootstrap_indices(150, 1000, seed=3))
    assert r["diff"] == 0.0 and r["ci_low"] == 0.0 and r["ci_high"] == 0.0
    assert r["p_value"] == pytest.approx(1.0)


def test_bootstrap_noise_only_gives_large_p_and_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(4)
    a = rng.uniform(0, 100, size=120)
    b = a + rng.normal(0, 10, size=120)
    idx = bootstrap_indices(120, 500, seed=5)
    r = paired_bootstrap(a, b, idx)
    loop = np.sort([np.mean((b - a)[row]) for row in idx])
    # 95% CI from 500 resamples: the k-th smallest and largest, k = ceil(500 * 0.025) = 13
    assert r["ci_low"] == pytest.approx(loop[12])
    assert r["ci_high"] == pytest.approx(loop[-13])
    expected_p = 2 * min(np.sum(loop <= 0), np.sum(loop >= 0)) / 500
    assert r["p_value"] == pytest.approx(min(1.0, expected_p))
    assert r["p_value"] > 0.05


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(3, 60),
    effect=st.floats(-4.0, 4.0),
    noise=st.floats(0.1, 15.0),
    discrete=st.booleans(),
    resamples=st.integers(20, 600),
    confidence=st.sampled_from([0.9, 0.95, 0.99]),
    seed=st.integers(0, 10_000),
)
def test_ci_excludes_zero_exactly_when_p_is_below_alpha(
    n: int,
    effect: float,
    noise: float,
    discrete: bool,
    resamples: int,
    confidence: float,
    seed: int,
) -> None:
    """The report never shows a CI that excludes 0 next to p >= alpha, or the reverse."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 100, size=n)
    b = a + effect + rng.normal(0, noise, size=n)
    if discrete:  # 0/1 rates: many resampled means are exactly 0
        a, b = (a > 50).astype(float), (b > 50).astype(float)
    r = paired_bootstrap(a, b, bootstrap_indices(n, resamples, seed + 1), confidence=confidence)
    excludes_zero = r["ci_low"] > 0 or r["ci_high"] < 0
    # alpha as a person writes it: 1 - 0.99 is 0.010000000000000009 in floating point, and a
    # p of exactly 0.01 is not below the 1 % level
    assert excludes_zero == (r["p_value"] < round(1 - confidence, 9)), r
    assert r["ci_low"] <= r["ci_high"]


def test_a_p_value_exactly_at_alpha_sits_next_to_a_ci_that_contains_zero():
    """The boundary hypothesis found: 200 resamples, one on the far side of 0, so p = 0.01."""
    means = np.array([-1.0] * 199 + [0.5])
    low, high = percentile_ci(means, confidence=0.99)
    assert bootstrap_p_value(means) == 0.01
    assert low < 0 < high


# ---------------------------------------------------------------- evaluate_systems, outputs


class LengthScorer:
    """A toy metric family: proves new families plug in without touching the report code."""

    name = "length"

    def __call__(self, references, predictions) -> ScorerOutput:
        ratio = np.array([len(p.split()) / max(1, len((r.impression or "").split()))
                          for r, p in zip(references, predictions, strict=True)])  # fmt: skip
        return ScorerOutput(
            metrics={"length_ratio": ratio},
            info={
                "length_ratio": MetricInfo("length_ratio", "Length ratio", higher_is_better=False)
            },
            columns={"too_long": ["yes" if x > 1.5 else "no" for x in ratio]},
            aggregates={"share_too_long": float(np.mean(ratio > 1.5))},
            tables={"Length check": [{"rule": "ratio > 1.5", "reports": int(np.sum(ratio > 1.5))}]},
        )


def _systems(refs: list[Report]) -> dict[str, dict[str, str]]:
    constant = {r.id: "No acute disease." for r in refs}
    copy = {r.id: r.impression or "" for r in refs}
    copy[refs[1].id] = "Something else entirely, much much longer than the reference."
    return {"constant": constant, "copy": copy}


def test_evaluate_systems_means_comparisons_and_plugged_scorer(tmp_path: Path) -> None:
    refs = _refs(30)
    result = evaluate_systems(
        refs, _systems(refs), bootstrap=300, seed=1, extra_scorers=[LengthScorer()]
    )
    assert result.metrics == ["rouge1", "rouge2", "rougeL", "rougeLsum", "length_ratio"]
    # constant matches exactly the 5 "No acute disease." references (ids 0, 6, ...): 100 each;
    # the others share no token with it except "Stable chest."/"No pneumothorax." partials.
    expected_r1 = np.mean([100 * _rouge("No acute disease.", r.impression)["rouge1"] for r in refs])
    assert result.aggregates["constant"]["rouge1"] == pytest.approx(expected_r1)
    assert result.aggregates["copy"]["rougeL"] == pytest.approx(100 * 29 / 30)
    assert result.aggregates["copy"]["share_too_long"] == pytest.approx(1 / 30)
    by_metric = {c["metric"]: c for c in result.comparisons}
    assert set(by_metric) == set(result.metrics)
    assert by_metric["rougeL"]["diff"] > 0 and by_metric["rougeL"]["p_value"] < 0.01
    assert result.worst["copy"][0] == 1  # the one wrong copy is the worst report

    paths = write_report(result, tmp_path / "eval")
    doc = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert doc["aggregate"]["copy"]["length_ratio"] == pytest.approx(
        result.aggregates["copy"]["length_ratio"]
    )
    assert doc["tables"]["Length check"]["copy"][0]["reports"] == 1
    with (tmp_path / "eval" / "per_report.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 60
    assert list(rows[0]) == ["id", "system", "rouge1", "rouge2", "rougeL", "rougeLsum", "length_ratio",
                             "too_long", "prediction", "reference", "findings"]  # fmt: skip
    page = paths["report.html"].read_text()
    assert "Length check" in page and "Length ratio" in page


def test_prediction_rows_are_accepted_like_a_mapping() -> None:
    refs = _refs(6)
    rows = [{"id": r.id, "prediction": "No acute disease."} for r in reversed(refs)]
    as_rows = evaluate_systems(refs, {"c": rows}, bootstrap=0)
    as_map = evaluate_systems(refs, {"c": {r["id"]: r["prediction"] for r in rows}}, bootstrap=0)
    assert as_rows.aggregates == as_map.aggregates
    with pytest.raises(InputError, match="row 2: duplicate id 'r5'"):
        evaluate_systems(refs, {"c": rows[:1] + rows}, bootstrap=0)


def test_report_files_are_readable_and_html_embeds_plots(tmp_path: Path) -> None:
    refs = _refs(12)
    refs[2].impression = "1. Cardiomegaly.\n2. <Small> effusion & atelectasis."
    result = evaluate_systems(refs, _systems(refs), bootstrap=100)
    write_report(result, tmp_path)
    doc = json.loads((tmp_path / "metrics.json").read_text())  # strict JSON: no NaN
    assert doc["n_reports"] == 12 and doc["systems"] == ["constant", "copy"]
    assert set(doc["distribution"]["copy"]["rouge2"]) == {
        "count",
        "mean",
        "std",
        "min",
        "25%",
        "50%",
        "75%",
        "max",
    }
    page = (tmp_path / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "&lt;Small&gt; effusion &amp; atelectasis" in page  # report text is escaped, not HTML
    assert "<script" not in page
    for m in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert (tmp_path / "plots" / f"{m}.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "report.md").read_text()
    assert "| constant | 12 |" in md and "F1 x 100" in md


# ---------------------------------------------------------------- CLI end to end


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_dataset_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    impressions = ["No acute disease.", "Mild cardiomegaly.", "1. Pneumonia.\n2. Small effusion."]
    reports = [
        {"id": f"r{i}", "findings": f"Case {i}.", "impression": impressions[i % 3]}
        for i in range(60)
    ]
    _write_jsonl(tmp_path / "reports.jsonl", reports)
    assert (
        main(
            [
                "dataset",
                "build",
                "--input",
                str(tmp_path / "reports.jsonl"),
                "--out",
                str(tmp_path / "ds"),
            ]
        )
        == 0
    )
    test_ids = [
        json.loads(line)["id"] for line in (tmp_path / "ds" / "test.jsonl").read_text().splitlines()
    ]
    assert test_ids
    by_id = {r["id"]: r for r in reports}
    _write_jsonl(
        tmp_path / "a.jsonl", [{"id": i, "prediction": "No acute disease."} for i in test_ids]
    )
    _write_jsonl(
        tmp_path / "b.jsonl", [{"id": i, "prediction": by_id[i]["impression"]} for i in test_ids]
    )
    capsys.readouterr()
    code = main(["evaluate", "--references", str(tmp_path / "ds" / "test.jsonl"),
                 "--system", f"constant={tmp_path / 'a.jsonl'}", "--system", f"oracle={tmp_path / 'b.jsonl'}",
                 "--out", str(tmp_path / "eval"), "--bootstrap", "200", "--seed", "2"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"oracle\s+100\.00\s+100\.00\s+100\.00\s+100\.00", out)
    doc = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert doc["options"]["seed"] == 2 and doc["options"]["bootstrap_resamples"] == 200
    assert doc["inputs"]["oracle"]["sha256"]
    for name in ("metrics.json", "per_report.csv", "report.md", "report.html"):
        assert (tmp_path / "eval" / name).stat().st_size > 0


def test_cli_reports_clinical_label_f1_and_warning_rates_unless_asked_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = [
        {
            "id": "p",
            "findings": "Large right pneumothorax.",
            "impression": "Large right pneumothorax.",
        },
        {"id": "n", "findings": "Lungs are clear. No effusion.", "impression": "No acute disease."},
    ]
    _write_jsonl(tmp_path / "refs.jsonl", refs)
    _write_jsonl(
        tmp_path / "normal.jsonl",
        [{"id": r["id"], "prediction": "No acute disease."} for r in refs],
    )
    _write_jsonl(
        tmp_path / "copy.jsonl", [{"id": r["id"], "prediction": r["impression"]} for r in refs]
    )
    base = ["evaluate", "--references", str(tmp_path / "refs.jsonl"),
            "--system", f"normal={tmp_path / 'normal.jsonl'}", "--system", f"copy={tmp_path / 'copy.jsonl'}",
            "--bootstrap", "0"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "with")]) == 0
    agg = json.loads((tmp_path / "with" / "metrics.json").read_text())["aggregate"]
    # "No acute disease." for a pneumothorax: half the reports omit a critical finding.
    assert (
        agg["normal"]["warn_omitted_critical"] == 0.5
        and agg["copy"]["warn_omitted_critical"] == 0.0
    )
    assert agg["copy"]["label_f1"] == 100.0 and agg["normal"]["label_f1"] < 100.0
    # The terminal: the scores as a table whose columns line up under their headers (the
    # warning rates' long labels had pushed it past 300 characters), then the rates per system.
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if "ROUGE-Lsum" in line)
    header, rows = lines[at], lines[at + 1 : at + 3]
    assert [row.split()[0] for row in rows] == ["normal", "copy"]
    assert all(len(row) == len(header) < 80 for row in rows)
    normal = next(x for x in lines if x.startswith("normal: "))
    assert normal.startswith("normal: safety warnings per report 0.50; reports with a warning: ")
    assert "omitted critical 50.0%" in normal
    assert "omitted critical 0.0%" in next(x for x in lines if x.startswith("copy: "))
    assert main([*base, "--out", str(tmp_path / "without"), "--no-clinical"]) == 0
    agg = json.loads((tmp_path / "without" / "metrics.json").read_text())["aggregate"]
    assert "label_f1" not in agg["copy"] and "rougeL" in agg["copy"]


def test_cli_says_which_drafts_are_the_findings_own_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Safe selection's last resort drafts the findings' sentences: not the model's text."""
    refs = [
        {"id": "p", "findings": "Free air under the diaphragm.", "impression": "Free air."},
        {"id": "n", "findings": "Lungs are clear.", "impression": "No acute disease."},
    ]
    _write_jsonl(tmp_path / "refs.jsonl", refs)
    note = {"type": "drafted_from_findings", "severity": "low", "message": "...", "candidate": 0}
    _write_jsonl(
        tmp_path / "lm.jsonl",
        [
            {"id": "p", "prediction": "Free air under the diaphragm.", "warnings": [note]},
            {"id": "n", "prediction": "No acute disease.", "warnings": []},
        ],
    )
    _write_jsonl(tmp_path / "plain.jsonl", [{"id": r["id"], "prediction": "Normal."} for r in refs])
    out = tmp_path / "eval"
    assert main(["evaluate", "--references", str(tmp_path / "refs.jsonl"), "--bootstrap", "0",
                 "--system", f"lm={tmp_path / 'lm.jsonl'}", "--system", f"plain={tmp_path / 'plain.jsonl'}",
                 "--out", str(out)]) == 0  # fmt: skip
    assert json.loads((out / "metrics.json").read_text())["drafted_from_findings"] == {
        "lm": 1,
        "plain": 0,
    }
    said = capsys.readouterr().out
    assert "lm: 1 of 2 drafts are the findings' own sentences" in said
    assert "plain: 0 of" not in said
    assert "lm: 1 of 2 drafts are the findings' own sentences" in (out / "report.md").read_text()


def test_cli_missing_predictions_exit_2_and_list_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = _write_jsonl(tmp_path / "test.jsonl",
                        [{"id": f"r{i}", "findings": "f", "impression": "No acute disease."} for i in range(3)])  # fmt: skip
    preds = _write_jsonl(
        tmp_path / "p.jsonl", [{"id": "r0", "prediction": "x"}, {"id": "r9", "prediction": "y"}]
    )
    code = main(
        [
            "evaluate",
            "--references",
            str(refs),
            "--system",
            f"s={preds}",
            "--out",
            str(tmp_path / "e"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(preds) in err and "r1, r2" in err and "r9" in err
    assert not (tmp_path / "e" / "report.html").exists()


# ---------------------------------------------------------------- report layout


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory):
    """The built-in sample scored for five systems (demo-like names), written once."""
    from radimpress.evaluate.clinical import ClinicalScorer
    from report_fixtures import sample_references, sample_systems

    refs = sample_references()
    result = evaluate_systems(
        refs, sample_systems(refs), bootstrap=400, seed=2, extra_scorers=[ClinicalScorer()]
    )
    out = tmp_path_factory.mktemp("sample-eval")
    write_report(result, out, title="pre-trained vs fine-tuned")
    doc = json.loads((out / "metrics.json").read_text())
    return result, out, doc


def _h2s(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page)]


def _table(page: str, css_id: str) -> list[list[str]]:
    """Rows of cell texts (first line of each cell) of the HTML table with that id."""
    m = re.search(rf'<table id="{css_id}">(.*?)</table>', page, re.S)
    assert m, f"no table #{css_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)(?:<small>.*?</small>)?</t[hd]>", r, re.S) for r in rows]
    return [[html.unescape(c) for c in row] for row in cells]


def _md_table_after(md: str, heading: str) -> list[list[str]]:
    section = md.split(heading, 1)[1]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    block = []
    for ln in section.splitlines()[section.splitlines().index(lines[0]) :]:
        if not ln.startswith("|"):
            break
        block.append([c.strip() for c in ln.strip("|").split(" | ")])
    return [block[0], *block[2:]]


def test_pretrained_vs_finetuned_comes_first_with_its_own_numbers(sample_report) -> None:
    result, out, doc = sample_report
    page = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    pre, fine = "pre-trained (gemma3-270m, in-context)", "fine-tuned (t5-scratch-rag, 3 min)"
    assert result.headline_pair == (pre, fine)
    first = f"{fine} vs {pre}"
    assert _h2s(page)[0] == first
    assert re.findall(r"^## (.*)$", md, re.M)[0] == first
    assert doc["headline"]["baseline"] == pre and doc["headline"]["system"] == fine
    rougeL = next(c for c in doc["headline"]["comparisons"] if c["metric"] == "rougeL")
    rows = {r[0]: r for r in _table(page, "headline-table")}
    row = rows["ROUGE-L (F1 x 100)"]
    assert row[1:4] == [f"{rougeL['mean_baseline']:.2f}", f"{rougeL['mean_system']:.2f}",
                        f"{rougeL['diff']:+.2f}"]  # fmt: skip
    assert row[4] == f"[{rougeL['ci_low']:+.2f}, {rougeL['ci_high']:+.2f}]"
    md_rows = {r[0]: r for r in _md_table_after(md, f"## {first}")}
    assert md_rows["ROUGE-L (F1 x 100)"][4] == row[4]  # same CI in both files


def test_means_grid_has_systems_as_columns_and_names_every_label_f1(sample_report) -> None:
    result, out, doc = sample_report
    page = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    grid = _table(page, "means-table")
    assert grid[0] == ["Metric", *result.systems]
    names = [r[0] for r in grid]
    for name in ("Label F1 (micro, rule-based, F1 x 100)", "Label F1 (macro, rule-based, F1 x 100)",
                 "Label F1 (per-report mean, rule-based, F1 x 100)"):  # fmt: skip
        assert name in names and name in md
    assert "Label F1" not in names and "| Label F1 |" not in md  # never unnamed
    micro = next(r for r in grid if r[0].startswith("Label F1 (micro"))
    assert micro[1:] == [f"{doc['aggregate'][s]['label_micro_f1']:.2f}" for s in result.systems]
    rate = next(r for r in grid if r[0] == "Reports with any warning")
    assert rate[1] == f"{100 * doc['aggregate'][result.systems[0]]['rate_any']:.1f}%"


def test_differences_are_one_grid_against_the_reference(sample_report, tmp_path: Path) -> None:
    result, out, doc = sample_report
    page = (out / "report.html").read_text()
    ref = "retrieval-consensus"
    assert result.reference_system == ref == doc["reference_system"]
    assert {c["baseline"] for c in doc["comparisons"]} == {ref}
    grid = _table(page, "reference-table")
    assert grid[0] == ["Metric", *[s for s in result.systems if s != ref]]
    assert len(grid) - 1 == len(result.metrics)  # one row per metric, not per (system, metric)
    assert f"Differences against {ref}" in _h2s(page)

    named = evaluate_systems(result.references, dict(zip(result.systems, (
        {r.id: p for r, p in zip(result.references, result.predictions[s], strict=True)}
        for s in result.systems), strict=True)), bootstrap=50, reference="constant")  # fmt: skip
    assert {c["baseline"] for c in named.comparisons} == {"constant"}
    assert len(named.comparisons) == 4 * len(named.metrics)
    write_report(named, tmp_path)
    assert "Differences against constant" in _h2s((tmp_path / "report.html").read_text())


def test_labels_are_one_grid_of_observations_by_system(sample_report) -> None:
    result, out, doc = sample_report
    page = (out / "report.html").read_text()
    grid = _table(page, "labels-table")
    assert grid[0] == ["observation", "support", *result.systems]
    assert page.count("<table") == page.count("<table id=")  # every table is a named section
    table = next(iter(doc["tables"].values()))
    f1 = {r["observation"]: r["f1"] for r in table[result.systems[-1]]}
    row = next(r for r in grid if r[0] == "Pleural Effusion")
    assert row[-1] == f"{f1['Pleural Effusion']:.1f}"
    assert len([h for h in _h2s(page) if "label" in h.lower()]) == 1


def test_distribution_tables_are_complete_and_rates_have_none(sample_report) -> None:
    result, out, doc = sample_report
    page = (out / "report.html").read_text()
    grid = _table(page, "dist-rougeL")
    assert grid[0] == ["system", "count", "mean", "std", "min", "25%", "50%", "75%", "max"]
    d = doc["distribution"][result.systems[0]]["rougeL"]
    assert grid[1][1:] == [str(int(d["count"]))] + [f"{d[k]:.2f}" for k in DESCRIBE_COLUMNS[1:]]
    assert 'id="dist-safety_warnings"' in page
    assert not re.search(r'id="dist-warn_', page)  # 0/1 rates: quartiles say nothing
    assert not (out / "plots" / "warn_contradiction.png").exists()


def test_worst_reports_are_n_per_system(sample_report, tmp_path: Path) -> None:
    result, out, doc = sample_report
    page = (out / "report.html").read_text()
    assert all(len(ids) == 5 for ids in doc["worst"].values())
    assert page.count("<div class=ex>") == 5 * len(result.systems)
    assert page.count("<details") == len(result.systems)
    few = evaluate_systems(result.references, {"c": {r.id: "No acute disease." for r in
                           result.references}}, bootstrap=0, worst_k=2)  # fmt: skip
    write_report(few, tmp_path)
    assert (tmp_path / "report.html").read_text().count("<div class=ex>") == 2


def test_significance_colour_is_hidden_below_min_n(tmp_path: Path) -> None:
    refs = _refs(12)
    systems = {"a": {r.id: "No acute disease." for r in refs}, "b": _systems(refs)["copy"]}
    small = evaluate_systems(refs, systems, bootstrap=500)
    assert all(c["significant"] is None for c in small.comparisons)
    assert min(c["p_value"] for c in small.comparisons) < 0.05  # would be coloured otherwise
    write_report(small, tmp_path / "small")
    page = (tmp_path / "small" / "report.html").read_text()
    assert 'class="better"' not in page and 'class="worse"' not in page
    assert "Only 12 reports: below 30" in page
    assert "Only 12 reports: below 30" in (tmp_path / "small" / "report.md").read_text()
    doc = json.loads((tmp_path / "small" / "metrics.json").read_text())
    assert doc["options"]["min_n"] == 30
    assert all(c["significant"] is None for c in doc["comparisons"])

    allowed = evaluate_systems(refs, systems, bootstrap=500, min_n=10)
    write_report(allowed, tmp_path / "allowed")
    page = (tmp_path / "allowed" / "report.html").read_text()
    assert 'class="better"' in page and "Only 12 reports" not in page
    for c in allowed.comparisons:
        excludes = c["ci_low"] > 0 or c["ci_high"] < 0
        assert c["significant"] == excludes


def test_compare_names_the_headline_and_unknown_names_are_errors() -> None:
    refs = _refs(6)
    systems = {"Pre-Trained LM": {r.id: "x" for r in refs}, "FINE-TUNED lm": {r.id: "y" for r in
               refs}, "other": {r.id: r.impression for r in refs}}  # fmt: skip
    auto = evaluate_systems(refs, systems, bootstrap=0)
    assert auto.headline_pair == ("Pre-Trained LM", "FINE-TUNED lm")
    assert [c["metric"] for c in auto.headline] == auto.metrics  # diffs even without bootstrap
    named = evaluate_systems(refs, systems, bootstrap=0, compare=("other", "Pre-Trained LM"))
    assert named.headline_pair == ("other", "Pre-Trained LM")
    assert evaluate_systems(refs, {"a": systems["other"], "b": systems["other"]},
                            bootstrap=0).headline_pair is None  # fmt: skip
    with pytest.raises(InputError, match=r"compare: unknown system\(s\) \['nope'\]"):
        evaluate_systems(refs, systems, bootstrap=0, compare=("other", "nope"))
    with pytest.raises(InputError, match="reference: unknown system 'nope'"):
        evaluate_systems(refs, systems, bootstrap=0, reference="nope")


def test_cli_compare_reference_and_worst(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = [{"id": f"r{i}", "findings": f"Case {i}.", "impression": imp}
            for i, imp in enumerate(["No acute disease.", "Mild cardiomegaly.", "Small effusion."] * 4)]  # fmt: skip
    _write_jsonl(tmp_path / "refs.jsonl", refs)
    paths = {}
    for name, pred in (("a", lambda r: "No acute disease."), ("b", lambda r: r["impression"]),
                       ("c", lambda r: "Mild cardiomegaly.")):  # fmt: skip
        paths[name] = _write_jsonl(tmp_path / f"{name}.jsonl",
                                   [{"id": r["id"], "prediction": pred(r)} for r in refs])  # fmt: skip
    code = main(["evaluate", "--references", str(tmp_path / "refs.jsonl"), "--no-clinical",
                 *[x for n, p in paths.items() for x in ("--system", f"{n}={p}")],
                 "--compare", "c", "b", "--reference", "c", "--worst", "1", "--min-n", "5",
                 "--bootstrap", "200", "--out", str(tmp_path / "e")])  # fmt: skip
    assert code == 0
    doc = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert doc["headline"]["baseline"] == "c" and doc["headline"]["system"] == "b"
    assert {c["baseline"] for c in doc["comparisons"]} == {"c"}
    assert all(len(v) == 1 for v in doc["worst"].values()) and doc["options"]["min_n"] == 5
    assert "b - c (ROUGE-L)" in capsys.readouterr().out
    assert main(["evaluate", "--references", str(tmp_path / "refs.jsonl"), "--no-clinical",
                 "--system", f"a={paths['a']}", "--compare", "a", "zz",
                 "--out", str(tmp_path / "f")]) == 2  # fmt: skip


def test_scorer_columns_may_not_overwrite_metrics() -> None:
    class Clashing(LengthScorer):
        def __call__(self, references, predictions) -> ScorerOutput:
            out = super().__call__(references, predictions)
            out.columns["length_ratio"] = ["x"] * len(references)
            return out

    with pytest.raises(ValueError, match=r"column name\(s\) \['length_ratio'\] clash"):
        evaluate_systems(_refs(3), {"a": {f"r{i}": "x" for i in range(3)}}, bootstrap=0,
                         extra_scorers=[Clashing()])  # fmt: skip


def test_box_plot_labels_fit_inside_the_figure() -> None:
    from radimpress.evaluate.plots import box_plot_figure

    rng = np.random.default_rng(0)
    names = ["retrieval-consensus", "pre-trained (gemma3-270m, in-context, with a long tail)",
             "fine-tuned (t5-scratch-rag, 3 min)", "x"]  # fmt: skip
    fig = box_plot_figure({n: rng.uniform(0, 100, 30) for n in names}, title="ROUGE-L",
                          xlabel="F1 x 100")  # fmt: skip
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    ax = fig.axes[0]
    low, high = ax.get_xlim()  # matplotlib keeps undrawn tick labels beyond the limits
    xticks = [t for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high]
    texts = [*ax.get_yticklabels(), *xticks, ax.title, ax.xaxis.label]
    assert len([t for t in texts if "mean" in t.get_text()]) == 4
    for t in texts:
        if not t.get_text():
            continue
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, t.get_text()


def test_every_table_is_broken_down_by_normal_and_abnormal_reference(tmp_path: Path) -> None:
    """Where a model wins and loses: stock normal impressions vs the ones a model must write."""
    refs = [
        {
            "id": f"n{i}",
            "findings": "Lungs clear.",
            "impression": "No acute cardiopulmonary abnormality.",
        }
        for i in range(3)
    ] + [
        {
            "id": "a1",
            "findings": "Large right pneumothorax.",
            "impression": "Large right pneumothorax.",
        },
        {
            "id": "a2",
            "findings": "Left effusion.",
            "impression": "Possible small left pleural effusion.",
        },
    ]
    _write_jsonl(tmp_path / "refs.jsonl", refs)
    _write_jsonl(
        tmp_path / "stock.jsonl",
        [{"id": r["id"], "prediction": "No acute cardiopulmonary abnormality."} for r in refs],
    )
    _write_jsonl(
        tmp_path / "copy.jsonl", [{"id": r["id"], "prediction": r["impression"]} for r in refs]
    )
    assert main(["evaluate", "--references", str(tmp_path / "refs.jsonl"),
                 "--system", f"stock={tmp_path / 'stock.jsonl'}", "--system", f"copy={tmp_path / 'copy.jsonl'}",
                 "--bootstrap", "50", "--out", str(tmp_path / "e")]) == 0  # fmt: skip
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["groups"] == {"normal": 3, "abnormal": 2}
    by = metrics["group_aggregate"]
    assert (
        by["normal"]["stock"]["rougeL"] == 100.0
    )  # the stock sentence wins where it is the answer
    assert by["abnormal"]["stock"]["rougeL"] < by["abnormal"]["copy"]["rougeL"] == 100.0
    diffs = {(c["group"], c["metric"]): c for c in metrics["group_comparisons"]["abnormal"]}
    assert diffs[("abnormal", "rougeL")]["diff"] > 0 and diffs[("abnormal", "rougeL")]["n"] == 2
    html = (tmp_path / "e" / "report.html").read_text()
    assert "By reference impression" in html and "ROUGE-L (F1 x 100), abnormal" in html
    assert "By reference impression" in (tmp_path / "e" / "report.md").read_text()
