"""The finding extractor and the safety checks, on sentences written for these tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import medspacy  # noqa: E402,F401  (a test dependency: fail, never skip, without it)

from radimpress.records import InputError  # noqa: E402
from radimpress.safety import SafetyChecker, check, extract, select_safe  # noqa: E402
from radimpress.safety.checks import CriticalRule  # noqa: E402
from radimpress.safety.labelled import evaluate_labelled, load_labelled  # noqa: E402


def one(text: str, observation: str):
    found = [m for m in extract(text) if m.observation == observation]
    assert found, f"no {observation} in {text!r}: {extract(text)}"
    return found[0]


# --- extractor: polarity -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "No pneumothorax.",
        "There is no evidence of pneumothorax.",
        "Lungs are expanded without pneumothorax.",
        "Negative for pneumothorax.",
        "The chest is free of pneumothorax.",
        "The pleural spaces are clear of pneumothorax.",
        "Previously seen right pneumothorax has resolved.",
        "Pneumothorax is no longer seen.",
    ],
)
def test_negations_make_the_finding_absent(text):
    assert one(text, "Pneumothorax").polarity == "absent"


@pytest.mark.parametrize(
    "text",
    [
        "Cannot exclude pneumonia.",
        "Right basilar opacity, pneumonia not excluded.",
        "Findings may represent pneumonia.",
        "Possible early pneumonia.",
        "Atelectasis versus pneumonia.",
    ],
)
def test_hedges_make_the_finding_uncertain(text):
    assert one(text, "Pneumonia").polarity == "uncertain"


def test_negation_stops_at_but_and_at_the_sentence_end():
    ms = extract("No pneumothorax, but there is a small left effusion. Atelectasis.")
    pol = {m.observation: m.polarity for m in ms}
    assert pol == {
        "Pneumothorax": "absent",
        "Pleural Effusion": "present",
        "Atelectasis": "present",
    }


def test_no_change_is_not_a_negation():
    m = one("No change in the small left pleural effusion.", "Pleural Effusion")
    assert m.polarity == "present" and m.change == "stable"


def test_normal_phrases_negate_their_organ():
    ms = extract("Heart size is normal. The lungs are clear.")
    pol = {(m.observation, m.polarity) for m in ms}
    assert ("Cardiomegaly", "absent") in pol
    assert ("Pneumonia", "absent") in pol and ("Consolidation", "absent") in pol


# --- extractor: laterality, change, size, devices ---------------------------------------


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("Left pleural effusion.", "left"),
        ("L pleural effusion.", "left"),
        ("Left-sided pleural effusion.", "left"),
        ("Pleural effusion on the right.", "right"),
        ("Right-sided pleural effusion.", "right"),
        ("Bilateral pleural effusions.", "bilateral"),
        ("Pleural effusions on both sides.", "bilateral"),
        ("Left and right pleural effusions.", "bilateral"),
        ("Pleural effusion.", None),
    ],
)
def test_laterality_spellings(text, side):
    assert one(text, "Pleural Effusion").laterality == side


def test_each_finding_keeps_its_own_side():
    ms = {m.observation: m for m in extract("Right pleural effusion and left pneumothorax.")}
    assert ms["Pleural Effusion"].laterality == "right"
    assert ms["Pneumothorax"].laterality == "left"


def test_cardiac_chamber_is_not_a_side():
    m = one("Central venous catheter with tip in the right atrium.", "Support Devices")
    assert m.laterality is None


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("New right lower lobe consolidation.", "new"),
        ("Interval increase in the left pleural effusion.", "worse"),
        ("Left pleural effusion has decreased.", "improved"),
        ("Stable left pleural effusion.", "stable"),
        ("Left upper lobe mass, new since prior.", "new"),
        ("Near-complete resolution of the left effusion.", "improved"),
    ],
)
def test_change(text, change):
    assert extract(text)[0].change == change


def test_nodule_size_and_followup():
    m = one("8 mm nodule in the left upper lobe; CT follow-up recommended.", "Lung Lesion")
    assert m.size_mm == 8.0 and m.followup and m.laterality == "left"
    assert one("A 1.2 cm mass.", "Lung Lesion").size_mm == 12.0


def test_device_position():
    malpositioned = one("Endotracheal tube tip in the right mainstem bronchus.", "Support Devices")
    assert malpositioned.device == "airway tube" and malpositioned.position == "malpositioned"
    good = one("Endotracheal tube in satisfactory position.", "Support Devices")
    assert good.position == "standard"
    # the second device's position is not the first one's
    ms = [
        m
        for m in extract("ET tube in good position and enteric tube coiled in the esophagus.")
        if m.observation == "Support Devices"
    ]
    assert [(m.device, m.position) for m in ms] == [
        ("airway tube", "standard"),
        ("enteric tube", "malpositioned"),
    ]


def test_fracture_acuity():
    assert one("Old healed left rib fractures.", "Fracture").acuity == "chronic"
    assert one("Acute displaced right clavicle fracture.", "Fracture").acuity == "acute"


# --- checks ------------------------------------------------------------------------------

FINDINGS = "Heart size is normal. Small right pneumothorax. No pleural effusion."


def types(findings: str, impression: str) -> list[str]:
    return sorted({w.type for w in check(findings, impression)})


def test_correct_impression_has_no_warning():
    assert types(FINDINGS, "Small right pneumothorax.") == []


def test_contradiction_fires_both_ways():
    assert "contradiction" in types(FINDINGS, "No pneumothorax.")
    assert types(FINDINGS, "Small right pneumothorax and small pleural effusion.") == [
        "contradiction"
    ]
    assert types("Lungs are clear. No effusion.", "No acute disease.") == []


def test_laterality_mismatch_fires_and_not_for_a_subset():
    assert types(FINDINGS, "Small left pneumothorax.") == ["laterality_mismatch"]
    assert types("Bilateral pleural effusions.", "Left pleural effusion.") == []
    assert types("Right pleural effusion.", "Bilateral pleural effusions.") == [
        "laterality_mismatch"
    ]


def test_omitted_critical_fires_and_respects_the_list():
    assert types(FINDINGS, "No acute cardiopulmonary abnormality.") == ["omitted_critical"]
    # a small stable effusion is not on the critical list
    assert (
        types("Stable small left pleural effusion.", "No acute cardiopulmonary abnormality.") == []
    )
    # but a site can make any effusion critical
    rules = [CriticalRule("Pleural Effusion")]
    ws = check(
        "Stable small left pleural effusion.",
        "No acute cardiopulmonary abnormality.",
        critical=rules,
    )
    assert [w.type for w in ws] == ["omitted_critical"]


def test_malpositioned_tube_must_be_reported():
    f = "Endotracheal tube tip in the right mainstem bronchus. Lungs are clear."
    assert types(f, "Lungs are clear.") == ["omitted_critical"]
    assert types(f, "Endotracheal tube in the right mainstem bronchus; recommend withdrawal.") == []
    assert types(f, "Endotracheal tube in good position.") == ["contradiction", "omitted_critical"]


def test_unsupported_finding():
    assert types("Heart size is normal. No effusion.", "Right upper lobe nodule.") == [
        "unsupported_finding"
    ]
    # an interpretation of what the findings describe is supported
    assert types("New right lower lobe consolidation.", "Right lower lobe pneumonia.") == []


def test_old_fracture_is_not_denied_by_no_acute_fracture():
    assert types("Old healed right rib fractures. Lungs clear.", "No acute fracture.") == []


def test_warning_carries_evidence_spans_in_both_texts():
    f, i = FINDINGS, "Small left pneumothorax."
    (w,) = check(f, i)
    assert w.severity == "high"
    fs, is_ = w.findings_spans[0], w.impression_spans[0]
    assert f[fs["start"] : fs["end"]] == fs["text"] == "pneumothorax"
    assert i[is_["start"] : is_["end"]] == "pneumothorax"
    assert set(w.to_dict()) >= {"type", "severity", "message", "findings_spans", "impression_spans"}


def test_checks_can_be_chosen_by_name():
    checker = SafetyChecker(checks=["unsupported_finding"])
    assert checker.check(FINDINGS, "Small left pneumothorax.") == []
    with pytest.raises(ValueError, match="unknown safety check"):
        SafetyChecker(checks=["spelling"])


def test_select_safe_prefers_the_best_ranked_safe_candidate():
    cands = [
        "Small left pneumothorax.",
        "No acute disease.",
        "Small right pneumothorax.",
        "Right pneumothorax.",
    ]
    idx, per = select_safe(FINDINGS, cands)
    assert idx == 2
    assert len(per) == 4 and per[2] == [] and per[0]


def test_select_safe_without_a_safe_candidate_picks_the_least_bad():
    cands = ["Left pneumothorax. Left effusion.", "Left pneumothorax."]
    idx, per = select_safe(FINDINGS, cands)
    assert idx == 1 and all(per)
    assert select_safe(FINDINGS, []) == (-1, [])


def test_labelled_set_meets_the_issue_targets():
    """Regression guard: dev + held-out together, per case and type."""
    cases = load_labelled("dev") + load_labelled("heldout")
    score, _ = evaluate_labelled(cases)
    pt = score["per_type"]
    for t in ("contradiction", "laterality_mismatch", "omitted_critical"):
        assert pt[t]["recall"] >= 0.95, (t, pt[t])
    for t, v in pt.items():
        assert v["precision"] >= 0.9, (t, v)
    assert score["false_alarm_rate"] <= 0.05


def test_both_sentence_splitters_give_the_same_mentions(monkeypatch):
    from radimpress.safety import extractor

    text = "Small left pleural effusion. No pneumothorax. Heart size normal."
    seen = {}
    try:
        for splitter in ("pyrush", "punctuation"):
            monkeypatch.setenv("RADIMPRESS_SENTENCE_SPLITTER", splitter)
            extractor.build_pipeline.cache_clear()
            seen[splitter] = [
                (m.observation, m.polarity, m.laterality) for m in extractor.extract(text)
            ]
        assert seen["pyrush"] == seen["punctuation"]
        assert ("Pleural Effusion", "present", "left") in seen["punctuation"]
        monkeypatch.setenv("RADIMPRESS_SENTENCE_SPLITTER", "nltk")
        extractor.build_pipeline.cache_clear()
        with pytest.raises(InputError, match="RADIMPRESS_SENTENCE_SPLITTER"):
            extractor.extract(text)
    finally:
        monkeypatch.delenv("RADIMPRESS_SENTENCE_SPLITTER")
        extractor.build_pipeline.cache_clear()
