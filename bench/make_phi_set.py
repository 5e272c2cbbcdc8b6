"""Write the labelled synthetic PHI set used to measure `radimpress scrub`.

Every identifier in these reports is invented and planted by this script,
so the exact character span of each one is known. Two halves are written
from *separate* template and value pools:

- ``heldout.jsonl`` was written (and committed) before the scrubbing rules,
  and the rules were never tuned on it: it estimates recall on report
  phrasings the rules' author did not look at while tuning.
- ``dev.jsonl`` is the half the rules were tuned on.

Each line: {"id", "half", "text", "spans": [{"type", "start", "end"}],
"keep": [{"term", "start", "end"}]} where ``keep`` marks clinical eponyms
and other look-alike words that must survive scrubbing.

Run: ``python bench/make_phi_set.py`` (refuses to overwrite the held-out
half unless ``--force-heldout``; the held-out text must not drift).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "src" / "radimpress" / "data" / "phi"

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


class Builder:
    """Concatenate text pieces while recording labelled spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.spans: list[dict] = []
        self.keep: list[dict] = []

    def add(self, text: str, label: str | None = None, keep: bool = False) -> None:
        if label:
            self.spans.append({"type": label, "start": self.pos, "end": self.pos + len(text)})
        if keep:
            self.keep.append({"term": text, "start": self.pos, "end": self.pos + len(text)})
        self.parts.append(text)
        self.pos += len(text)

    def text(self) -> str:
        return "".join(self.parts)


def fill(b: Builder, template: str, values: dict) -> None:
    """Fill ``{SLOT}`` markers; a slot value is a list of (text, label) pieces.

    ``[[word]]`` marks a clinical word that must survive.
    """
    i = 0
    while i < len(template):
        if template.startswith("{", i):
            j = template.index("}", i)
            slot = template[i + 1 : j]
            for text, label in values[slot]():
                b.add(text, label)
            i = j + 1
        elif template.startswith("[[", i):
            j = template.index("]]", i)
            b.add(template[i + 2 : j], keep=True)
            i = j + 2
        else:
            j = min(
                [k for k in (template.find("{", i), template.find("[[", i)) if k >= 0]
                or [len(template)]
            )
            b.add(template[i:j])
            i = j


# ---------------------------------------------------------------------------
# value generators, parameterised by pools so the halves differ
# ---------------------------------------------------------------------------


