"""The hybrid's extractive candidates: the report's own abnormal sentences as impressions."""

from __future__ import annotations

import pytest

from radimpress.models.extractive import extractive_candidates


@pytest.mark.parametrize(
    "sentence",
    [
        "Free air under the right hemidiaphragm.",
        "Right PICC line with tip in the SVC.",
        "Collapse of the left lower lobe.",
        "Rightward mediastinal shift.",
        "Pleural plaques along both hemithoraces.",
    ],
)
def test_a_rare_finding_the_impression_must_carry_is_offered_as_one(sentence):
    """Without it the pool held only normal impressions for a report with free air."""
    texts = [
        t for t, *_ in extractive_candidates(f"{sentence} Lungs are clear.", ["No acute disease."])
    ]
    assert sentence in texts
    assert f"{sentence} No acute disease." in texts


def test_negated_findings_offer_nothing():
    assert extractive_candidates("No free air. No mediastinal shift. Lungs are clear.", []) == []


def test_a_semicolon_keeps_the_advice_with_its_finding():
    findings = (
        "Right PICC terminates in the right atrium; recommend withdrawal by 2 cm. Lungs clear."
    )
    texts = [t for t, *_ in extractive_candidates(findings, [])]
    assert texts[0] == "Right PICC terminates in the right atrium; recommend withdrawal by 2 cm."


@pytest.mark.parametrize(
    ("findings", "first"),
    [
        (
            "LUNGS AND AIRWAYS: There is a 1.4 cm spiculated nodule in the right upper lobe.",
            "1.4 cm spiculated nodule in the right upper lobe.",
        ),
        ("Bones/soft tissues: Acute left 5th rib fracture.", "Acute left 5th rib fracture."),
        # not an organ: the heading carries the finding or its side
        ("RIGHT LOWER LOBE: Dense consolidation.", "RIGHT LOWER LOBE: Dense consolidation."),
        ("Right: small pleural effusion.", "Right: small pleural effusion."),
    ],
)
def test_a_structured_reports_organ_heading_is_not_part_of_the_impression(findings, first):
    """The default drafted 'LUNGS AND AIRWAYS: There is a 1.4 cm ...' from a CT template."""
    assert extractive_candidates(findings, [])[0][0] == first


@pytest.mark.parametrize(
    ("normal", "stitched"),
    [
        ("No acute cardiopulmonary abnormality.", True),
        ("Negative acute cardiopulmonary abnormality.", True),
        ("1. No acute cardiopulmonary process.", True),
        # read as normal for the "normal" in "abnormal", and a second item of another report
        ("1. No acute pulmonary abnormality. 2. Abnormal appearance of the mediastinum.", False),
        ("Abnormal appearance of the mediastinum as discussed below.", False),
        (
            "1. Left PICC tip at cavoatrial junction. 2. No acute cardiopulmonary abnormality.",
            False,
        ),
    ],
)
def test_only_a_one_item_normal_impression_follows_the_findings_sentences(normal, stitched):
    """The default drafted 'Right hilar enlargement. 1. No acute pulmonary abnormality. 2.
    Abnormal appearance of the mediastinum as discussed below.'"""
    texts = [t for t, *_ in extractive_candidates("Right hilar enlargement.", [normal])]
    assert (f"Right hilar enlargement. {normal.removeprefix('1. ')}" in texts) is stitched
