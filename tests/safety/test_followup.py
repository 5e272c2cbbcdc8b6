"""Follow-up recommendations: the Fleischner 2017 table, exclusions, radiographs, site rule files."""

from __future__ import annotations

import textwrap

import pytest

from radimpress.records import InputError
from radimpress.safety.followup import (
    append_recommendations,
    assess,
    gives_follow_up,
    load_rules,
    modality_of,
    recommend,
)
from radimpress.safety.labelled import evaluate_followup, load_followup_labelled

CT = "CT chest with contrast"


def ids(findings, exam=CT, indication=None, age=None, rules=None):
    return [r.rule_id for r in recommend(findings, None, exam, indication, age, rules)]


def test_labelled_fleischner_set_is_all_correct():
    score, rows = evaluate_followup(load_followup_labelled())
    assert score["cases"] >= 100 and score["cells_covered"] >= 18
    assert score["accuracy"] == 1.0, [r for r in rows if not r["correct"]]


@pytest.mark.parametrize(
    ("findings", "indication", "cell"),
    [
        ("4 mm solid nodule.", "Never smoker.", "solid/single/lt6/low"),
        ("4 mm solid nodule.", "Former smoker.", "solid/single/lt6/high"),
        ("0.8 cm nodule in the right upper lobe.", "Never smoker.", "solid/single/6-8/low"),
        ("8 x 6 mm nodule.", "30 pack-years.", "solid/single/6-8/high"),  # mean 7 mm
        ("9 mm nodule.", "Non-smoker.", "solid/single/gt8/low"),
        ("Several solid nodules, the largest 7 mm.", "Smoker.", "solid/multiple/6-8/high"),
        ("6 mm ground-glass nodule.", None, "ground-glass/single/ge6"),
        ("1.2 cm part-solid nodule.", None, "part-solid/single/ge6"),
        ("Several ground-glass nodules up to 4 mm.", None, "subsolid/multiple/lt6"),
    ],
)
def test_table_cells(findings, indication, cell):
    assert ids(findings, indication=indication) == [f"fleischner-2017/{cell}"]


def test_sizes_round_half_up_to_the_band():
    assert ids("5.4 mm nodule.", indication="Never smoker.") == [
        "fleischner-2017/solid/single/lt6/low"
    ]
    assert ids("5.5 mm nodule.", indication="Never smoker.") == [
        "fleischner-2017/solid/single/6-8/low"
    ]
    assert ids("8.5 mm nodule.", indication="Never smoker.") == [
        "fleischner-2017/solid/single/gt8/low"
    ]


def test_unknown_risk_gives_both_rows_in_one_sentence():
    (rec,) = recommend("7 mm nodule in the left lower lobe.", None, CT, "Cough.")
    assert (
        rec.rule_id
        == "fleischner-2017/solid/single/6-8/low | fleischner-2017/solid/single/6-8/high"
    )
    assert "If low risk: CT at 6-12 months" in rec.sentence and "If high risk:" in rec.sentence
    assert rec.follow_up == "required" and rec.guideline == "Fleischner Society 2017"
    assert rec.evidence == {"source": "findings", "start": 5, "end": 11, "text": "nodule"}


def test_open_size_or_type_names_what_is_missing():
    (rec,) = recommend("Sub-centimeter nodule.", None, CT, "Never smoker.")
    assert rec.follow_up == "indeterminate" and "mean diameter" in rec.sentence
    (rec,) = recommend("9 mm subsolid nodule.", None, CT)
    assert "ground-glass or part-solid" in rec.sentence
    # below 6 mm both subsolid rows say the same: no need to ask
    assert ids("4 mm subsolid nodule.") == ["fleischner-2017/ground-glass/single/lt6"]


@pytest.mark.parametrize(
    ("indication", "age", "exam", "excluded"),
    [
        ("Cough.", 30, CT, "under-35"),
        ("History of breast cancer.", None, CT, "known-cancer"),
        ("Renal transplant, fever.", None, CT, "immunocompromised"),
        ("Cough.", None, "Low-dose CT for lung cancer screening", "lung-cancer-screening"),
    ],
)
def test_exclusions(indication, age, exam, excluded):
    result = assess("7 mm nodule.", None, exam, indication, age)
    assert result.recommendations == []
    assert [e["id"] for e in result.excluded] == [excluded]


def test_a_denied_exclusion_does_not_exclude():
    assert ids("7 mm nodule.", indication="Cough. No history of cancer.")