class Values:
    def __init__(self, rng: random.Random, pools: dict) -> None:
        self.rng = rng
        self.p = pools

    def pick(self, key: str):
        return self.rng.choice(self.p[key])

    # names -----------------------------------------------------------------
    def person(self, forms: str = "any") -> list[tuple[str, str | None]]:
        first, last = self.pick("first"), self.pick("last")
        mid = self.rng.choice("ABCDEFGHJKLMNPRSTW")
        form = self.rng.choice(self.p["name_forms"]) if forms == "any" else forms
        if form == "first last":
            return [(f"{first} {last}", "NAME")]
        if form == "f. last":
            return [(f"{first[0]}. {last}", "NAME")]
        if form == "first m. last":
            return [(f"{first} {mid}. {last}", "NAME")]
        if form == "last, first":
            return [(f"{last}, {first}", "NAME")]
        if form == "LAST, FIRST":
            return [(f"{last.upper()}, {first.upper()}", "NAME")]
        if form == "LAST, FIRST M":
            return [(f"{last.upper()}, {first.upper()} {mid}", "NAME")]
        if form == "last^first":
            return [(f"{last}^{first}", "NAME")]
        if form == "last":
            return [(last, "NAME")]
        raise ValueError(form)

    def doctor_surname(self):
        return [(self.pick("last"), "NAME")]

    def clinician(self):
        """A name followed by a credential (credential is not PHI)."""
        name = self.person(self.rng.choice(["first last", "f. last", "first m. last"]))
        cred = self.pick("credentials")
        return name + [(cred, None)]

    # dates -----------------------------------------------------------------
    def date(self) -> list[tuple[str, str | None]]:
        y = self.rng.randint(1931, 2024)
        m = self.rng.randint(1, 12)
        d = self.rng.randint(1, 28)
        fmt = self.pick("date_formats")
        mon = MONTHS[m - 1]
        text = {
            "mm/dd/yyyy": f"{m:02d}/{d:02d}/{y}",
            "m/d/yyyy": f"{m}/{d}/{y}",
            "m/d/yy": f"{m}/{d}/{y % 100:02d}",
            "yyyy-mm-dd": f"{y}-{m:02d}-{d:02d}",
            "dd.mm.yyyy": f"{d:02d}.{m:02d}.{y}",
            "dd-Mon-yyyy": f"{d:02d}-{mon[:3]}-{y}",
            "Month d, yyyy": f"{mon} {d}, {y}",
            "Mon d yyyy": f"{mon[:3]} {d} {y}",
            "Mon. dth, yyyy": f"{mon[:3]}. {d}{self._th(d)}, {y}",
            "d Month yyyy": f"{d} {mon} {y}",
            "yyyymmdd": f"{y}{m:02d}{d:02d}",
            "Month yyyy": f"{mon} {y}",
            "mm-dd-yyyy": f"{m:02d}-{d:02d}-{y}",
            "the dth of Month": f"the {d}{self._th(d)} of {mon}",
            "Month dth": f"{mon} {d}{self._th(d)}",
            "m/d": f"{m}/{d}",
            "yyyy/mm/dd": f"{y}/{m:02d}/{d:02d}",
            "DD-MON-YY": f"{d:02d}-{mon[:3].upper()}-{y % 100:02d}",
        }[fmt]
        return [(text, "DATE")]

    @staticmethod
    def _th(d: int) -> str:
        return "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")

    # ages ------------------------------------------------------------------
    def old_age(self):
        a = str(self.rng.randint(90, 104))
        form = self.pick("age_forms")
        if form == "N-year-old":
            return [(a, "AGE"), ("-year-old", None)]
        if form == "N yo":
            return [(a, "AGE"), (" yo", None)]
        if form == "N y/o":
            return [(a, "AGE"), (" y/o", None)]
        if form == "age N":
            return [("age ", None), (a, "AGE")]
        if form == "aged N":
            return [("aged ", None), (a, "AGE")]
        if form == "N years old":
            return [(a, "AGE"), (" years old", None)]
        if form == "NM":
            return [(a, "AGE"), (self.rng.choice(["M", "F"]), None)]
        if form == "N-yr-old":
            return [(a, "AGE"), ("-yr-old", None)]
        raise ValueError(form)

    def young_age(self):
        return [(str(self.rng.randint(18, 89)), None)]

    # contact ---------------------------------------------------------------
    def phone(self):
        a, b, c = self.rng.randint(201, 989), self.rng.randint(200, 999), self.rng.randint(0, 9999)
        fmt = self.pick("phone_formats")
        text = {
            "(aaa) bbb-cccc": f"({a}) {b}-{c:04d}",
            "aaa-bbb-cccc": f"{a}-{b}-{c:04d}",
            "aaa.bbb.cccc": f"{a}.{b}.{c:04d}",
            "+1 aaa bbb cccc": f"+1 {a} {b} {c:04d}",
            "1-aaa-bbb-cccc": f"1-{a}-{b}-{c:04d}",
            "aaabbbcccc": f"{a}{b}{c:04d}",
            "bbb-cccc": f"{b}-{c:04d}",
            "x cccc": f"{c:04d}",
        }[fmt]
        return [(text, "PHONE")]

    def email(self):
        first, last = self.pick("first").lower(), self.pick("last").lower().replace("'", "")
        dom = self.pick("domains")
        sep = self.rng.choice([".", "_", ""])
        return [(f"{first}{sep}{last}@{dom}", "EMAIL")]

    def url(self):
        dom = self.pick("domains")
        path = self.rng.choice(
            ["/portal/results", "/radiology?id=8812", "/pacs/viewer", "", "/patients/records/7741"]
        )
        scheme = self.rng.choice(["https://", "http://", "https://www.", "www."])
        return [(f"{scheme}{dom}{path}", "URL")]

    def ip(self):
        return [(".".join(str(self.rng.randint(1, 254)) for _ in range(4)), "IP")]

    # record numbers ----------------------------------------------------------
    def mrn(self):
        fmt = self.pick("mrn_formats")
        n = self.rng.randint(0, 10**9)
        text = {
            "7d": f"{n % 10**7:07d}",
            "8d": f"{n % 10**8:08d}",
            "10d": f"{n:010d}",
            "A7d": f"{self.rng.choice('ABCDEFGHKMRZ')}{n % 10**7:07d}",
            "xx-xxxxxx": f"{n % 100:02d}-{n % 10**6:06d}",
            "6d": f"{n % 10**6:06d}",
            "MR0d": f"MR{n % 10**6:06d}",
            "ssn": f"{n % 900 + 100:03d}-{n % 90 + 10:02d}-{n % 9000 + 1000:04d}",
        }[fmt]
        return [(text, "ID")]

    def accession(self):
        fmt = self.pick("acc_formats")
        n = self.rng.randint(0, 10**8)
        y = self.rng.randint(2015, 2024)
        text = {
            "RAD-yyyy-nnnnn": f"RAD-{y}-{n % 10**5:05d}",
            "CTyyyymmdd-nnnn": f"CT{y}{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}-{n % 10**4:04d}",
            "nnnnnnnn": f"{n:08d}",
            "Annnnnnn": f"A{n % 10**7:07d}",
            "XRnnnnnn": f"XR{n % 10**6:06d}",
            "E-nnnnnn": f"E{n % 10**6:06d}",
            "nnnn-nnnn": f"{n % 10**4:04d}-{n // 10**4 % 10**4:04d}",
            "MRnnnnnnnn": f"MR{n:08d}",
        }[fmt]
        return [(text, "ID")]

    # location ----------------------------------------------------------------
    def street(self):
        num = self.rng.randint(1, 9999)
        return [(f"{num} {self.pick('streets')} {self.pick('street_types')}", "ADDRESS")]

    def city_zip(self):
        city, state = self.pick("cities")
        z = f"{self.rng.randint(1001, 99950):05d}"
        if self.rng.random() < 0.3:
            z += f"-{self.rng.randint(0, 9999):04d}"
        return [(city, "ADDRESS"), (f", {state} ", None), (z, "ZIP")]


