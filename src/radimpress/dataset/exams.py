"""Which body region an exam is of, so a model is not trusted with a region it never learned.

A hospital's HL7 feed sends every exam it reports, not only chest radiographs. The default
model, trained on chest radiographs, drafted "1. Borderline enlarged heart. 2. Tortuous/ectatic
thoracic aorta. 3. Fracture of the distal right clavicle ..." for a wrist series of a radius
fracture, and "No acute radiographic cardiopulmonary process." for an abdominal series of a
small-bowel obstruction; no check flagged either, since the checks read chest findings. So
training counts the regions of its exams into the model folder (`region_counts`), and drafting
flags a report of a region its model barely saw (`Familiarity`), whose draft then comes from
the report's own findings sentences where safe selection is on.

The region is read from the exam's name alone: the findings of a chest radiograph name the
spine and the upper abdomen too. An exam with no region word ("PORTABLE AP") has none, and is
drafted as always. A site adds its own words (a procedure code, a local abbreviation) to
`REGION_WORDS`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Region -> words or phrases in an exam's name. A longer phrase wins over the words in it:
# "thoracic spine" is the spine, "femoral neck" the lower limb, not the neck.
# fmt: off
REGION_WORDS: dict[str, tuple[str, ...]] = {
    "chest": (
        "chest", "thorax", "thoracic", "cxr", "lung", "lungs", "rib", "ribs", "sternum",
        "pulmonary", "ctpa",
    ),
    "abdomen": (
        "abdomen", "abdominal", "abd", "kub", "pelvis", "pelvic", "renal", "kidney", "kidneys",
        "liver", "bowel", "enterography", "urogram", "pancreas", "cholangiogram", "mrcp",
    ),
    "head": (
        "head", "brain", "skull", "face", "facial", "sinus", "sinuses", "orbit", "orbits",
        "mandible", "temporal bone", "iac",
    ),
    "neck": ("neck", "thyroid", "carotid", "carotids", "larynx"),
    "spine": (
        "spine", "thoracic spine", "cervical", "lumbar", "sacrum", "coccyx", "c-spine",
        "t-spine", "l-spine", "myelogram",
    ),
    "upper limb": (
        "shoulder", "humerus", "elbow", "forearm", "wrist", "hand", "hands", "finger", "fingers",
        "thumb", "scapula", "radius", "ulna", "scaphoid",
    ),
    "lower limb": (
        "hip", "hips", "femur", "femoral neck", "knee", "knees", "tibia", "fibula", "ankle",
        "ankles", "foot", "feet", "toe", "toes", "calcaneus", "leg", "legs",
    ),
    "breast": ("breast", "breasts", "mammogram", "mammography", "mammo"),
}
# fmt: on

# A region is familiar to a model if at least this share of its training exams with a
# region were of it: a few wrists among thousands of chests teach it nothing of wrists.
FAMILIAR_SHARE = 0.01


def _pattern() -> re.Pattern[str]:
    phrases = sorted({p for ps in REGION_WORDS.values() for p in ps}, key=len, reverse=True)
    words = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(rf"(?<![a-z0-9])(?:{words})(?![a-z0-9])")


_PATTERN = _pattern()
_REGION_OF = {p: region for region, ps in REGION_WORDS.items() for p in ps}


def exam_regions(exam: str | None) -> frozenset[str]:
    """The body regions an exam's name names: {"chest"} for "XR CHEST 2 VIEWS", {"chest",
    "abdomen"} for "CT CHEST ABDOMEN PELVIS", none for "PORTABLE AP" or no exam."""
    if not exam:
        return frozenset()
    found = _PATTERN.findall(exam.lower())
    return frozenset(_REGION_OF[" ".join(f.split())] for f in found)


def region_counts(exams: Iterable[str | None]) -> dict[str, int]:
    """How many exams name each region (an exam of two regions counts for both)."""
    counts: Counter[str] = Counter()
    for exam in exams:
        counts.update(exam_regions(exam))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class Familiarity:
    """The regions a model was trained on, from its folder's ``exam_regions`` counts."""

    counts: Mapping[str, int]

    @property
    def familiar(self) -> frozenset[str]:
        total = sum(self.counts.values())
        return frozenset(r for r, n in self.counts.items() if n and n >= FAMILIAR_SHARE * total)

    def unfamiliar(self, exam: str | None) -> frozenset[str]:
        """The regions of this exam the model barely saw; none when its training exams named no
        region (nothing to compare with) or this exam names none."""
        familiar = self.familiar
        return exam_regions(exam) - familiar if familiar else frozenset()

    def describe(self) -> str:
        """ "chest (2,390 training exams)", for warnings."""
        parts = [
            f"{r} ({n:,} training exams)" for r, n in self.counts.items() if r in self.familiar
        ]
        return ", ".join(parts)
