"""Body regions of exams: what a model was trained on, so another region's report is flagged."""

from __future__ import annotations

import pytest

from radimpress.dataset.exams import Familiarity, exam_regions, region_counts


@pytest.mark.parametrize(
    ("exam", "regions"),
    [
        ("Xray Chest PA and Lateral", {"chest"}),
        ("PA and lateral chest x-XXXX dated XXXX", {"chest"}),
        ("CT CHEST ABDOMEN PELVIS WITH CONTRAST", {"chest", "abdomen"}),
        ("CTPA", {"chest"}),
        ("RIGHT WRIST 3 VIEWS", {"upper limb"}),
        ("ABDOMEN 2 VIEWS", {"abdomen"}),
        ("KUB", {"abdomen"}),
        ("CT HEAD WITHOUT CONTRAST", {"head"}),
        # a longer phrase wins over the words in it
        ("THORACIC SPINE 2 VIEWS", {"spine"}),
        ("XR C-SPINE", {"spine"}),
        ("LEFT HIP AND FEMORAL NECK", {"lower limb"}),
        ("Soft  tissue NECK", {"neck"}),
        ("CHEST 2V FRONTAL/LATERAL ; Three-view right foot.", {"chest", "lower limb"}),
        # no region word, or none inside another word ("handheld", "chesterfield")
        ("PORTABLE AP", set()),
        ("Handheld portable, Chesterfield site", set()),
        ("", set()),
        (None, set()),
    ],
)
def test_exam_regions(exam, regions):
    assert exam_regions(exam) == regions


def test_a_region_a_model_barely_saw_is_unfamiliar():
    """Three wrists among 400 chest radiographs teach a model nothing of wrists."""
    counts = region_counts(["CHEST PA AND LATERAL"] * 400 + ["RIGHT WRIST"] * 3 + ["PORTABLE"])
    assert counts == {"chest": 400, "upper limb": 3}
    known = Familiarity(counts)
    assert known.familiar == {"chest"}
    assert known.unfamiliar("LEFT WRIST 3 VIEWS") == {"upper limb"}
    assert known.unfamiliar("CHEST AND RIGHT FOOT") == {"lower limb"}
    assert known.unfamiliar("CXR") == set()
    assert known.unfamiliar("PORTABLE AP") == set()  # no region named: drafted as always
    assert "chest (400 training exams)" in known.describe()
    # training exams that named no region give nothing to compare with
    assert Familiarity(region_counts(["PORTABLE AP"] * 10)).unfamiliar("RIGHT WRIST") == set()