# ---------------------------------------------------------------------------
# clinical bodies: shared vocabulary would let the rules overfit, so each half
# has its own sentences. [[...]] marks words that must survive.
# ---------------------------------------------------------------------------

HELDOUT_POOLS = {
    "first": [
        "Lorenzo",
        "Priya",
        "Tobias",
        "Naomi",
        "Declan",
        "Imani",
        "Rafael",
        "Greta",
        "Kwame",
        "Yuki",
        "Anneliese",
        "Mateo",
        "Siobhan",
        "Dmitri",
        "Fatima",
        "Colby",
        "Esperanza",
        "Hamish",
        "Ingrid",
        "Jasper",
        "Leontyne",
        "Marisol",
        "Osvaldo",
        "Tamsin",
    ],
    "last": [
        "Okonkwo",
        "Vasquez-Lind",
        "Thorne",
        "Abernathy",
        "Nakamura",
        "Fitzgerald",
        "Delacroix",
        "Brennan",
        "Haddad",
        "Sorensen",
        "Whitfield",
        "Castellano",
        "Moreau",
        "Pemberton",
        "Young",
        "Rose",
        "Black",
        "Graves",
        "Addison",
        "Hill",
        "Bishop",
        "Kowalczyk",
        "O'Donnell",
        "McAllister",
    ],
    "name_forms": [
        "first last",
        "f. last",
        "first m. last",
        "last, first",
        "LAST, FIRST",
        "LAST, FIRST M",
        "last",
    ],
    "credentials": [", MD", " MD", ", M.D.", ", DO", " RN", ", PA-C", ", NP", ", RT(R)"],
    "date_formats": [
        "mm/dd/yyyy",
        "m/d/yy",
        "yyyy-mm-dd",
        "dd-Mon-yyyy",
        "Month d, yyyy",
        "Mon. dth, yyyy",
        "d Month yyyy",
        "yyyymmdd",
        "Month yyyy",
        "mm-dd-yyyy",
        "the dth of Month",
        "m/d",
        "DD-MON-YY",
    ],
    "age_forms": ["N-year-old", "N yo", "age N", "N years old", "NM", "N-yr-old"],
    "phone_formats": [
        "(aaa) bbb-cccc",
        "aaa-bbb-cccc",
        "aaa.bbb.cccc",
        "+1 aaa bbb cccc",
        "1-aaa-bbb-cccc",
        "bbb-cccc",
    ],
    "domains": [
        "stvalentine-med.org",
        "northridgehealth.com",
        "mail.lakeshore-clinic.net",
        "radgroup.co",
        "hospital.example.edu",
    ],
    "mrn_formats": ["7d", "8d", "A7d", "xx-xxxxxx", "MR0d", "ssn"],
    "acc_formats": ["RAD-yyyy-nnnnn", "CTyyyymmdd-nnnn", "nnnnnnnn", "XRnnnnnn", "E-nnnnnn"],
    "streets": ["Juniper", "Harbor View", "Old Mill", "Chestnut", "Kingsbury", "Magnolia"],
    "street_types": ["Street", "Ave", "Road", "Blvd", "Lane", "Terrace", "Court", "Way"],
    "cities": [
        ("Bakersfield", "CA"),
        ("Fort Collins", "CO"),
        ("Duluth", "MN"),
        ("Savannah", "GA"),
        ("Burlington", "VT"),
        ("Las Cruces", "NM"),
    ],
}

