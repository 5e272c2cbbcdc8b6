"""Rule-based clinical-label metrics, checked against counts worked out by hand."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import medspacy  # noqa: E402,F401  (a test dependency: fail, never skip, without it)

from radimpress.evaluate.clinical import (  # noqa: E402
    METRIC_NAME,
    label_metrics,
    positive_findings,
    reference_groups,
    warning_rates,
)
from radimpress.safety.extractor import extract_many  # noqa: E402


def test_label_f1_hand_computed():
    refs = [
        "Right pleural effusion. Cardiomegaly.",
        "No acute cardiopulmonary abnormality.",
        "Pneumothorax.",
    ]
    preds = ["Right pleural effusion.", "No acute disease.", "No pneumothorax."]
    r = label_metrics(refs, preds)
    po = r["per_observation"]
    # report 1: effusion TP, cardiomegaly FN; report 2: No Finding TP;
    # report 3: pneumothorax FN, prediction has nothing positive -> No Finding FP
    assert (
        po["Pleural Effusion"]["tp"],
        po["Pleural Effusion"]["fp"],
        po["Pleural Effusion"]["fn"],
    ) == (1, 0, 0)
    assert po["Cardiomegaly"]["fn"] == 1 and po["Cardiomegaly"]["f1"] == 0.0
    assert po["Pneumothorax"]["fn"] == 1 and po["Pneumothorax"]["f1"] == 0.0
    assert (po["No Finding"]["tp"], po["No Finding"]["fp"]) == (1, 1)
    assert po["No Finding"]["f1"] == pytest.approx(2 / 3)
    # micro: TP 2, FP 1, FN 2 -> 4 / 7
    assert r["micro_f1"] == pytest.approx(4 / 7)
    # macro over the 4 observations anybody mentioned: (1 + 0 + 0 + 2/3) / 4
    assert r["macro_f1"] == pytest.approx((1 + 0 + 0 + 2 / 3) / 4)
    assert po["Edema"]["f1"] is None
    assert r["per_report_f1"] == pytest.approx([2 / 3, 1.0, 0.0])
    assert "not CheXbert" in r["name"] == METRIC_NAME


def test_uncertain_policies():
    refs, preds = ["Pneumonia."], ["Possible pneumonia."]
    assert label_metrics(refs, preds)["per_observation"]["Pneumonia"]["fn"] == 1
    assert (
        label_metrics(refs, preds, uncertain="present")["per_observation"]["Pneumonia"]["tp"] == 1
    )
    sep = label_metrics(refs, preds, uncertain="separate")["per_observation"]
    assert sep["Pneumonia"]["fn"] == 1 and sep["Pneumonia (uncertain)"]["fp"] == 1
    with pytest.raises(ValueError):
        label_metrics(refs, preds, uncertain="maybe")
    with pytest.raises(ValueError):
        label_metrics(refs, [], uncertain="present")


def test_warning_rates():
    r = warning_rates(
        ["Right pneumothorax.", "Lungs are clear."], ["Left pneumothorax.", "No acute disease."]
    )
    assert r["rates"]["laterality_mismatch"] == 0.5
    assert r["rates"]["contradiction"] == 0.0 and r["rates"]["any"] == 0.5


def test_clinical_scorer_plugs_into_evaluate_systems():
    import radimpress.evaluate.scoring as evaluate
    from radimpress.evaluate.clinical import ClinicalScorer
    from radimpress.records import Report

    refs = [
        Report(
            id="1", findings="Small right pneumothorax.", impression="Small right pneumothorax."
        ),
        Report(id="2", findings="Lungs are clear.", impression="No acute disease."),
    ]
    systems = {
        "good": {"1": "Small right pneumothorax.", "2": "No acute disease."},
        "flipped": {"1": "Small left pneumothorax.", "2": "No acute disease."},
    }
    result = evaluate.evaluate_systems(
        refs, systems, bootstrap=50, extra_scorers=[ClinicalScorer()]
    )
    assert result.aggregates["good"]["label_micro_f1"] == pytest.approx(100.0)
    assert result.aggregates["good"]["warn_laterality_mismatch"] == 0.0
    assert result.aggregates["flipped"]["warn_laterality_mismatch"] == 0.5
    assert list(result.scores["flipped"]["warn_laterality_mismatch"]) == [1.0, 0.0]


def test_references_are_abnormal_only_when_they_assert_a_finding():
    """The normal/abnormal breakdown of every table: negations, devices and an empty
    impression are 'normal'; a finding stated or suspected is 'abnormal'."""
    refs = [
        "No acute cardiopulmonary abnormality.",
        "Cardiomegaly. No acute disease.",
        "No pneumothorax or pleural effusion.",
        "Right PICC tip in the SVC.",
        "Possible left lower lobe pneumonia.",
        None,
        "Mild cardiomegaly. Right pleural effusion.",
    ]
    assert reference_groups(refs) == [
        "normal", "abnormal", "normal", "normal", "abnormal", "normal", "abnormal"
    ]  # fmt: skip
    found = [positive_findings(m) for m in extract_many(refs)]
    assert found[4] == {"Pneumonia"} and found[6] == {"Cardiomegaly", "Pleural Effusion"}
    assert found[3] == frozenset()  # a device alone