def test_modality_from_the_exam_then_the_text():
    assert modality_of("CT CHEST WO CONTRAST") == "ct"
    assert modality_of("PA and lateral chest, comparison CT from 2012") == "radiograph"
    assert modality_of(None, "Lung windows show a 5 mm nodule.") == "ct"
    assert modality_of(None, "5 mm nodule.") == "radiograph"


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        (
            "9 mm nodule in the left lower lobe, not definitely calcified.",
            ["radiograph-nodule/radiograph/ct"],
        ),
        ("Calcified granuloma in the right upper lobe.", []),
        ("Stable 6 mm nodule, unchanged from the prior study.", []),
        (
            "1.2 cm nodule, larger than on the prior radiograph.",
            ["radiograph-nodule/radiograph/ct"],
        ),
        ("No pulmonary nodules or masses.", []),
        (
            "Nodular opacity in the right upper lobe which could represent focal infiltrate.",
            ["radiograph-nodule/radiograph/follow-up-radiograph"],
        ),
        (
            "Nodule may represent a partially calcified granuloma or a lymph node.",
            ["radiograph-nodule/radiograph/ct"],
        ),
    ],
)
def test_radiograph_nodules(findings, expected):
    assert ids(findings, exam="PA and lateral chest") == expected


def test_impression_is_read_when_the_findings_name_no_nodule():
    (rec,) = recommend("Lungs clear.", "1.5 cm nodule in the left midlung.", "PA and lateral chest")
    assert rec.evidence["source"] == "impression"


def test_append_recommendations_once():
    recs = recommend("9 mm nodule.", None, "Chest radiograph")
    once = append_recommendations("Left lower lobe nodule", recs)
    assert once == "Left lower lobe nodule. Recommend chest CT for further characterization."
    assert append_recommendations(once, recs) == once
    assert gives_follow_up(once, recs[0]) and not gives_follow_up(
        "Left lower lobe nodule.", recs[0]
    )


SITE_TABLE = textwrap.dedent(
    r"""
    id: acr-adrenal-demo
    guideline: Site adrenal rule
    citation: written for this test
    applies_to: {modality: [ct]}
    finding: {name: adrenal nodule, pattern: '\badrenal (?:nodule|mass|lesion)\b', max_size_mm: 100}
    attributes: {}
    sentence: '{recommendation}'
    cells:
      - {id: small, when: {size_mm: [1, 39]}, follow_up: required, recommendation: Adrenal protocol CT in 12 months.}
      - {id: large, when: {size_mm: [40, 100]}, follow_up: required, recommendation: Consider resection.}
    """
)


def test_a_site_adds_a_guideline_without_code(tmp_path):
    path = tmp_path / "adrenal.yaml"
    path.write_text(SITE_TABLE)
    rules = load_rules([path])
    assert {t.id for t in rules} == {"fleischner-2017", "radiograph-nodule", "acr-adrenal-demo"}
    assert ids("2.5 cm left adrenal nodule.", rules=rules) == ["acr-adrenal-demo/small"]
    assert ids("5 cm right adrenal mass.", rules=rules) == ["acr-adrenal-demo/large"]
    # and the lung tables leave an adrenal, thyroid or liver nodule alone
    assert ids("2.5 cm left adrenal nodule. 1 cm thyroid nodule. Hepatic nodule.") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\n", "missing field 'guideline'"),
        ("[1, 2", "not valid YAML"),
        (SITE_TABLE.replace("'\\badrenal", "'(\\badrenal"), "bad regular expression"),
        (
            SITE_TABLE.replace("when: {size_mm: [1, 39]}", "when: {density: low}"),
            "unknown attribute",
        ),
        (
            SITE_TABLE.replace(
                "follow_up: required, recommendation: Consider",
                "follow_up: soon, recommendation: Consider",
            ),
            "follow_up must be",
        ),
    ],
)
def test_bad_rule_files_name_the_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        load_rules([path])
    assert "bad.yaml" in str(err.value)


def test_a_mass_first_seen_on_a_radiograph_gets_a_ct_without_being_called_a_nodule():
    """The sentence is read as part of the impression: 'the pulmonary nodule' for a 3 cm mass
    is a wrong statement a radiologist would have to edit out."""
    (rec,) = recommend("3.2 cm spiculated mass in the right upper lobe.", None, "Chest radiograph")
    assert rec.follow_up == "required" and "chest CT" in rec.sentence
    assert "nodule" not in rec.sentence