HELDOUT_HEADERS = [
    "Patient: {PERSON}    MRN: {MRN}    DOB: {DATE}\n",
    "PATIENT NAME: {PERSON_CAPS}\nMEDICAL RECORD #: {MRN}\nACCESSION: {ACC}\nEXAM DATE: {DATE}\n",
    "Name: {PERSON}  Acc#: {ACC}  Date of service: {DATE}\n",
    "Pt {PERSON}, {OLD_AGE} female, seen {DATE}. Record number {MRN}.\n",
    "RE: {PERSON_CAPS} (MRN {MRN}), DOB {DATE}, Accession No. {ACC}\n",
    "Ordering physician: Dr. {PERSON}, phone {PHONE}, fax {PHONE}\n",
    "Home address: {STREET}, {CITY_ZIP}. Contact number {PHONE}.\n",
    "{OLD_AGE} man referred by Dr. {SURNAME} on {DATE}.\n",
]

HELDOUT_BODIES = [
    "EXAM: CT chest with contrast.\nCLINICAL HISTORY: History of [[Hodgkin]] lymphoma, treated {DATE}.\n"
    "FINDINGS: Mediastinal nodes measure up to 1.4 x 0.9 cm, decreased since {DATE}. No pleural effusion. "
    "Lungs are clear. T11-T12 degenerative change.\n",
    "EXAM: MRI brain without contrast.\nHISTORY: [[Parkinson]] disease with worsening gait.\n"
    "FINDINGS: Mild generalized volume loss. No acute infarct. Scattered T2 hyperintensities, grade 1/3 "
    "by the Fazekas scale.\n",
    "EXAM: Chest radiograph, 2 views.\nINDICATION: [[Down syndrome]], fever.\nFINDINGS: Median sternotomy wires. "
    "[[Kerley B lines]] at the bases suggest interstitial edema. Heart size upper normal.\n",
    "EXAM: CT abdomen and pelvis.\nHISTORY: [[Crohn]] disease, prior ileocecectomy {DATE}.\n"
    "FINDINGS: Wall thickening of the neoterminal ileum over 12 cm. No abscess. Small [[Morgagni]] hernia "
    "containing fat.\n",
    "EXAM: CT head.\nHISTORY: [[Alzheimer]] dementia, fall.\nFINDINGS: No intracranial hemorrhage. "
    "Chronic lacunar infarct in the left thalamus. Ventricles proportional to sulci.\n",
    "EXAM: Chest x-ray portable.\nFINDINGS: [[Swan-Ganz]] catheter tip in the right main pulmonary artery, "
    "recommend withdrawal by 2 cm. Endotracheal tube 4 cm above the carina. No pneumothorax.\n",
    "EXAM: CT chest.\nFINDINGS: Right apical mass invading the first rib, consistent with a [[Pancoast]] "
    "tumor, 5.2 cm. Left [[Bochdalek]] hernia, unchanged.\n",
    "EXAM: Renal ultrasound, pediatric.\nHISTORY: Follow-up of [[Wilms]] tumor resected {DATE}.\n"
    "FINDINGS: Solitary right kidney measures 10.1 cm. No mass. No hydronephrosis.\n",
    "EXAM: MRI femur.\nHISTORY: [[Ewing]] sarcoma.\nFINDINGS: Permeative lesion of the proximal diaphysis "
    "with soft tissue component, 6 x 4 x 3 cm. No skip lesion.\n",
    "EXAM: Thyroid ultrasound.\nHISTORY: [[Graves]] disease.\nFINDINGS: Diffusely enlarged, hypervascular "
    "gland. No discrete nodule. Right lobe 6.1 cm.\n",
    "EXAM: CT adrenal protocol.\nHISTORY: [[Addison]] disease workup.\nFINDINGS: Small bilateral adrenal "
    "glands without mass. L1 vertebral body hemangioma.\n",
    "EXAM: Knee radiographs.\nFINDINGS: [[Segond]] fracture. Joint effusion. Strength 5/5 per referral.\n",
]

