"""The one drafting path: same text as training, safety in the choice, options honoured or refused."""

from __future__ import annotations

import json

import pytest

from radimpress.cli import main
from radimpress.dataset import DatasetOptions, build_dataset
from radimpress.dataset.exams import Familiarity
from radimpress.drafting import Drafter, DraftOptions, InvalidRequest
from radimpress.drafting.communication import clean_candidates, without_communication
from radimpress.models.baselines import ConstantModel, RetrievalModel
from radimpress.records import Report, read_jsonl, write_jsonl
from support import tiny_recipe, train_tiny

MARKED = (
    "Patient [**Known lastname 123**] seen on ___ .  Left   pleural effusion..\n"
    "Compared with XXXX XXXX study; reviewed by [NAME] on [DATE]."
)


class Recorder:
    """A model that remembers the reports it was asked to draft for."""

    kind = "recorder"
    decoding_options = frozenset()
    progress = False

    def __init__(self, drafts):
        self.drafts, self.seen = drafts, []

    def info(self):
        return {"name": "recorder", "version": "1", "kind": self.kind}

    def candidate_pool(self, **decoding):
        return len(self.drafts)

    def ranked_depth(self, **decoding):
        return self.candidate_pool(**decoding)

    def generate(self, reports, num_candidates=1):
        self.seen.extend(reports)
        return [list(self.drafts[:num_candidates]) for _ in reports]


def test_findings_reach_the_model_as_the_dataset_wrote_them_for_training():
    """De-identification markers, spacing and punctuation runs: identical on both paths."""
    built = build_dataset(
        [Report("a", MARKED, "Left effusion."), Report("b", "Lungs clear.", "Normal.")],
        DatasetOptions(val_frac=0, test_frac=0),
    )
    (training_text,) = [r.findings for r in built.splits["train"] if r.id == "a"]
    model = Recorder(["Left effusion."])
    Drafter(model, cleaning=DatasetOptions().cleaning, safety_checks=False).draft(
        [Report("a", MARKED)]
    )
    assert model.seen[0].findings == training_text
    assert (
        "[**" not in training_text and "___" not in training_text and "[NAME]" not in training_text
    )
    # One token per removed identifier ("XXXX XXXX" was one name): five of them.
    assert training_text.count("XXXX") == 5


