"""Write the labelled Fleischner 2017 set that `radimpress recommend` is scored on.

The expected answers come from a second, separate transcription of the Fleischner
Society 2017 table (MacMahon et al., Radiology 2017;284:228-243, Table 1) written
below as plain Python, not from the YAML rule file the engine reads: a slip in
either transcription shows up as a failing case. Every cell of the table is
covered, each with several phrasings ("8 mm", "0.8 cm", "8 x 6 mm",
"sub-centimeter", "several", "ground-glass", "part-solid"), plus the rounding
boundaries, unknown risk (both rows expected), the guideline's exclusions, and
the radiograph rule (CT for a new nodule, nothing for a calcified or stable one).

Each line: {"id", "findings", "exam", "indication", "age", "expected": [rule ids],
"excluded": exclusion id or null, "note"}.

Run: ``python bench/make_fleischner_set.py`` (rewrites the file; the set is
deterministic, so a re-run changes nothing unless this script changes).
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "radimpress"
    / "data"
    / "followup"
    / "labelled"
    / "fleischner-2017.jsonl"
)
T = "fleischner-2017"

# Table 1, transcribed again: (composition, count, size band, risk) -> cell id.
# Size bands on the mean diameter rounded to the nearest mm: "lt6" <6, "6-8", "gt8" >8
# for solid; "lt6" <6 and "ge6" >=6 for subsolid. Subsolid rows do not depend on risk.
SOLID = {
    ("single", "lt6", "low"): "solid/single/lt6/low",  # No routine follow-up
    ("single", "lt6", "high"): "solid/single/lt6/high",  # Optional CT at 12 months
    ("single", "6-8", "low"): "solid/single/6-8/low",  # CT 6-12 mo, then consider CT 18-24 mo
    ("single", "6-8", "high"): "solid/single/6-8/high",  # CT 6-12 mo, then CT 18-24 mo
    ("single", "gt8", "low"): "solid/single/gt8/low",  # consider CT 3 mo, PET/CT, or sampling
    ("single", "gt8", "high"): "solid/single/gt8/high",  # same as low
    ("multiple", "lt6", "low"): "solid/multiple/lt6/low",  # No routine follow-up
    ("multiple", "lt6", "high"): "solid/multiple/lt6/high",  # Optional CT at 12 months
    ("multiple", "6-8", "low"): "solid/multiple/6-8/low",  # CT 3-6 mo, then consider 18-24 mo
    ("multiple", "6-8", "high"): "solid/multiple/6-8/high",  # CT 3-6 mo, then at 18-24 mo
    ("multiple", "gt8", "low"): "solid/multiple/gt8/low",  # CT 3-6 mo, then consider 18-24 mo
    ("multiple", "gt8", "high"): "solid/multiple/gt8/high",  # CT 3-6 mo, then at 18-24 mo
}
SUBSOLID = {
    ("ground_glass", "single", "lt6"): "ground-glass/single/lt6",  # No routine follow-up
    ("ground_glass", "single", "ge6"): "ground-glass/single/ge6",  # CT 6-12 mo, then q2y to 5 y
    ("part_solid", "single", "lt6"): "part-solid/single/lt6",  # No routine follow-up
    ("part_solid", "single", "ge6"): "part-solid/single/ge6",  # CT 3-6 mo; annual CT for 5 y
    ("ground_glass", "multiple", "lt6"): "subsolid/multiple/lt6",  # CT 3-6 mo; 2 and 4 years
    ("ground_glass", "multiple", "ge6"): "subsolid/multiple/ge6",  # CT 3-6 mo; most suspicious
    ("part_solid", "multiple", "lt6"): "subsolid/multiple/lt6",
    ("part_solid", "multiple", "ge6"): "subsolid/multiple/ge6",
}
RISK_TEXT = {
    "low": ["Cough. Never smoker.", "Chest pain, non-smoker."],
    "high": ["Cough. Former smoker, 40 pack-years.", "Dyspnea; current smoker."],
    None: ["Cough.", "Fall, rib pain."],
}
CT_EXAMS = ["CT chest with contrast", "CT CHEST WO CONTRAST", "CT abdomen and pelvis"]
LOCATIONS = ["right upper lobe", "left lower lobe", "right middle lobe", "lingula"]


def solid_band(mm: float) -> str:
    r = int(mm + 0.5)
    return "lt6" if r < 6 else "6-8" if r <= 8 else "gt8"


def subsolid_band(mm: float) -> str:
    return "lt6" if int(mm + 0.5) < 6 else "ge6"


def ids(cells: list[str]) -> list[str]:
    return [f"{T}/{c}" for c in dict.fromkeys(cells)]


def cases() -> list[dict]:
    out: list[dict] = []
    n = 0

    def add(findings, expected, note, exam=None, indication="Cough.", age=None, excluded=None):
        nonlocal n
        n += 1
        out.append(
            {
                "id": f"fl-{n:03d}",
                "findings": findings,
                "exam": exam or CT_EXAMS[n % len(CT_EXAMS)],
                "indication": indication,
                "age": age,
                "expected": expected,
                "excluded": excluded,
                "note": note,
            }
        )

    # --- A. solid: every cell, each with its size written three ways ---
    single_sizes = {
        "lt6": [(4, "4 mm"), (0.3, "0.3 cm"), (5.4, "5.4 mm")],
        "6-8": [(8, "8 mm"), (0.8, "0.8 cm"), (7, "8 x 6 mm")],
        "gt8": [(12, "12 mm"), (1.5, "1.5 cm"), (9, "10 x 8 mm")],
    }
    for band, variants in single_sizes.items():
        for k, (_, size) in enumerate(variants):
            loc = LOCATIONS[k % len(LOCATIONS)]
            for risk in ("low", "high"):
                text = f"There is a {size} solid nodule in the {loc}. No pleural effusion."
                add(
                    text,
                    ids([SOLID[("single", band, risk)]]),
                    f"solid single {band} {risk}",
                    indication=RISK_TEXT[risk][k % 2],
                )
            # unknown risk: both rows of the table
            add(
                f"A {size} noncalcified nodule is seen in the {loc}.",
                ids([SOLID[("single", band, "low")], SOLID[("single", band, "high")]]),
                f"solid single {band}, risk not stated: both rows",
                indication=RISK_TEXT[None][k % 2],
            )
    multiple = {
        "lt6": [
            "Several solid nodules, the largest 4 mm, in both lungs.",
            "Multiple bilateral pulmonary nodules measuring up to 5 mm.",
        ],
        "6-8": [
            "Several solid nodules are present, the largest measuring 7 mm in the right upper lobe.",
            "Three pulmonary nodules in the left lung, the largest 0.7 cm.",
        ],
        "gt8": [
            "Multiple solid pulmonary nodules, the largest 11 mm in the left lower lobe.",
            "Two nodules: 1.2 cm in the right upper lobe and 4 mm in the lingula.",
        ],
    }
    for band, texts in multiple.items():
        for k, text in enumerate(texts):
            for risk in ("low", "high"):
                add(
                    text,
                    ids([SOLID[("multiple", band, risk)]]),
                    f"solid multiple {band} {risk}",
                    indication=RISK_TEXT[risk][k % 2],
                )
            add(
                text,
                ids([SOLID[("multiple", band, "low")], SOLID[("multiple", band, "high")]]),
                f"solid multiple {band}, risk not stated: both rows",
                indication=RISK_TEXT[None][k % 2],
            )
    # rounding at the band edges (mean of long and short axes, rounded to the nearest mm)
    for size, mm in (
        ("5.5 mm", 5.5),
        ("8.4 mm", 8.4),
        ("8.5 mm", 8.5),
        ("6 x 5 mm", 5.5),
        ("9 x 8 mm", 8.5),
    ):
        add(
            f"Solid nodule in the right lower lobe measuring {size}.",
            ids([SOLID[("single", solid_band(mm), "low")]]),
            f"rounding: {size} -> band {solid_band(mm)}",
            indication=RISK_TEXT["low"][0],
        )

    # --- B. subsolid ---
    gg_words = [
        "ground-glass nodule",
        "ground glass opacity",
        "pure ground-glass nodule",
        "nonsolid nodule",
    ]
    ps_words = [
        "part-solid nodule",
        "part solid nodule",
        "semisolid nodule",
        "nodule with ground-glass and a 3 mm solid component",
    ]
    sub_sizes = {"lt6": ["4 mm", "0.5 cm"], "ge6": ["9 mm", "1.4 cm", "8 x 6 mm"]}
    for comp, words in (("ground_glass", gg_words), ("part_solid", ps_words)):
        for band, sizes in sub_sizes.items():
            for k, size in enumerate(sizes):
                w = words[k % len(words)]
                if w.startswith("nodule with"):
                    text = f"A {size} {w} in the {LOCATIONS[k]}."
                else:
                    text = f"{size} {w} in the {LOCATIONS[k]}."
                for risk in ("low", "high", None):  # subsolid rows do not depend on risk
                    add(
                        text[0].upper() + text[1:],
                        ids([SUBSOLID[(comp, "single", band)]]),
                        f"{comp} single {band} ({risk or 'unknown'} risk)",
                        indication=RISK_TEXT[risk][k % 2],
                    )
    for comp, text_lt6, text_ge6 in (
        (
            "ground_glass",
            "Several ground-glass nodules, the largest 4 mm.",
            "Multiple ground-glass opacities in both upper lobes, the largest 12 mm.",
        ),
        (
            "part_solid",
            "Two part-solid nodules measuring up to 5 mm.",
            "Several part-solid nodules, the largest 1.1 cm in the right upper lobe.",
        ),
    ):
        add(text_lt6, ids([SUBSOLID[(comp, "multiple", "lt6")]]), f"{comp} multiple lt6")
        add(text_ge6, ids([SUBSOLID[(comp, "multiple", "ge6")]]), f"{comp} multiple ge6")
    # "subsolid" leaves ground-glass vs part-solid open: below 6 mm both say the same
    add(
        "4 mm subsolid nodule in the left upper lobe.",
        ids([SUBSOLID[("ground_glass", "single", "lt6")]]),
        "subsolid <6 mm: both types agree",
    )
    add(
        "9 mm subsolid nodule in the left upper lobe.",
        [f"{T}/indeterminate"],
        "subsolid >=6 mm: type needed (ground-glass and part-solid rows differ)",
    )
    # "sub-centimeter" leaves the size band open
    add(
        "Sub-centimeter solid nodule in the right upper lobe.",
        [f"{T}/indeterminate"],
        "sub-centimeter solid: size band needed",
        indication=RISK_TEXT["low"][0],
    )
    add(
        "Several subcentimeter ground-glass nodules.",
        [f"{T}/indeterminate"],
        "several sub-centimeter ground-glass: size band needed",
    )

    # --- exclusions and limits ---
    add("6 mm solid nodule in the right upper lobe.", [], "under 35", age=30, excluded="under-35")
    add(
        "6 mm solid nodule in the right upper lobe.",
        [],
        "under 35 from the indication",
        indication="28-year-old with cough.",
        excluded="under-35",
    )
    add(
        "6 mm solid nodule in the right upper lobe.",
        ids([SOLID[("single", "6-8", "low")], SOLID[("single", "6-8", "high")]]),
        "35 is included",
        age=35,
    )
    add(
        "7 mm solid nodule in the left lower lobe.",
        [],
        "known cancer",
        indication="History of breast cancer, restaging.",
        excluded="known-cancer",
    )
    add(
        "7 mm solid nodule in the left lower lobe.",
        ids([SOLID[("single", "6-8", "low")], SOLID[("single", "6-8", "high")]]),
        "cancer denied is not an exclusion",
        indication="Cough. No history of cancer.",
    )
    add(
        "7 mm solid nodule in the left lower lobe.",
        [],
        "immunocompromised",
        indication="Renal transplant recipient with fever.",
        excluded="immunocompromised",
    )
    add(
        "7 mm solid nodule in the left lower lobe.",
        [],
        "lung cancer screening",
        exam="Low-dose CT chest for lung cancer screening",
        excluded="lung-cancer-screening",
    )
    add("4.2 cm mass in the right upper lobe.", [], "a mass is not a nodule")
    add(
        "A 35 mm nodular lesion in the left upper lobe.",
        [f"{T}/outside"],
        "over 30 mm: outside the table",
    )
    add("No pulmonary nodules.", [], "negated")
    add("Calcified granuloma in the right upper lobe, measuring 5 mm.", [], "calcified: benign")
    add(
        "Stable 6 mm solid nodule in the right upper lobe, unchanged since the prior CT.",
        [],
        "stable on a prior CT: not incidental",
    )
    add(
        "Perifissural nodule measuring 7 mm along the right minor fissure.",
        [],
        "perifissural: benign",
    )

    # --- radiograph: a new nodule gets a CT, whatever its size ---
    xr = "PA and lateral chest radiograph"
    for text in (
        "There is a 9 mm nodule in the left lower lobe, not definitely calcified.",
        "Nodular opacity in the right upper lung zone.",
        "1.5 cm mass in the right hilum.",
    ):
        add(text, ["radiograph-nodule/radiograph/ct"], "radiograph: CT to characterise", exam=xr)
    add(
        "1.6 cm nodular opacity in the right upper lobe which could represent focal infiltrate.",
        ["radiograph-nodule/radiograph/follow-up-radiograph"],
        "radiograph: offered as infection, followed to resolution",
        exam=xr,
    )
    add(
        "1.2 cm nodule in the left upper lobe, larger than on the prior radiograph.",
        ["radiograph-nodule/radiograph/ct"],
        "radiograph: growing since the prior study",
        exam=xr,
    )
    for text, note in (
        ("Calcified granuloma in the left lung base.", "calcified granuloma"),
        ("Stable 8 mm nodule in the right upper lobe, unchanged from prior.", "stable"),
        ("Nipple shadow projects over the left lung base.", "no nodule"),
    ):
        add(text, [], f"radiograph: {note}", exam=xr)
    return out


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rows = cases()
    with OUT.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    print(f"wrote {len(rows)} cases -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