HELDOUT_FOOTERS = [
    "Findings discussed with {PERSON} by telephone on {DATE} at 14:20.\n"
    "Electronically signed by: {CLINICIAN} {DATE}\n",
    "Dictated by Dr. {SURNAME}. Transcribed by {PERSON} on {DATE}.\n",
    "Signed: {CLINICIAN}\nReport available at {URL} (workstation {IP}).\n",
    "Questions: {EMAIL} or pager {PHONE}.\nAttending: {PERSON}\n",
    "cc: Dr. {PERSON}, {STREET}, {CITY_ZIP}\n",
    "Results communicated to the referring clinician, Dr. {SURNAME}, on {DATE}.\n"
    "Reviewed by {CLINICIAN}.\n",
    "This is a preliminary report. Final read by {PERSON} MD.\n",
]


DEV_POOLS = {
    "first": [
        "James",
        "Maria",
        "Robert",
        "Linda",
        "Michael",
        "Susan",
        "William",
        "Elizabeth",
        "Carlos",
        "Aisha",
        "Wei",
        "Olga",
        "Patrick",
        "Grace",
        "Hannah",
        "Samuel",
        "Nadia",
        "Victor",
        "Chloe",
        "Ahmed",
        "Bridget",
        "Emeka",
        "Lucia",
        "Tom",
    ],
    "last": [
        "Smith",
        "Garcia",
        "Johnson",
        "Nguyen",
        "Schmidt",
        "O'Brien",
        "MacDonald",
        "Kowalski",
        "Patel",
        "Chen",
        "Rossi",
        "Andersen",
        "Baker",
        "Price",
        "Long",
        "White",
        "Brown",
        "Hodgkins",
        "Parker",
        "Lee",
        "Dubois",
        "Silva",
        "Hughes",
        "Fischer-Ward",
    ],
    "name_forms": [
        "first last",
        "f. last",
        "first m. last",
        "last, first",
        "LAST, FIRST",
        "LAST, FIRST M",
        "last",
        "last^first",
    ],
    "credentials": [", MD", " MD", ", M.D.", ", DO", ", RN", ", PA", ", MBBS", ", FRCR", ", PhD"],
    "date_formats": [
        "mm/dd/yyyy",
        "m/d/yyyy",
        "m/d/yy",
        "yyyy-mm-dd",
        "dd.mm.yyyy",
        "dd-Mon-yyyy",
        "Month d, yyyy",
        "Mon d yyyy",
        "d Month yyyy",
        "yyyymmdd",
        "Month yyyy",
        "Month dth",
        "m/d",
        "yyyy/mm/dd",
    ],
    "age_forms": ["N-year-old", "N yo", "N y/o", "age N", "aged N", "N years old", "NM"],
    "phone_formats": [
        "(aaa) bbb-cccc",
        "aaa-bbb-cccc",
        "aaa.bbb.cccc",
        "+1 aaa bbb cccc",
        "aaabbbcccc",
        "bbb-cccc",
        "x cccc",
    ],
    "domains": [
        "mercy-general.org",
        "cityhospital.com",
        "imaging.university.edu",
        "radiology.example.org",
    ],
    "mrn_formats": ["7d", "8d", "10d", "A7d", "6d", "MR0d", "ssn"],
    "acc_formats": [
        "RAD-yyyy-nnnnn",
        "nnnnnnnn",
        "Annnnnnn",
        "XRnnnnnn",
        "nnnn-nnnn",
        "MRnnnnnnnn",
    ],
    "streets": ["Main", "Oak", "Maple", "Elm", "Washington", "Lake Shore", "Pine Hill"],
    "street_types": ["Street", "St", "Avenue", "Rd", "Drive", "Dr", "Lane", "Place", "Pkwy"],
    "cities": [
        ("Springfield", "IL"),
        ("Portland", "OR"),
        ("Austin", "TX"),
        ("Boston", "MA"),
        ("Ann Arbor", "MI"),
        ("San Jose", "CA"),
    ],
}