def test_the_models_own_cleaning_options_are_used(tmp_path, dataset_dir):
    manifest = json.loads((dataset_dir / "manifest.json").read_text())
    (dataset_dir / "manifest.json").write_text(
        json.dumps({**manifest, "options": {"placeholder": "[REDACTED]"}})
    )
    assert main(["train", "--model", "retrieval", "--data", str(dataset_dir), "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    drafter = Drafter.from_model_dir(tmp_path / "m", safety_checks=False)
    assert drafter.cleaning.placeholder == "[REDACTED]"
    (prepared,) = drafter.prepare([Report("q", "Seen by XXXX on ___.")])
    assert prepared.findings == "Seen by [REDACTED] on [REDACTED]."


def test_a_candidate_with_a_high_severity_warning_never_comes_first():
    model = Recorder(["Small left pneumothorax.", "Small right pneumothorax."])
    findings = "Small right apical pneumothorax."
    (safe,) = Drafter(model).draft([Report("q", findings)], DraftOptions(num_candidates=2))
    assert safe.candidates == ["Small right pneumothorax.", "Small left pneumothorax."]
    assert not [w for w in safe.warnings_for(0) if w.severity == "high"]
    assert "laterality_mismatch" in [w.type for w in safe.warnings_for(1)]
    (kept,) = Drafter(model, safe_select=False).draft([Report("q", findings)])
    assert kept.impression == "Small left pneumothorax."
    assert "laterality_mismatch" in [w.type for w in kept.warnings_for(0)]


def test_safe_selection_looks_past_the_first_candidate_even_when_one_is_asked_for():
    """Every model kind offers the candidates it ranks anyway; the safe one wins."""
    train = [
        Report(
            "b",
            "Small left apical pneumothorax, unchanged since the prior study.",
            "Stable left pneumothorax.",
        ),
        Report("c", "Small right apical pneumothorax.", "Small right pneumothorax."),
        Report("d", "Heart normal. Lungs clear.", "No acute disease."),
    ]
    model = RetrievalModel()
    model.fit(train)
    # The nearest neighbour was written like this report but about the other side.
    query = [Report("q", "Small right apical pneumothorax, unchanged since the prior study.")]
    assert model.generate(query)[0][0] == "Stable left pneumothorax."
    (result,) = Drafter(model).draft(query)
    assert result.impression == "Small right pneumothorax."


class Greedy(Recorder):
    """A greedy language model: one draft costs one decoding, a pool of 3 a beam search."""

    def __init__(self, drafts_by_findings):
        super().__init__([])
        self.by_findings, self.calls = drafts_by_findings, []

    def candidate_pool(self, **decoding):
        return 1

    def generate(self, reports, num_candidates=1):
        self.calls.append(([r.id for r in reports], num_candidates))
        return [list(self.by_findings[r.findings][:num_candidates]) for r in reports]


def test_a_greedy_model_drafts_the_safe_pool_only_for_reports_whose_draft_is_unsafe():
    """Beam 3 for every report would cost 3-4 times the greedy draft and change it; only the
    report whose greedy draft names the wrong side is drafted again, and its safe one wins."""
    right, clear = "Small right apical pneumothorax.", "Heart normal. Lungs clear."
    model = Greedy(
        {
            right: ["Small left pneumothorax.", "Small right pneumothorax.", "Pneumothorax."],
            clear: ["No acute disease.", "Normal chest."],
        }
    )
    reports = [Report("a", right), Report("b", clear)]
    a, b = Drafter(model).draft(reports)
    assert model.calls == [(["a", "b"], 1), (["a"], 3)]
    assert a.impression == "Small right pneumothorax."
    assert not [w for w in a.warnings_for(0) if w.severity == "high"]
    assert b.impression == "No acute disease." and b.candidates == ["No acute disease."]
    # asked for the pool, or without safe selection: one call, as asked
    model.calls.clear()
    Drafter(model).draft(reports, DraftOptions(num_candidates=3))
    Drafter(model, safe_select=False).draft(reports)
    assert model.calls == [(["a", "b"], 3), (["a", "b"], 1)]
    # a report whose every candidate is unsafe is not drafted again when the pool was asked
    # for; its findings' own sentence comes first, the model's candidates after it
    model.by_findings[right] = ["Small left pneumothorax.", "Left pneumothorax."]
    model.calls.clear()
    (unsafe, _) = Drafter(model).draft(reports, DraftOptions(num_candidates=3))
    assert model.calls == [(["a", "b"], 3)]
    assert unsafe.candidates == [right, "Small left pneumothorax.", "Left pneumothorax."]
    assert [w.type for w in unsafe.warnings_for(0)] == ["drafted_from_findings"]
    assert all(any(w.severity == "high" for w in unsafe.warnings_for(i)) for i in (1, 2))


class Ranked(Greedy):
    """A model that ranks a list (retrieval, rerank, the hybrid): 3 at once, 16 on request."""

    def candidate_pool(self, **decoding):
        return 3

    def ranked_depth(self, **decoding):
        return 16


def test_a_ranked_model_is_asked_deeper_only_where_its_first_candidates_are_all_unsafe():
    """The hybrid put 'Free air ... No acute cardiopulmonary process.' and two like it first
    and the report's own sentence further down: safe selection must reach it."""
    air, clear = "Free air under the right hemidiaphragm. Lungs clear.", "Lungs clear."
    buried = [
        "Free air under the right hemidiaphragm. No acute cardiopulmonary process.",
        "No acute cardiopulmonary process. Free air under the right hemidiaphragm.",
        "No acute cardiopulmonary process.",
        "Normal chest.",
        "Free air under the right hemidiaphragm.",
    ]
    model = Ranked({air: buried, clear: ["No acute disease.", "Normal chest."]})
    a, b = Drafter(model).draft([Report("a", air), Report("b", clear)])
    assert model.calls == [(["a", "b"], 3), (["a"], 16)]
    assert a.impression == "Free air under the right hemidiaphragm." and not a.warnings_for(0)
    assert b.impression == "No acute disease."
    model.calls.clear()
    Drafter(model, safe_select=False).draft([Report("a", air)])
    assert model.calls == [(["a"], 1)]


def test_a_failed_recheck_keeps_the_first_drafts_and_their_warnings(monkeypatch):
    """The widened pool's candidates have no warnings when its re-check fails: the report keeps
    the drafts that were checked, so every returned candidate carries what its check found."""
    from radimpress.drafting import drafter as drafter_module

    right = "Small right apical pneumothorax."
    model = Greedy(
        {right: ["Small left pneumothorax.", "Left pneumothorax.", "Small right pneumothorax."]}
    )
    real, calls = drafter_module.check_items, []

    def fails_the_second_time(items):
        calls.append(items)
        return real(items) if len(calls) == 1 else None

    monkeypatch.setattr(drafter_module, "check_items", fails_the_second_time)
    (a,) = Drafter(model).draft([Report("a", right)], DraftOptions(num_candidates=2))
    assert model.calls == [(["a"], 2), (["a"], 3)] and len(calls) == 2
    assert a.candidates == ["Small left pneumothorax.", "Left pneumothorax."]
    assert all("laterality_mismatch" in [w.type for w in a.warnings_for(i)] for i in (0, 1))
    # a re-check that works takes the pool: its safe candidate comes first
    monkeypatch.setattr(drafter_module, "check_items", real)
    (a,) = Drafter(model).draft([Report("a", right)], DraftOptions(num_candidates=2))
    assert a.candidates[0] == "Small right pneumothorax."


def test_the_server_path_widens_the_same_way():
    import asyncio

    from radimpress.drafting.checks import check_items

    right = "Small right apical pneumothorax."
    model = Greedy({right: ["Small left pneumothorax.", "Small right pneumothorax."]})
    drafter = Drafter(model)

    async def generate(reports, options):
        return drafter.generate(reports, options)

    async def check(items):
        return check_items(items)

    (a,) = asyncio.run(drafter.draft_async([Report("a", right)], DraftOptions(), generate, check))
    assert model.calls == [(["a"], 1), (["a"], 3)]
    assert a.impression == "Small right pneumothorax."


def test_options_a_model_cannot_honour_are_an_error():
    model = ConstantModel()
    model.fit([Report("a", "x", "Normal.")])
    drafter = Drafter(model, safety_checks=False)
    with pytest.raises(InvalidRequest, match="constant models cannot honour num_beams"):
        drafter.draft([Report("q", "x")], DraftOptions(num_beams=4))
    with pytest.raises(InvalidRequest, match="mbr"):
        drafter.draft([Report("q", "x")], DraftOptions(mbr=True))


def test_neural_models_take_decoding_options_per_call():
    from support import synthetic_reports

    train = synthetic_reports(24, 1, "tr")
    model, _ = train_tiny(tiny_recipe("seq2seq", train={"max_steps": 1}), train)
    drafter = Drafter(model, safety_checks=False)
    (r,) = drafter.draft(train[:1], DraftOptions(num_candidates=2, num_beams=2, max_new_tokens=3))
    assert 1 <= len(r.candidates) <= 2
    assert model.generation.num_beams == 2 and model.generation.max_new_tokens == 8  # untouched


def test_generate_command_refuses_what_the_model_cannot_do_and_writes_warnings(
    tmp_path, dataset_dir
):
    assert main(["train", "--model", "retrieval", "--data", str(dataset_dir), "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    inputs = tmp_path / "in.jsonl"
    write_jsonl(inputs, [Report("q", "Large left pleural effusion with adjacent atelectasis.")])
    out = tmp_path / "p.jsonl"
    base = [
        "generate",
        "--model",
        str(tmp_path / "m"),
        "--input",
        str(inputs),
        "--output",
        str(out),
    ]
    assert main([*base, "--num-beams", "4"]) == 2  # not silently ignored
    assert main(base) == 0
    (row,) = [r for _, r in read_jsonl(out)]
    assert row["id"] == "q" and row["prediction"] and isinstance(row["warnings"], list)
    bare = tmp_path / "findings.txt"
    bare.write_text("Small right pneumothorax.\n")
    assert (
        main([*base[:3], "--input", str(bare), "--output", str(out)]) == 0
    )  # bare text is findings


def test_generate_drafts_the_good_records_and_keeps_each_bad_one_with_its_line_and_reason(
    tmp_path, capsys
):
    """One broken line in an export stopped the whole run; the rest is now drafted, nothing lost."""
    from support import saved_model

    model = saved_model(tmp_path / "m")
    inputs = tmp_path / "in.jsonl"
    good = {"id": "a", "findings": "Small right pleural effusion."}
    lines = [
        json.dumps(good),
        json.dumps({"id": "b", "findings": "   "}),
        json.dumps({"id": "c"}),
        json.dumps({"findings": "No id. Heart normal."}),
        "",
        json.dumps({"id": "a", "findings": "Repeated id."}),
        "{not json",
        json.dumps({"id": "e", "findings": 12}),
        json.dumps({"id": "f", "findings": "Clear lungs."}),
    ]
    inputs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "p.jsonl"
    args = ["generate", "--model", str(model), "--input", str(inputs), "--output", str(out)]
    assert main(args) == 0
    assert [r["id"] for _, r in read_jsonl(out)] == ["a", "f"]
    rejected = tmp_path / "p.jsonl.rejects.jsonl"
    assert "6 record(s) not drafted" in capsys.readouterr().err
    reasons = {r["location"]: r["reason"] for _, r in read_jsonl(rejected)}
    assert reasons == {
        "line 2": "empty findings",
        "line 3": "missing field 'findings'",
        "line 4": "missing field 'id'",
        "line 6": "id 'a' already on line 1",
        "line 7": "invalid JSON (Expecting property name enclosed in double quotes)",
        "line 8": "field 'findings' must be a string, got int",
    }
    # A clean re-run leaves no stale rejects file behind; a file of nothing usable is an error.
    inputs.write_text(json.dumps(good) + "\n")
    assert main(args) == 0 and not rejected.exists()
    inputs.write_bytes(b'{"id": "x", "findings": "caf\xe9"}\n')
    assert main(args) == 2
    assert "no usable report (1 rejected: line 1: not UTF-8" in capsys.readouterr().err


def test_recommend_appends_the_guideline_follow_up_before_the_checks_read_the_draft():
    findings = "There is a 7 mm solid nodule in the right upper lobe. No pleural effusion."
    model = Recorder(["Right upper lobe nodule."])
    report = Report("q", findings, exam="CT CHEST WITHOUT CONTRAST")
    (plain,) = Drafter(model).draft([report])
    assert "missing_follow_up" in [w.type for w in plain.warnings_for(0)]
    (drafted,) = Drafter(model, recommend=True).draft([report])
    assert drafted.impression.startswith("Right upper lobe nodule. Per the Fleischner Society 2017")
    assert "CT at 6-12 months" in drafted.impression
    assert "missing_follow_up" not in [w.type for w in drafted.warnings_for(0)]
    # A radiograph nodule gets the usual next step; normal findings get nothing.
    (xr,) = Drafter(model, recommend=True).draft(
        [Report("x", "7 mm nodular density in the left lung base.", exam="XR CHEST 2 VIEWS")]
    )
    assert xr.impression.endswith("Recommend chest CT for further characterization.")
    (normal,) = Drafter(Recorder(["No acute disease."]), recommend=True).draft(
        [Report("n", "Lungs clear. No nodules.")]
    )
    assert normal.impression == "No acute disease."
    # a draft's words may be another patient's: its copied "stable" does not excuse the
    # findings' nodule from its follow-up, nor does its copied nodule earn one
    (copied,) = Drafter(Recorder(["Small right upper lobe nodule, stable."]), recommend=True).draft(
        [report]
    )
    assert "CT at 6-12 months" in copied.impression
    (invented,) = Drafter(Recorder(["Left lower lobe nodule."]), recommend=True).draft(
        [Report("n", "Lungs clear. Heart normal.", exam="CT CHEST WITHOUT CONTRAST")]
    )
    assert "Fleischner" not in invented.impression
    # where the table's answer is no follow-up, the draft says so (and sets no check off)
    (small,) = Drafter(Recorder(["Right lower lobe nodule."]), recommend=True).draft(
        [
            Report(
                "s",
                "4 mm solid nodule in the right lower lobe. No other nodules.",
                exam="CT CHEST WITHOUT CONTRAST",
                indication="55 year old, never smoker.",
            )
        ]
    )
    assert small.impression.endswith("low-risk patient): No routine follow-up.")
    assert small.warnings_for(0) == []


def test_generate_keeps_the_records_ingest_rejects_in_a_table_input(tmp_path, capsys):
    """A CSV (or any non-JSONL input) goes through ingest, whose rejects were dropped unseen."""
    from support import saved_model

    model = saved_model(tmp_path / "m")
    table = tmp_path / "exports.csv"
    table.write_text("uid,findings,impression\n1,Small right pleural effusion.,\n2,,Normal.\n")
    out = tmp_path / "p.jsonl"
    args = ["generate", "--model", str(model), "--input", str(table), "--output", str(out)]
    assert main(args) == 0
    assert [r["id"] for _, r in read_jsonl(out)] == ["1"]
    (reject,) = [r for _, r in read_jsonl(tmp_path / "p.jsonl.rejects.jsonl")]
    assert reject["source"].endswith("exports.csv") and reject["reason"] == "empty findings"
    table.write_text("uid,findings,impression\n2,,Normal.\n")
    assert main(args) == 2
    assert "no usable report (1 rejected: line 2: empty findings)" in capsys.readouterr().err


def test_a_model_failure_in_the_widened_call_reaches_the_caller():
    """The second model call fails as the first would: the caller sees the model's error (the
    server answers it with a 500 and an error id), never drafts without their checks."""
    import asyncio

    right = "Small right apical pneumothorax."

    class FailsOnThePool(Greedy):
        def generate(self, reports, num_candidates=1):
            if num_candidates > 1:
                raise RuntimeError("out of memory")
            return super().generate(reports, num_candidates)

    drafter = Drafter(FailsOnThePool({right: ["Small left pneumothorax."]}))
    with pytest.raises(RuntimeError, match="out of memory"):
        drafter.draft([Report("a", right)])

    async def generate(reports, options):
        return drafter.generate(reports, options)

    async def check(items):
        from radimpress.drafting.checks import check_items

        return check_items(items)

    with pytest.raises(RuntimeError, match="out of memory"):
        asyncio.run(drafter.draft_async([Report("a", right)], DraftOptions(), generate, check))
    assert drafter.model.calls == [(["a"], 1), (["a"], 1)]


def test_the_checks_read_the_reports_exam_and_indication_on_both_drafting_paths():
    """A CT of a patient with known lung cancer is outside the Fleischner table: no follow-up is
    missing. The drafting path checked drafts without the study, so the follow-up rules took the
    CT for a radiograph and warned that the draft left out a CT work-up."""
    import asyncio

    from radimpress.drafting.checks import check_items

    findings = (
        "Multiple bilateral pulmonary nodules, the largest measuring 9 mm in the right lower lobe."
    )
    ct = Report("ct", findings, exam="CT CHEST W/O CONTRAST", indication="history of lung cancer")
    xr = Report("xr", findings, exam="CHEST PA AND LATERAL")
    drafter = Drafter(Recorder(["Multiple bilateral pulmonary nodules."]))
    on_ct, on_xr = drafter.draft([ct, xr])
    assert "missing_follow_up" not in [w.type for w in on_ct.warnings_for(0)]
    assert "missing_follow_up" in [w.type for w in on_xr.warnings_for(0)]

    async def generate(reports, options):
        return drafter.generate(reports, options)

    async def check(items):
        return check_items(items)

    served = asyncio.run(drafter.draft_async([ct, xr], DraftOptions(), generate, check))
    assert [[w.type for w in r.warnings_for(0)] for r in served] == [
        [w.type for w in on_ct.warnings_for(0)],
        [w.type for w in on_xr.warnings_for(0)],
    ]


def test_an_exam_of_a_region_the_model_was_not_trained_on_is_flagged_and_drafted_from_its_findings(
    tmp_path,
):
    """A hospital's feed sends every exam. The default chest model drafted "Fracture of the
    distal right clavicle" for a wrist's radius fracture, and "No acute cardiopulmonary
    process." for an abdomen's small-bowel obstruction, with no warning."""
    data = tmp_path / "data"
    chest = [
        ("Heart normal. Lungs clear.", "No acute cardiopulmonary process."),
        ("Clear lungs. No effusion.", "No acute disease."),
        ("Fracture of the right clavicle. Lungs clear.", "Right clavicle fracture."),
    ]
    train = [
        Report(f"t{i}", f, imp, exam="CHEST PA AND LATERAL") for i, (f, imp) in enumerate(chest)
    ]
    write_jsonl(data / "train.jsonl", train)
    assert main(["train", "--model", "retrieval", "--data", str(data), "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    assert "exams trained on, by body region: chest 3" in (tmp_path / "m" / "README.md").read_text()
    radius = "Transverse fracture of the distal radius. Soft tissue swelling."
    queries = [
        Report("wrist", radius, exam="RIGHT WRIST 3 VIEWS"),
        Report("normal-wrist", "No fracture or dislocation.", exam="LEFT WRIST 2 VIEWS"),
        Report(
            "both", "Lungs clear. Right foot: no fracture.", exam="CHEST 2V; RIGHT FOOT 3 VIEWS"
        ),
        Report("chest", "Heart normal. Lungs clear.", exam="CHEST PA AND LATERAL"),
    ]
    write_jsonl(tmp_path / "in.jsonl", queries)
    out = tmp_path / "p.jsonl"
    args = ["generate", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "in.jsonl")]
    assert main([*args, "--output", str(out)]) == 0
    rows = {r["id"]: r for _, r in read_jsonl(out)}
    said = {k: {w["type"]: w["severity"] for w in r["warnings"]} for k, r in rows.items()}
    # the findings' own sentence, not a chest impression; the note says why
    assert rows["wrist"]["prediction"] == "Transverse fracture of the distal radius."
    assert said["wrist"] == {"drafted_from_findings": "low", "exam_outside_training": "medium"}
    assert "upper limb" in rows["wrist"]["warnings"][1]["message"]
    # nothing abnormal to draft from: the model's draft stands, flagged high
    assert said["normal-wrist"]["exam_outside_training"] == "high"
    # a chest exam with a foot: the chest draft stands, the foot is the radiologist's to add
    assert said["both"] == {"exam_outside_training": "medium"}
    assert said["chest"] == {}


def test_another_regions_report_is_not_drafted_again_by_the_model():
    """More beams of a chest model are no better for a wrist: one model call."""
    radius = "Fracture of the distal radius."
    model = Greedy({radius: ["Right clavicle fracture.", "Clavicle fracture."]})
    drafter = Drafter(model, exams=Familiarity({"chest": 50}))
    (result,) = drafter.draft([Report("w", radius, exam="WRIST")])
    assert model.calls == [(["w"], 1)]
    assert result.impression == radius
    # a model folder without the counts (trained before they were kept) drafts as before
    model.calls.clear()
    (before,) = Drafter(model).draft([Report("w", radius, exam="WRIST")])
    assert before.impression == "Right clavicle fracture."
    assert "exam_outside_training" not in [w.type for w in before.warnings]


def test_every_candidate_written_carries_its_own_warnings(tmp_path):
    """With --num-candidates, the alternatives' warnings are written too, not only the first's.

    A reviewer who takes the second candidate must see that it also leaves out the free air.
    """
    data = tmp_path / "data"
    normal = [("Lungs are clear.", "No acute disease."), ("Clear lungs.", "Normal chest.")]
    write_jsonl(
        data / "train.jsonl", [Report(f"t{i}", f, imp) for i, (f, imp) in enumerate(normal)]
    )
    assert main(["train", "--model", "retrieval", "--data", str(data), "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    write_jsonl(tmp_path / "in.jsonl", [Report("q", "Free air under the right hemidiaphragm.")])
    out = tmp_path / "p.jsonl"
    args = ["generate", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "in.jsonl")]
    assert main([*args, "--output", str(out), "--num-candidates", "2"]) == 0
    (row,) = [r for _, r in read_jsonl(out)]
    # both retrieved impressions leave out the free air: the findings' own sentence is the
    # draft (safe selection's last resort), and the alternative says what it leaves out
    assert row["candidates"][0] == "Free air under the right hemidiaphragm."
    assert len(row["candidate_warnings"]) == len(row["candidates"]) == 2
    assert [w["type"] for w in row["candidate_warnings"][0]] == ["drafted_from_findings"]
    assert [w["type"] for w in row["candidate_warnings"][1]] == ["omitted_critical"]
    assert row["warnings"] == row["candidate_warnings"][0]


def test_retrieval_reaches_past_three_wrong_sided_neighbours_to_the_right_one():
    """A real ranked list: the 3 nearest impressions name the wrong side, the 4th is safe."""
    query = "Small left apical pneumothorax."
    train = [
        Report("a", query, "Right pneumothorax."),
        Report("b", query + " ", "Small right pneumothorax."),
        Report("c", query + " Heart normal.", "Tiny right apical pneumothorax."),
        Report("d", "Left pneumothorax.", "Small left pneumothorax."),
        Report("e", "Lungs clear.", "No acute disease."),
    ]
    model = RetrievalModel()
    model.fit(train)
    assert model.generate([Report("q", query)], 4)[0][3] == "Small left pneumothorax."
    (result,) = Drafter(model).draft([Report("q", query)])
    assert result.impression == "Small left pneumothorax."


# --- a draft never claims that a result was communicated: nobody made that call ---


@pytest.mark.parametrize(
    "text, kept",
    [
        # Open-i impressions a retrieval model copies
        (
            "XXXX extensive bilateral interstitial opacities. Result notification XXXX Primordial.",
            "XXXX extensive bilateral interstitial opacities.",
        ),
        (
            "1. Left upper lobe mass. 2. Dr. XXXX was notified at XXXX p.m. by telephone.",
            "1. Left upper lobe mass.",
        ),
        ("Recommend chest CT. Findings discussed with Dr. XXXX.", "Recommend chest CT."),
        ("Nodule. XXXX level Veriphy message sent.", "Nodule."),
        # advice and measurements stay
        (
            "Nodule 1.5 cm. Recommend CT. Correlate clinically.",
            "Nodule 1.5 cm. Recommend CT. Correlate clinically.",
        ),
        (
            "Critical narrowing of the left mainstem bronchus.",
            "Critical narrowing of the left mainstem bronchus.",
        ),
    ],
)
def test_without_communication(text, kept):
    assert without_communication(text) == kept


def test_candidates_left_empty_or_the_same_are_dropped():
    assert clean_candidates(
        [
            "Critical result notification documented through Primordial.",
            "No acute disease.",
            "No acute disease. Veriphy sent.",
        ]
    ) == ["No acute disease."]


def test_every_drafting_path_takes_the_call_out_of_the_draft():
    model = Recorder(["Left pneumothorax. The ordering physician was notified at XXXX."])
    (draft,) = Drafter(model).draft([Report("q", "Small left pneumothorax.")], DraftOptions())
    assert draft.impression == "Left pneumothorax."


# --- the last resort of safe selection: the findings' own sentences ---


def test_when_every_candidate_is_unsafe_the_findings_own_sentences_are_the_draft():
    # every beam of the fine-tuned Gemma said this over findings of free air
    model = Recorder(["No acute radiographic cardiopulmonary process.", "Normal chest."])
    findings = "Free air under the right hemidiaphragm. Lungs clear. No effusion."
    (draft,) = Drafter(model).draft([Report("q", findings)], DraftOptions(num_candidates=1))
    assert draft.impression == "Free air under the right hemidiaphragm."
    assert [(w.type, w.severity) for w in draft.warnings_for(0)] == [
        ("drafted_from_findings", "low")
    ]
    # without safe selection, or without its last resort, the model's draft stands
    for drafter in (Drafter(model, safe_select=False), Drafter(model, fallback=False)):
        (kept,) = drafter.draft([Report("q", findings)])
        assert kept.impression == "No acute radiographic cardiopulmonary process."
        assert "omitted_critical" in [w.type for w in kept.warnings_for(0)]


def test_every_front_door_can_turn_the_last_resort_off(tmp_path):
    from radimpress.cli import build_parser
    from radimpress.serve.cli import build_settings
    from support import saved_model

    def parse(*argv: str):
        return build_parser(list(argv)).parse_args(list(argv))

    io = ["--model", "m", "--input", "i", "--output", "o", "--no-fallback"]
    assert parse("generate", *io).no_fallback and parse("batch", *io).no_fallback
    serve = ["serve", "--model", str(saved_model(tmp_path / "model")), "--insecure-local"]
    assert build_settings(parse(*serve, "--no-fallback")).fallback is False
    assert build_settings(parse(*serve)).fallback is True


def test_a_failed_check_of_the_findings_sentences_keeps_the_models_draft(monkeypatch):
    from radimpress.drafting import drafter as drafter_module

    real, calls = drafter_module.check_items, []
    offered = "Free air under the right hemidiaphragm."

    def fails_on_the_findings_sentences(items):
        calls.append(items)
        return None if items[0].candidates == [offered] else real(items)

    monkeypatch.setattr(drafter_module, "check_items", fails_on_the_findings_sentences)
    model = Recorder(["No acute radiographic cardiopulmonary process."])
    (draft,) = Drafter(model).draft([Report("q", f"{offered} Lungs clear.")])
    assert calls[-1][0].candidates == [offered]  # the last round: the findings' sentence
    # unchecked, it is not offered: the model's draft stands with its warning
    assert draft.impression == "No acute radiographic cardiopulmonary process."
    assert [w.type for w in draft.warnings_for(0)] == ["omitted_critical"]


def test_no_fallback_where_a_candidate_is_safe_or_the_findings_have_nothing_to_offer():
    model = Recorder(["Normal chest.", "Free air under the right hemidiaphragm."])
    findings = "Free air under the right hemidiaphragm. Lungs clear."
    (draft,) = Drafter(model).draft([Report("q", findings)], DraftOptions(num_candidates=2))
    assert draft.impression == "Free air under the right hemidiaphragm."
    assert "drafted_from_findings" not in [w.type for w in draft.warnings]
    # a copied side error over findings with no abnormal sentence: nothing to fall back on
    model = Recorder(["Left pneumothorax."])
    (draft,) = Drafter(model).draft([Report("q", "Lungs clear. No pneumothorax.")])
    assert draft.impression == "Left pneumothorax."
