"""Sizes as reports write them: one parser for the extractor, the follow-up rules and the
measurement check, so a phrasing one of them understands, all of them do."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from radimpress.safety import check, extract  # noqa: E402
from radimpress.safety.followup import recommend  # noqa: E402
from radimpress.safety.sizes import first_size_mm, size_bands, stated_sizes_mm  # noqa: E402


@pytest.mark.parametrize(
    "text, mm",
    [
        ("an 8 mm nodule", [8.0]),
        ("an 8mm nodule", [8.0]),
        ("an 8-mm nodule", [8.0]),
        ("a 0.8 cm nodule", [8.0]),
        ("a nodule of 8 millimeters", [8.0]),
        ("a 1.5 centimetre mass", [15.0]),
        ("a 2.1 x 1.5 cm mass", [21.0, 15.0]),
        ("a 2.1 × 1.5 cm mass", [21.0, 15.0]),
        ("a 2.1 cm x 1.5 cm mass", [21.0, 15.0]),
        ("a mass measuring 2 by 3 cm", [20.0, 30.0]),
        ("a 2.1 x 1.5 x 1.0 cm mass", [21.0, 15.0, 10.0]),
        ("tip 5-6 centimeters above the carina", [50.0, 60.0]),
        ("no measurement here, 3 views", []),
    ],
)
def test_every_dimension_is_read_in_mm_in_text_order(text, mm):
    assert [s.mm for s in stated_sizes_mm(text)] == mm


@pytest.mark.parametrize(
    "window, band",
    [
        ("nodule < 6 mm", (1, 5)),
        ("nodule less than 6 mm", (1, 5)),
        ("nodules of 6-8 mm", (6, 8)),
        ("nodules of 6 mm to 8 mm", (6, 8)),  # a range whose numbers carry their units
        ("a 12 x 8 mm nodule", (10, 10)),  # the mean of the long and short axes
        ("a 1.2 × 0.8 cm nodule", (10, 10)),
        ("a 9 by 6 mm nodule", (8, 8)),  # 7.5 rounds half up
        ("an 8-mm nodule", (8, 8)),
    ],
)
def test_a_guideline_reads_bounds_ranges_and_the_mean_axis(window, band):
    (b,) = size_bands(window)
    assert (b.low, b.high) == band


def test_the_extractor_sizes_a_lesion_however_its_dimensions_are_joined():
    for text in (
        "A 1.5 × 1.2 cm mass in the right upper lobe.",
        "A 1.5 by 1.2 cm mass in the right upper lobe.",
        "A 15 millimeter mass in the right upper lobe.",
        "A 15-mm mass in the right upper lobe.",
    ):
        (m,) = [m for m in extract(text) if m.observation == "Lung Lesion"]
        assert m.size_mm == 15.0, text
    assert first_size_mm("no size given") is None


def test_a_centimetre_opacity_written_with_a_times_sign_must_be_named():
    """The omission rule's 'an opacity of 1 cm or more is a lesion' once missed '×' and 'by'."""
    normal = "No acute cardiopulmonary abnormality."
    for size in ("1.5 × 1.2 cm", "1.5 by 1.2 cm", "15 millimeter"):
        findings = f"There is a {size} opacity in the right upper lobe. Lungs otherwise clear."
        assert "omitted_critical" in {w.type for w in check(findings, normal)}, size
    small = "There is a 5 × 4 mm opacity in the right upper lobe. Lungs otherwise clear."
    assert "omitted_critical" not in {w.type for w in check(small, normal)}


def test_a_hyphenated_size_copied_from_another_report_is_flagged():
    findings = "6 mm nodule in the left lower lobe."
    types = {w.type for w in check(findings, "8-mm left lower lobe nodule.")}
    assert "measurement_mismatch" in types
    assert "measurement_mismatch" not in {
        w.type for w in check(findings, "6-mm left lower lobe nodule.")
    }


def test_follow_up_reads_a_size_joined_by_a_times_sign_or_by():
    """A 7 mm solid nodule on CT in a low-risk patient: CT at 6-12 months (Fleischner 2017)."""
    cells = set()
    for size in ("7 × 7 mm", "7 by 7 mm", "7-mm"):
        (rec,) = recommend(
            f"A {size} solid nodule in the right upper lobe.", None, "CT chest", "low risk", 60
        )
        cells.add(rec.rule_id)
    assert cells == {"fleischner-2017/solid/single/6-8/low"}