DEV_HEADERS = [
    "PATIENT: {PERSON_CAPS}  MRN: {MRN}  DOB: {DATE}\n",
    "Patient Name: {PERSON}\nMRN#: {MRN}\nAcc: {ACC}\nDate of Exam: {DATE}\n",
    "{PERSON_CAPS} | #{MRN} | {DATE}\n",
    "Mr. {SURNAME} is a {OLD_AGE} gentleman. DOB {DATE}.\n",
    "Mrs. {PERSON}, {OLD_AGE}, accession {ACC}, seen on {DATE}.\n",
    "Referring: Dr. {PERSON} ({PHONE}); Fax: {PHONE}\n",
    "Address: {STREET}, {CITY_ZIP}\nTel: {PHONE}\n",
    "Ms. {SURNAME}, {YOUNG_AGE}-year-old, MRN {MRN}, study date {DATE}.\n",
    "Patient ID: {MRN}   Visit: {ACC}   Ordered {DATE} by Dr. {SURNAME}\n",
]

DEV_BODIES = [
    "EXAMINATION: PET-CT.\nHISTORY: Non-[[Hodgkin]] lymphoma.\nFINDINGS: FDG-avid cervical nodes, SUV 8.1. "
    "Compared with {DATE}, decreased.\n",
    "EXAM: MRI brain.\nHISTORY: Suspected [[Parkinson]]'s disease.\nFINDINGS: Normal swallow tail sign absent. "
    "No mass. Ventricles normal.\n",
    "EXAM: Echo-correlated chest film.\nHISTORY: [[Down]] syndrome with AV canal repair.\nFINDINGS: "
    "Cardiomegaly. Sternal wires intact.\n",
    "EXAM: MR enterography.\nHISTORY: [[Crohn's]] disease.\nFINDINGS: Active inflammation of the terminal ileum "
    "over 15 cm with a short stricture.\n",
    "EXAM: FDG PET brain.\nHISTORY: [[Alzheimer's]] disease versus frontotemporal dementia.\nFINDINGS: Bilateral "
    "temporoparietal hypometabolism.\n",
    "EXAM: Portable chest.\nFINDINGS: [[Swan-Ganz]] catheter projects over the right interlobar pulmonary "
    "artery. [[Kerley B]] lines. Small effusions.\n",
    "EXAM: CT chest.\nFINDINGS: Superior sulcus ([[Pancoast]]) tumor on the left. [[Morgagni]] hernia. "
    "Sub-centimeter nodules 3/4 unchanged.\n",
    "EXAM: Abdominal ultrasound.\nHISTORY: [[Wilms]] tumor.\nFINDINGS: Left nephrectomy bed clear. "
    "Liver 14 cm.\n",
    "EXAM: Radiograph pelvis.\nHISTORY: [[Ewing]]'s sarcoma of the ilium.\nFINDINGS: Lytic lesion, stable.\n",
    "EXAM: CT abdomen.\nFINDINGS: [[Bochdalek]] hernia on the left. [[Meckel]] diverticulum suspected. "
    "Appendix normal. Follow up 3-6 months.\n",
    "EXAM: Hand radiographs.\nFINDINGS: [[Bouchard]] and [[Heberden]] nodes. [[Colles]] fracture healed. "
    "Osteopenia.\n",
    "EXAM: CT head.\nHISTORY: [[Huntington]] disease.\nFINDINGS: Caudate atrophy. No bleed.\n",
]

