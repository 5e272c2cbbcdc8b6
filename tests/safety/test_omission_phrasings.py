"""A normal impression over a critical finding, phrased the many ways radiologists write it.

Written by hand from common chest radiograph phrasing (not from the Open-i probe), as
a second tuning set for the omission check; a third (marked below) restates words from a
published radiology synonym list and findings from other projects' examples, and a fourth the
CheXpert labeler's mention phrases and NegBio's hedge cues (as radtext ships them). Every
sentence of ``MUST_BE_NAMED`` states a finding that "No acute cardiopulmonary
abnormality." and every other stock normal impression leave out wrongly;
``MAY_BE_LEFT_OUT`` are findings such an impression may leave out (minor, chronic,
stable or hedged), so a warning there is a false alarm.
"""

from __future__ import annotations

import pytest

from radimpress.safety import SafetyChecker, extract
from radimpress.safety.probe import STOCK_NORMAL

CAUGHT_BY = {"omitted_critical", "contradiction"}

MUST_BE_NAMED = [
    # pneumothorax, pneumoperitoneum
    "There is a small right apical pneumothorax.",
    "Interval development of a moderate left-sided pneumothorax.",
    "Tiny left apical pneumothorax is again seen.",
    "A thin pleural line is seen at the right apex consistent with a small pneumothorax.",
    "Right hydropneumothorax with an air-fluid level.",
    "Left chest tube in place with a small residual pneumothorax.",
    "Anterior pneumothorax on the right.",
    "Free air is seen beneath the right hemidiaphragm.",
    "Lucency under the left hemidiaphragm consistent with pneumoperitoneum.",
    # effusions
    "Moderate left pleural effusion.",
    "Small bilateral pleural effusions are present.",
    "Blunting of the right costophrenic angle, likely small effusion.",
    "Layering right pleural effusion with adjacent atelectasis.",
    "Bilateral effusions, left greater than right.",
    "Meniscus at the left base consistent with pleural fluid.",
    "Loculated left pleural effusion.",
    "Right subpulmonic effusion.",
    # airspace disease
    "Right lower lobe consolidation.",
    "Focal airspace consolidation in the lingula.",
    "Patchy airspace opacity in the left lower lobe concerning for pneumonia.",
    "There is a new right middle lobe infiltrate.",
    "Dense retrocardiac opacity, consistent with left lower lobe pneumonia.",
    "Right basilar airspace opacity, XXXX pneumonia.",
    "Left perihilar consolidation with air bronchograms.",
    "There is an ill-defined opacity in the right midlung.",
    "Hazy opacity in the right lower lobe.",
    "Increased density in the left lower lobe.",
    "Ground-glass opacity in the right lower lobe.",
    "Bilateral lower lobe airspace disease.",
    "Worsening bilateral airspace opacities.",
    "Complete opacification of the left hemithorax.",
    # edema
    "Increased interstitial markings and vascular congestion consistent with pulmonary edema.",
    "Mild interstitial pulmonary edema.",
    "Cardiomegaly with pulmonary edema and small bilateral effusions.",
    # masses, the hilum and mediastinum included
    "There is a 3 cm mass in the right upper lobe.",
    "Spiculated mass in the left lower lobe measuring 2.5 cm.",
    "Large left hilar mass.",
    "Lobulated mediastinal mass.",
    "Mass-like opacity in the right upper lobe.",
    "Right apical mass with rib destruction.",
    "Nodular opacity in the right upper lobe measuring 1.5 cm.",
    # fractures: "new since the prior" compares studies, it does not make a fracture old
    "Acute fracture of the right seventh rib.",
    "Displaced fractures of the left fifth and sixth ribs.",
    "Nondisplaced left clavicle fracture.",
    "There is a compression fracture of a midthoracic vertebral body, new since the prior.",
    "Comminuted fracture of the left scapula.",
    # a collapsed lobe or lung
    "Left upper lobe collapse.",
    "Complete collapse of the left lung.",
    "Lobar atelectasis in the right lower lobe.",
    "Collapsed right upper lobe.",
    # ... even when unchanged: a collapsed lobe is not a finding "no acute" may pass over
    "Unchanged right middle lobe collapse.",
    "Dense opacity at the left base, again consistent with collapse of the left lower lobe.",
    # third set (2026-12-02): words from a published radiology synonym list and from
    # findings phrased by other projects' examples, restated here
    "GGO in the right lower lobe.",
    "Right hemothorax.",
    "Loculated left empyema.",
    "Small right hemopneumothorax.",
    "Pneumomediastinum is present.",
    "Moderate pericardial effusion.",
    "Left upper lobe lung abscess with an air-fluid level.",
    "Deep sulcus sign on the left.",
    "A visceral pleural line is seen at the left apex.",
    # fourth set (2026-12-02): the CheXpert labeler's mention phrases, in sentences
    "Findings consistent with heart failure.",
    "Pulmonary contusion in the right lower lobe.",
    "Right lower lobe density representing pulmonary hemorrhage.",
    "Aeroperitoneum under the right hemidiaphragm.",
]

