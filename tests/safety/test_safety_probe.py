"""The error-injection probe: deterministic halves and perturbations that are errors by construction."""

from __future__ import annotations

from collections import Counter

import pytest

from radimpress.safety.probe import (
    SPLITS,
    build_cases,
    critical_headings,
    flip_sides,
    lobe_swapped,
    negate_sentence,
    score,
    sentences,
    split_of,
)


def test_halves_depend_on_the_uid_only_and_are_balanced():
    assert split_of("1234") == split_of("1234")
    counts = Counter(split_of(str(u)) for u in range(2000))
    assert set(counts) == set(SPLITS)
    assert 850 < counts["tune"] < 1150


def test_flip_sides_keeps_case():
    assert (
        flip_sides("Left effusion, RIGHT apex, right base.")
        == "Right effusion, LEFT apex, left base."
    )


@pytest.mark.parametrize(
    ("sentence", "negated"),
    [
        ("There is a small right effusion.", "There is no right effusion."),
        ("The heart is enlarged.", "The heart is not enlarged."),
        ("Right lower lobe pneumonia.", "No right lower lobe pneumonia."),
        ("2. Large left pleural effusion.", "2. No left pleural effusion."),
    ],
)
def test_negation_templates_drop_size_words(sentence, negated):
    assert negate_sentence(sentence) == negated


def test_critical_needs_the_index_term_and_a_definite_statement():
    assert critical_headings("Pneumothorax/right", "Small right pneumothorax.") == ["Pneumothorax"]
    assert critical_headings("Pneumothorax/right", "No pneumothorax.") == []
    assert critical_headings("Pneumonia", "Opacity may represent pneumonia.") == []
    # an old fracture is not critical
    assert critical_headings("Fractures, Bone/ribs", "Old healed right rib fractures.") == []
    assert critical_headings("Cardiomegaly", "Cardiomegaly.") == []


ROWS = [
    {
        "uid": "1",
        "MeSH": "Pleural Effusion/right/small",
        "findings": "Small right pleural effusion. No pneumothorax.",
        "impression": "Small right pleural effusion.",
    },
    {
        "uid": "2",
        "MeSH": "normal",
        "findings": "Lungs clear. No pneumothorax or large pleural effusion.",
        "impression": "No acute disease.",
    },
]


def test_build_cases_makes_each_kind_where_the_report_allows():
    cases = {(c.uid, c.kind): c for c in build_cases(ROWS)}
    assert cases[("1", "side_swap")].impression == "Small left pleural effusion."
    assert cases[("1", "critical_omitted")].impression.startswith(("No acute", "Normal"))
    assert cases[("1", "negation_flip")].impression == "No right pleural effusion."
    # "no pneumothorax" denies a pneumothorax; "no large effusion" does not deny a small one
    added = cases[("2", "denied_added")].impression
    assert added.endswith("Small right pneumothorax.")
    assert ("2", "side_swap") not in cases and ("2", "critical_omitted") not in cases


@pytest.mark.parametrize(
    "impression, findings, swapped",
    [
        (
            "Right upper lobe pneumonia.",
            "Right upper lobe consolidation.",
            "Right lower lobe pneumonia.",
        ),
        ("left Lower lobe nodule.", "Nodule in the left lower lobe.", "left Upper lobe nodule."),
        # the swapped lobe is in the findings too: no error the findings could show
        ("Right upper lobe pneumonia.", "Right upper and right lower lobe opacities.", None),
        ("Right upper lobe pneumonia.", "Right upper lobe and right lower lobe opacity.", None),
        # the impression's lobe is not in the findings: nothing to swap against
        ("Right upper lobe pneumonia.", "Right apical opacity.", None),
        ("Right middle lobe pneumonia.", "Right middle lobe opacity.", None),
    ],
)
def test_lobe_swap_only_where_the_findings_can_show_it(impression, findings, swapped):
    assert lobe_swapped(impression, findings) == swapped


def test_score_counts_only_cases_that_were_run():
    cases = build_cases(ROWS)
    for c in cases:
        c.caught = c.kind != "negation_flip"
    s = score(cases)
    split = cases[0].split
    assert s[split]["side_swap"]["recall"] == 1.0
    assert s[split]["negation_flip"] == {"cases": 1, "caught": 0, "recall": 0.0}


def test_sentences_keep_numbers_with_a_decimal_point_whole():
    text = "Nodule 3.5 cm in the left lung. No effusion.  Heart 1.2 x 0.8 cm"
    assert [s for _, s in sentences(text)] == [
        "Nodule 3.5 cm in the left lung.",
        " No effusion.",
        "  Heart 1.2 x 0.8 cm",
    ]
    assert [start for start, _ in sentences(text)] == [0, 31, 44]