DEV_FOOTERS = [
    "Discussed with Dr. {SURNAME} at 10:05 on {DATE}.\nSigned by {CLINICIAN}\n",
    "Read by: {PERSON}, MD\nDictated {DATE}; transcribed {DATE}.\n",
    "Electronically signed: {CLINICIAN} on {DATE}\n",
    "Contact {EMAIL} or call {PHONE} ext. 4411.\n",
    "Images: {URL}  Station IP {IP}\n",
    "Resident: Dr. {PERSON}\nAttending: Dr. {PERSON}\n",
    "Critical result called to {PERSON}, RN at {DATE} 16:45.\n",
    "Verified by {CLINICIAN} | {DATE}\n",
]


def make_half(name: str, n: int, seed: int, pools, headers, bodies, footers) -> list[dict]:
    rng = random.Random(seed)
    v = Values(rng, pools)
    slots = {
        "PERSON": lambda: v.person(),
        "PERSON_CAPS": lambda: v.person(rng.choice(["LAST, FIRST", "LAST, FIRST M", "first last"])),
        "SURNAME": v.doctor_surname,
        "CLINICIAN": v.clinician,
        "DATE": v.date,
        "OLD_AGE": v.old_age,
        "YOUNG_AGE": v.young_age,
        "PHONE": v.phone,
        "EMAIL": v.email,
        "URL": v.url,
        "IP": v.ip,
        "MRN": v.mrn,
        "ACC": v.accession,
        "STREET": v.street,
        "CITY_ZIP": v.city_zip,
    }
    out = []
    for i in range(n):
        b = Builder()
        for t in rng.sample(headers, k=rng.randint(1, 2)):
            fill(b, t, slots)
        fill(b, bodies[i % len(bodies)], slots)
        for t in rng.sample(footers, k=rng.randint(1, 2)):
            fill(b, t, slots)
        out.append(
            {
                "id": f"{name}-{i + 1:03d}",
                "half": name,
                "text": b.text(),
                "spans": b.spans,
                "keep": b.keep,
            }
        )
    return out


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(
        f"wrote {len(rows)} reports, {sum(len(r['spans']) for r in rows)} labelled spans -> {path}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--force-heldout", action="store_true", help="rewrite heldout.jsonl too")
    ap.add_argument("--n", type=int, default=80, help="reports per half")
    args = ap.parse_args()
    held = OUT_DIR / "heldout.jsonl"
    if args.force_heldout or not held.exists():
        write(
            held,
            make_half(
                "heldout",
                args.n,
                6006,
                HELDOUT_POOLS,
                HELDOUT_HEADERS,
                HELDOUT_BODIES,
                HELDOUT_FOOTERS,
            ),
        )
    else:
        print(f"kept {held} (use --force-heldout to rewrite)")
    write(
        OUT_DIR / "dev.jsonl",
        make_half("dev", args.n, 1234, DEV_POOLS, DEV_HEADERS, DEV_BODIES, DEV_FOOTERS),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