MAY_BE_LEFT_OUT = [
    "Streaky opacity in the right lower lobe.",
    "Possible fracture of the right sixth rib.",
    "Healed fracture of the right posterior ninth rib.",
    "Old compression deformity of a midthoracic vertebral body, unchanged from the prior.",
    "Subsegmental atelectasis in the left lower lobe.",
    "Plate-like atelectasis at the left base.",
    "Bibasilar atelectasis.",
    "Chronic left lower lobe collapse, unchanged.",
    "Segmental collapse in the lingula.",  # "collapse", but of a segment, not a lobe
    "Calcified granuloma in the right upper lobe.",
    "There is a suggestion of a deep sulcus sign on the right; no definite pleural line.",
    "No visceral pleural line to suggest pneumothorax.",
    "The heart is enlarged, which may reflect cardiomegaly or a pericardial effusion.",
    "A small right pneumothorax cannot be excluded.",  # hedged, as "cannot exclude" is
    "Doubt left lower lobe pneumonia.",
    "Known interstitial lung disease, unchanged.",
]


@pytest.fixture(scope="module")
def checker() -> SafetyChecker:
    return SafetyChecker()


@pytest.mark.parametrize("findings", MUST_BE_NAMED)
def test_every_stock_normal_impression_is_flagged_over_a_critical_finding(checker, findings):
    missed = [
        stock
        for stock in STOCK_NORMAL
        if not CAUGHT_BY & {w.type for w in checker.check(findings, stock)}
    ]
    assert missed == []


@pytest.mark.parametrize("findings", MAY_BE_LEFT_OUT)
def test_no_acute_abnormality_may_leave_out_minor_chronic_or_hedged_findings(checker, findings):
    warnings = checker.check(findings, "No acute cardiopulmonary abnormality.")
    assert not CAUGHT_BY & {w.type for w in warnings}


def test_a_mass_in_the_hilum_is_a_lesion_as_well_as_adenopathy():
    kinds = {m.observation for m in extract("Large left hilar mass.")}
    assert {"Adenopathy", "Lung Lesion"} <= kinds
    assert {m.observation for m in extract("Prominent left hilum.")} == {"Adenopathy"}


def test_a_comparison_with_the_prior_study_does_not_make_a_fracture_old():
    (new,) = extract("Rib fracture, new since the prior study.")
    assert new.acuity != "chronic"
    (old,) = extract("Right rib fracture from prior trauma.")
    assert old.acuity == "chronic"


@pytest.mark.parametrize(
    "text",
    [
        "Pneumothorax cannot be excluded.",
        "Cannot exclude pneumothorax.",
        "Pneumothorax cannot be entirely excluded.",
        "Doubt pneumothorax.",
        "Pneumothorax is doubtful.",
    ],
)
def test_a_hedge_before_or_after_the_finding_makes_it_uncertain(text):
    # "X cannot be excluded" was read as present while "cannot exclude X" was uncertain
    assert [(m.observation, m.polarity) for m in extract(text)] == [("Pneumothorax", "uncertain")]


@pytest.mark.parametrize(
    ("text", "observation"),
    [
        ("Interstitial lung disease.", "Lung Opacity"),
        ("Honeycombing at the lung bases.", "Lung Opacity"),
        ("Coarse reticular pattern in both lungs.", "Lung Opacity"),
        ("Mild pulmonary congestion.", "Edema"),
        ("Mediastinal hematoma.", "Enlarged Cardiomediastinum"),
        ("Aeroperitoneum.", "Pneumoperitoneum"),
    ],
)
def test_chexpert_labeler_mention_phrases_are_extracted(text, observation):
    assert (observation, "present") in [(m.observation, m.polarity) for m in extract(text)]
