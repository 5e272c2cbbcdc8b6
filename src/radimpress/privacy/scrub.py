"""Find and remove protected health information (PHI) in radiology report text.

Report text carries identifiers in predictable places (headers, signature
blocks, "discussed with Dr. X on 3/4/2021") but also clinical eponyms that
look exactly like surnames ("Hodgkin", "Parkinson", "Down syndrome",
"Kerley B lines"). So the rules here are written for report text: a name is
only taken when a context cue (title, "signed by", "MRN", a credential such
as "MD", a common first name) says it is one, and an eponym followed by a
clinical head word ("disease", "sign", "fracture", ...) is never taken
unless a title ("Dr. Graves") makes it a person.

The entry points are :func:`find_phi` (spans only) and :func:`scrub_text`
(clean text plus the list of what kind of item was replaced where; the
item itself is never returned in the report). ``Scrubber`` holds the
configuration: placeholder tokens (``[NAME]`` or a fixed ``XXXX``) or
deterministic surrogates (a keyed hash picks consistent fake values, so the
same name or MRN maps to the same surrogate across a corpus and patient
grouping survives).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

PHI_TYPES = ("NAME", "DATE", "AGE", "PHONE", "EMAIL", "ID", "ADDRESS", "ZIP", "URL", "IP")

# Higher wins when spans of different types overlap (the union is removed).
_PRIORITY = {
    "EMAIL": 9,
    "URL": 9,
    "IP": 8,
    "DATE": 7,
    "PHONE": 6,
    "ID": 5,
    "AGE": 5,
    "ZIP": 4,
    "ADDRESS": 4,
    "NAME": 3,
}


@dataclass(frozen=True, order=True)
class PhiSpan:
    start: int
    end: int
    type: str

    def as_tuple(self) -> tuple[str, int, int]:
        return (self.type, self.start, self.end)


def _words(text: str, lower: bool = False) -> frozenset[str]:
    """A word list kept as one readable block of text."""
    return frozenset(w.lower() if lower else w for w in text.split())


# ---------------------------------------------------------------------------
# word lists
# ---------------------------------------------------------------------------

# Clinical eponyms and look-alike words: never a name unless a title says so.
EPONYMS = _words(
    """
    Hodgkin Hodgkin's Parkinson Parkinson's Down Crohn Crohn's Alzheimer Alzheimer's Wilms Ewing
    Ewing's Swan Ganz Swan-Ganz Kerley Morgagni Bochdalek Pancoast Graves Addison Addison's
    Cushing Huntington Meckel Meckel's Colles Smith Barton Bennett Rolando Jones Segond Hill
    Sachs Hill-Sachs Bankart Monteggia Galeazzi Salter Harris Baker Baker's Schmorl Chiari Dandy
    Walker Arnold Budd Klatskin Wilson Paget Osgood Schlatter Legg Calve Perthes Kienbock
    Preiser Lisfranc Chopart Maisonneuve Tillaux Boerhaave Mallory Weiss Zenker Zenker's Killian
    Barrett Barrett's Hirschsprung Meigs Krukenberg Virchow Brodie Codman Sudeck Charcot Kaposi
    Hurthle Warthin Wegener Takayasu Kawasaki Spigelian Richter Littre Amyand Zollinger Ellison
    Peutz Jeghers Gardner Turcot Lynch Caroli Mirizzi Bouveret Courvoisier Murphy Murphy's
    McBurney Rovsing Fleischner Hampton Westermark Golden Felson Swyer James Kartagener Sjogren
    Sjögren Nabothian Gartner Bartholin Skene Peyronie Fournier Askin Langerhans Erdheim Chester
    Rosai Dorfman Castleman Burkitt Waldenstrom Kahler Bence Monro Sylvian Rolandic Willis Galen
    Luschka Magendie Robin Rathke Sturge Weber Hippel Lindau Recklinghausen Bourneville Gorlin
    Cowden Marfan Ehlers Danlos Loeys Dietz Turner Klinefelter Noonan Williams DiGeorge Edwards
    Patau Fallot Ebstein Eisenmenger Kommerell Adamkiewicz Batson Valsalva Eustachian Fallopian
    Glisson Couinaud Calot Oddi Vater Wirsung Santorini Treitz Hartmann Douglas Retzius Morison
    Morison's Winslow Gerota Zuckerkandl Alcock Scarpa Hesselbach Cooper Poupart Denonvilliers
    Bertin Bellini Henle Pott Pott's Scheuermann Kummell Baastrup Forestier Bechterew Reiter
    Tietze Poland Sprengel Klippel Feil Madelung Kirner Blount Freiberg Kohler Sever Sinding
    Larsen Johansson Haglund Morton Morton's Buford Parsonage Struthers Guyon Frohse Stener
    Jefferson Hangman Chance Holdsworth Denis Schatzker Lauge Hansen Garden Pipkin Judet
    Letournel Neer Mason Essex Lopresti Pellegrini Stieda Hoffa Wrisberg Humphrey Kaplan Gerdy
    Thurston Holland Tanner Greulich Pyle Ollier Maffucci Jaffe Lichtenstein Gorham Mazabraud
    Albright McCune Caffey Kasabach Merritt Trenaunay Osler Rendu Gaucher Niemann Pick Hurler
    Hunter Morquio Fahr Wernicke Korsakoff Creutzfeldt Jakob Binswanger Lewy Leigh Canavan
    Alexander Krabbe Balo Devic Marchiafava Bignami Guillain Barre Bell Bell's Horner Tolosa
    Ramsay Meniere Gradenigo Kellie Cheyne Stokes Homan Trousseau Raynaud Buerger Leriche
    Dressler Kussmaul Beck Libman Sacks Loeffler Churg Strauss Goodpasture Caplan Hamman Rich
    Macklin Mounier Kuhn Campbell Windermere Ghon Ranke Simon Rasmussen Heberden Bouchard
    Brown-Sequard Sequard Todd Wallerian Waller Moyamoya Nissen Whipple Roux Billroth Kocher
    Pfannenstiel Foley Hickman Groshong Broviac Port-a-Cath Dobhoff Salem Sengstaken Blakemore
    Minnesota Denver Tenckhoff Greenfield Palmaz Fogarty Seldinger Judkins Amplatz Bosniak
    Fazekas Gleason Breslow Clark Ann Arbor Lugano Deauville Spetzler Fisher Hunt Hess Glasgow
    Rankin Kellgren Lawrence Outerbridge Pfirrmann Modic Meyerding Hounsfield Doppler Gadolinium
    Wolff Chaddock Babinski Romberg Brudzinski Kernig Lhermitte Tinel Phalen Finkelstein
    McMurray Lachman Thompson Hoffmann Lisch Bezold Mondor Hutchinson Kimura Kikuchi Dupuytren
    Ledderhose Morgan Monckeberg Aschoff Tawara Purkinje Bachmann Eustace Thebesian Koch Hirano
    Charcot-Leyden Curschmann Reid Swyer-James Cope Kiesselbach Waldeyer Bichat Stensen Wharton
    Rivinus Ludwig Ludwig's Lemierre Grisel Sinding-Larsen Hoffa's Osgood-Schlatter
    Legg-Calve-Perthes Dandy-Walker Arnold-Chiari Budd-Chiari Guillain-Barre Klippel-Feil
    Ehlers-Danlos Non-Hodgkin Peutz-Jeghers
    """,
    lower=True,
)

# Words after which a capitalised eponym-like token is clinical, not a person.
CLINICAL_HEADS = _words(
    """
    disease diseases syndrome syndromes sign signs lymphoma lymphomas tumor tumors tumour
    sarcoma fracture fractures line lines hernia hernias catheter catheters node nodes nodule
    nodules cyst cysts lesion lesions palsy triad pouch space spaces canal duct ducts procedure
    classification type grade criteria scale score scoring stage staging view views position
    maneuver manoeuvre anomaly malformation deformity disorder phenomenon effect angle ligament
    ligaments fascia foramen foramina fossa fold folds layer body bodies cell cells cells' tube
    tubes shunt filter stent valve ring diverticulum diverticula dementia's dementia infarct
    aneurysm aneurysms hump cuff area areas capsule gland glands artery arteries vein veins
    sinus sinuses membrane nerve plexus repair operation fundoplication resection anastomosis
    esophagus ulcer ulcers tear tears lipomatosis contracture contractures lines' fissure
    fissures point test method ratio index technique approach protocol circle system organ
    organs nucleus nuclei tract hyperplasia adenoma carcinoma granuloma granulomas degeneration
    encephalopathy encephalitis cardiomyopathy arthritis arthropathy neuroma neuroma's cyst's
    process fat pad pads
    """
)

# Capitalised words that follow a cue but are not names ("Patient Name: Unknown").
NOT_NAMES = _words(
    """
    The A An This That These Those No None Not Unknown Anonymous Patient Pt Name Names Date Time
    Exam Examination Findings Finding Impression Impressions History Indication Comparison
    Technique Procedure Report Reports Study Studies Clinical Chest Abdomen Pelvis Head Brain
    Neck Spine Left Right Bilateral Normal Abnormal Negative Positive Prior Previous Outside
    Same Today Yesterday Tomorrow Emergency Department Radiology Radiologist Radiologists
    Hospital Clinic Center Service Team Staff Resident Fellow Attending Nurse Nursing Physician
    Physicians Doctor Provider Referring Ordering Family Medicine Surgery Oncology Cardiology
    Neurology Pulmonology Urology Orthopedics Pediatrics Internal ICU ER ED CT MRI MR US XR PET
    NM CTA MRA IR OR PACS RIS EHR EMR HIS DOB MRN ID Acc Accession Number Record Phone Fax Tel
    Pager Email Address Signed Dictated Transcribed Reviewed Verified Electronically Final
    Preliminary Addendum Wet Read Critical Result Results Findings: Discussed With Called And Or
    Of To By At On In For From Via Per As Is Was Were Be Been He She They His Her Their It Mr
    Mrs Ms Dr Drs Miss Prof MD DO RN NP PA Has Had Have Will Would Should Could May Might Must
    Also Again Then There Here Which Who Whom Whose What When Where Why How Yes All Any Each
    Every Some Several Many Few More Most Other Another Such Both Either Neither Male Female Man
    Woman Boy Girl Gentleman Lady Child Infant Adult Mother Father Sister Brother Wife Husband
    Son Daughter Guardian Self Contact Transfer Admission Discharge Consult Consultation
    Portable Frontal Lateral Views View Axial Coronal Sagittal Contrast Without With Noncontrast
    Images Image Series Unremarkable Stable Unchanged New Interval Mild Moderate Severe Small
    Large Lungs Lung Heart Liver Kidney Kidneys Bone Bones Soft Tissue Tissues Ultrasound
    Radiograph Radiographs Xray X-ray Film Films Recommend Recommendation Recommendations Note
    Notes Please Thank Thanks Call Page Paged Spoke Notified Communicated Reported Read
    Dictation Signature Department Office Unit Floor Room Bed Ward Suite Building Street Avenue
    Road Box Phone: Clinic: Health Medical Healthcare University General Memorial Regional
    Community Saint St Diagnosis Diagnostic Assessment Plan Status Post Level Levels Vertebra
    Vertebrae Side Upper Lower Anterior Posterior Superior Inferior Medial Proximal Distal
    Central Peripheral Total Partial Complete Incomplete Acute Chronic Subacute Known Suspected
    Possible Probable Likely Consistent Compatible Concerning Suspicious Evaluation Eval Rule
    Out Follow Followup Follow-up Hx Dx Sx Tx Rx Fx Yo Y/O Years Year Old Age Aged Sex Gender
    Weight Height BMI Temperature XXXX XX
    """,
    lower=True,
)

# Common given names (a general list, not the test set's): a capitalised word
# after one of these is taken as a surname even without any other cue.
FIRST_NAMES = _words(
    """
    Aaron Abigail Adam Adrian Ahmed Aisha Alan Albert Alejandro Alex Alexander Alexandra Alexis
    Alice Alicia Alison Allison Amanda Amber Amy Ana Andrea Andrew Angela Anita Ann Anna Anne
    Annie Anthony Antonio Arthur Ashley Audrey Barbara Benjamin Bernard Beth Betty Beverly Bill
    Billy Bob Bobby Bradley Brandon Brenda Brian Bridget Brittany Bruce Bryan Carl Carla Carlos
    Carmen Carol Caroline Carolyn Catherine Charles Charlotte Cheryl Chloe Chris Christian
    Christina Christine Christopher Cindy Claire Clara Claude Cody Colin Connor Craig Crystal
    Cynthia Daniel Danielle Darren David Dean Deborah Debra Denise Dennis Derek Diana Diane
    Diego Donald Donna Doris Dorothy Douglas Dylan Earl Edith Eduardo Edward Eileen Elaine
    Eleanor Elena Eli Elijah Elizabeth Ella Ellen Emily Emma Eric Erica Erin Ethan Eugene Eva
    Evelyn Fatima Felix Fernando Frances Francis Francisco Frank Fred Frederick Gabriel Gabriela
    Gail Gary Gavin George Gerald Gina Gloria Gordon Grace Greg Gregory Hannah Harold Harry
    Hassan Heather Helen Henry Hugo Ian Irene Isaac Isabel Isabella Ivan Jack Jackie Jacob
    Jacqueline Jake Jamal James Jamie Jane Janet Janice Jason Javier Jean Jeffrey Jennifer
    Jeremy Jerry Jesse Jessica Jesus Jill Jim Jimmy Joan Joanne Joe Joel John Johnny Jon
    Jonathan Jordan Jorge Jose Joseph Joshua Joyce Juan Judith Judy Julia Julian Julie Justin
    Karen Karl Kate Katherine Kathleen Kathryn Kathy Katie Keith Kelly Ken Kenneth Kevin Kim
    Kimberly Kyle Larry Laura Lauren Lawrence Leah Lee Leo Leon Leonard Leslie Lillian Linda
    Lisa Liam Logan Lois Lori Louis Louise Lucas Lucia Lucy Luis Luke Lydia Lynn Madison Manuel
    Marco Margaret Maria Marie Marilyn Mario Marion Mark Martha Martin Mary Matthew Megan
    Melanie Melissa Michael Michelle Miguel Mildred Mohamed Mohammed Monica Nancy Natalie Nathan
    Nicholas Nicole Noah Norma Olivia Oscar Pamela Patricia Patrick Paul Paula Pedro Peggy Peter
    Philip Phillip Phyllis Rachel Ralph Randy Raymond Rebecca Regina Renee Ricardo Richard Rita
    Rob Robert Roberto Robin Rodney Roger Ronald Rosa Rose Roy Ruby Russell Ruth Ryan Sally
    Samantha Samuel Sandra Sara Sarah Scott Sean Sergio Sharon Shawn Shirley Sofia Sophia
    Stanley Stephanie Stephen Steve Steven Susan Tammy Teresa Terry Theresa Thomas Timothy Tina
    Todd Tom Tony Tracy Travis Tyler Valerie Vanessa Victor Victoria Vincent Virginia Walter
    Wanda Wayne Wei William Willie Xavier Yolanda Yusuf Zachary Zoe Ali Omar Fatma Mehmet Raj
    Rahul Anil Sunita Deepak Li Ming Hui Jun Hiroshi Kenji Akiko Olga Sergei Natasha Dmitri
    Pierre Jacques Francois Giuseppe Giovanni Francesca Hans Klaus Jurgen Ingrid Sven Lars Erik
    Nils Siobhan Sinead Niamh Patrice Emeka Chidi Ngozi Oluwaseun Kofi Ama Abdul Ibrahim Mustafa
    Yasmin Layla Nadia Samir
    """,
    lower=True,
)

# Two-letter US state and territory codes, for "City, ST 12345".
STATES = sorted(
    _words(
        "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY"
    )
)

# ---------------------------------------------------------------------------
# regular expressions
# ---------------------------------------------------------------------------

_MONTH_WORDS = [
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
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
]
_MONTH = (
    "(?:"
    + "|".join(sorted({m for w in _MONTH_WORDS for m in (w, w.upper())}, key=len, reverse=True))
    + r")\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
_DD = r"(?:0?[1-9]|[12]\d|3[01])"
_MM = r"(?:0?[1-9]|1[0-2])"
_YYYY = r"(?:1[89]\d\d|20\d\d)"

_DATE_RES = [
    re.compile(rf"(?<![\d/.-]){_MM}[/-]{_DD}[/-](?:{_YYYY}|\d\d)(?![\d/-])"),  # 3/14/2021, 03-14-21
    re.compile(rf"(?<![\d/.-]){_DD}[./-]{_MM}[./-]{_YYYY}(?![\d-]|\.\d)"),  # 14.03.2021
    re.compile(rf"(?<![\d/.-]){_YYYY}[-/.]{_MM}[-/.]{_DD}(?![\d/-])"),  # 2021-03-14
    re.compile(rf"(?<!\d){_YYYY}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"),  # 20210314
    re.compile(rf"\b{_MONTH}\s+{_DD}{_ORD},?\s+{_YYYY}\b"),  # March 14, 2021
    re.compile(rf"\b{_DD}{_ORD}\s+(?:of\s+)?{_MONTH},?\s+{_YYYY}\b"),  # 14 March 2021
    re.compile(rf"\b{_DD}-{_MONTH}-(?:{_YYYY}|\d\d)\b"),  # 14-Mar-2021, 14-MAR-21
    re.compile(rf"\b{_MONTH},?\s+(?:of\s+)?{_YYYY}\b"),  # March 2021
    re.compile(rf"\b(?:the\s+)?{_DD}{_ORD}\s+of\s+{_MONTH}"),  # the 14th of March
    re.compile(
        rf"\b(?:January|February|March|April|June|July|August|September|October|November|December|"
        rf"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?\s+{_DD}(?:st|nd|rd|th)?\b"
    ),  # March 14th
    re.compile(rf"\bMay\s+{_DD}(?:st|nd|rd|th)\b"),  # May 14th (bare "May 2" is too often the verb)
]
# Month/day without a year only after a word that introduces a date ("on 3/4"),
# so "grade 1/3" and "strength 5/5" survive.
_DATE_CUED_MD = re.compile(
    rf"(?i:\b(?:on|since|from|dated|date|dob|of|prior|until|through|thru|to|and|compared\s+(?:with|to)|"
    rf"comparison|treated|performed|seen|resected|obtained|done|study|ordered|dictated|transcribed|verified|"
    rf"signed|read|reviewed|called|discussed)\b[:\s]+|\|\s*)({_MM}/{_DD})(?![/\d])"
)
_MAY_CUED = re.compile(
    rf"(?i:\b(?:on|seen|since|dated|from|until|through)\s+)(May\s+{_DD})\b(?!\s*(?:cm|mm|%))"
)

_AGE_RES = [
    re.compile(
        r"(?<![\d.])((?:9\d|1[01]\d|120))(?=\s*-?\s*(?:years?|yrs?|yo\b|y/o|y\.o\.|year-old|yr-old|-year|-yr|"
        r"years?-old|year\s+old|yr\s+old))",
        re.I,
    ),
    re.compile(r"\b(?:age|aged|age:|ages)\s*:?\s*((?:9\d|1[01]\d|120))(?!\d|\.\d)", re.I),
    re.compile(r"(?<![\d.])((?:9\d|1[01]\d|120))\s?(?:M|F|male|female|man|woman)\b"),
    re.compile(
        r"\b((?:ninety|one\s+hundred)(?:[\s-]+(?:and[\s-]+)?(?:one|two|three|four|five|six|seven|eight|nine|"
        r"ten|eleven|twelve))?)(?=[\s-]+(?:years?|yrs?)[\s-]+old|[\s-]year-old)",
        re.I,
    ),
]

_EMAIL_RE = re.compile(r"(?<![\w.+%-])[\w.+%-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}\b")
_URL_RE = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+", re.I)
_IP_RE = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]\d)"
)
_IPV6_RE = re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b")

_PHONE_RES = [
    re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\d-])"),
    re.compile(r"(?<![\w./-])\d{3}-\d{4}(?![\d-])"),
    re.compile(r"(?<![\d-])\+\d{1,3}[\s.-]?\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?!\d)"),
]
_PHONE_CUED = re.compile(
    r"(?i:\b(?:phone|ph|tel|telephone|fax|facsimile|pager|page|beeper|bleep|cell|mobile|call|callback|"
    r"contact\s+number|ext|extension|x)\b\.?\s*(?:#|no\.?|number)?\s*:?\s*)(\+?[\d][\d\s().-]{2,16}\d)"
)

_ID_CUE = (
    r"(?:MRN|MR\s*#|MR\s+(?:no|number)|medical\s+record(?:\s+(?:number|no|#))?|record\s+(?:number|no|#)|"
    r"hospital\s+(?:number|no)|chart\s+(?:number|no|#)|acc(?:ession)?(?:\s*(?:number|no|#))?|acct|account(?:\s+(?:number|no))?|"
    r"patient\s+id|pt\s+id|patient\s+number|study\s+(?:id|number)|exam\s+(?:id|number)|order(?:\s+(?:number|no|id))?|"
    r"requisition|visit(?:\s+(?:number|id))?|encounter(?:\s+(?:number|id))?|episode|case(?:\s+(?:number|id))?|"
    r"ssn|social\s+security(?:\s+number)?|insurance(?:\s+(?:number|id))?|member\s+id|policy|id|no|#)"
)
_ID_CUED = re.compile(
    rf"(?i:\b{_ID_CUE}\.?)(?:\s*[#:]\s*|\s+|(?<=#))([A-Za-z]{{0,4}}[-#]?\d[\w-]*\d|\d)(?![\w])",
)
_ID_HASH = re.compile(r"(?<![\w#])#\s?([A-Z]{0,3}\d{3,}[\w-]*)")
_SSN_RE = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
_LONG_NUMBER = re.compile(r"(?<![\w.,/-])\d{6,}(?![\w.,/]\d|\d)")
_ALNUM_ID = re.compile(
    r"\b(?:[A-Z]{1,4}-?\d{5,}(?:-\d+)*|[A-Z]{1,4}-\d{4}-\d{3,}|\d{2,4}-\d{5,})\b"
)
_DASH_ID = re.compile(r"(?<![\w-])\d{4}-\d{4}(?![\w-])")

_STREET_TYPES = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
    r"Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Trail|Trl|Alley|Row|Crescent|Close|Plaza)"
)
_STREET_RE = re.compile(
    rf"\b\d{{1,6}}(?:\s+[NSEW]\.?)?(?:\s+(?:[A-Z][a-z]+|\d+(?:st|nd|rd|th))){{1,3}}\s+{_STREET_TYPES}\b\.?"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|#)\.?\s*[\w-]+)?"
)
_POBOX_RE = re.compile(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.I)
_CITY_ZIP_RE = re.compile(
    rf"\b((?:[A-Z][a-z]+\s){{0,2}}[A-Z][a-z]+),\s+(?:{'|'.join(STATES)})\.?\s+(\d{{5}}(?:-\d{{4}})?)\b"
)
_ZIP_CUED = re.compile(r"(?i:\b(?:zip|zip\s*code|postal\s+code)\s*:?\s*)(\d{5}(?:-\d{4})?)\b")
_STATE_ZIP = re.compile(rf"\b(?:{'|'.join(STATES)})\s+(\d{{5}}(?:-\d{{4}})?)\b")

# -- names --------------------------------------------------------------------
# A title is never part of a name: without this, "Dr. Mbeki, Dr. Okafor" reads as
# "Mbeki, Dr" (Last, First) and "Dr. Mbeki and Dr. Okafor" as "Mbeki and Dr", and the
# second doctor's name is left in the text.
_NOT_TITLE = r"(?!(?:Drs?|Mrs?|Ms|Miss|Mx|Prof|Doctor)\b)"
_NW = rf"(?:{_NOT_TITLE}(?:O'|D'|Mc|Mac)?[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)"  # Smith, O'Brien, McAllister, Vasquez-Lind
_CW = r"(?:(?:O'|D')?[A-Z]{2,}(?:[-'][A-Z]{2,})?)"  # SMITH, O'DONNELL
_INIT = r"(?:[A-Z]\.)"
_NAME_FORMS = [
    rf"{_CW},[ \t]*{_CW}(?:[ \t]+{_CW})?(?:[ \t]+[A-Z]\b\.?)?",  # SMITH, JOHN A
    rf"{_NW},[ \t]+{_NW}(?:[ \t]+(?:{_INIT}|[A-Z]\b))?",  # Smith, John A.
    rf"{_NW}\^{_NW}(?:\^\w+)*",  # Smith^John (HL7 style)
    rf"{_CW}\^{_CW}(?:\^\w+)*",  # SMITH^JOHN^A (HL7 style, as most systems send it)
    rf"{_NW}(?:[ \t]+(?:{_INIT}|[A-Z]\b))?[ \t]+{_NW}(?:[ \t]+{_NW})?",  # John A. Smith
    rf"{_INIT}(?:[ \t]?{_INIT})?[ \t]?{_NW}",  # J. Smith, J.A. Smith
    rf"{_NW}",  # Smith
    rf"{_CW}(?:[ \t]+{_CW})?",  # SMITH / JOHN SMITH
]
_NAME_ALT = "(?:" + "|".join(_NAME_FORMS) + ")"

_TITLE_RE = re.compile(
    rf"\b(?:Drs?|Mr|Mrs|Ms|Miss|Mx|Prof|Doctor|DR|MR|MRS|MS)\.?[ \t]+({_NAME_ALT})(?:[ \t]+(?:and|&)[ \t]+({_NAME_ALT}))?"
)
_LABEL_CUES = (
    r"patient(?:'s)?\s+name|pt\.?\s+name|name|patient|pt|re|electronically\s+signed\s+by|electronically\s+signed|"
    r"e-signed\s+by|signed\s+by|signed|signature|dictated\s+by|dictating\s+(?:physician|radiologist)|"
    r"transcribed\s+by|transcriptionist|(?:final\s+|preliminary\s+)?read\s+by|reviewed\s+by|verified\s+by|"
    r"approved\s+by|interpreted\s+by|reported\s+by|attending(?:\s+(?:physician|radiologist))?|resident|fellow|"
    r"technologist|tech|sonographer|referring(?:\s+(?:physician|provider|doctor|clinician))?|"
    r"ordering(?:\s+(?:physician|provider|doctor|clinician))?|ordered\s+by|requested\s+by|referred\s+by|"
    r"physician|radiologist|provider|pcp|discussed\s+with|d/w|communicated\s+to|communicated\s+with|"
    r"called\s+to|spoke\s+(?:with|to)|notified|paged|reported\s+to|relayed\s+to|conveyed\s+to|cc|c\.c\.|"
    r"guardian|mother|father|wife|husband|son|daughter|next\s+of\s+kin|emergency\s+contact|nurse|"
    r"by|to|with"
)
_LABEL_RE = re.compile(
    rf"(?i:\b(?:{_LABEL_CUES}))(?:[ \t]*[:\-][ \t]*|[ \t]+)(?:(?:the\s+)?(?:(?i:referring|ordering|covering|on-call|"
    rf"attending|primary)\s+)?(?i:clinician|physician|provider|team|nurse|doctor)?,?\s*)?({_NAME_ALT})"
)
# Bare "PA" and "RT" are also the posteroanterior view and "right" ("Eburnation PA and
# lateral"), so they count as credentials only after a comma ("Lee, PA").
_CREDENTIALS = (
    r"(?:MD|M\.D\.|DO|D\.O\.|RN|R\.N\.|PA-C|NP|CNP|ARNP|DNP|PhD|Ph\.D\.|MBBS|MBChB|FRCR|FRCPC|FACR|"
    r"RT\(R\)|RDMS|RVT|CRNA|LPN|MSN|BSN|DMD|DDS|(?<=,\s)PA|(?<=,\s)RT)"
)
_CRED_RE = re.compile(rf"(?<![\w.])({_NAME_ALT}),?\s+{_CREDENTIALS}(?![\w])")
# "SMITH, JOHN" at the start of a line or after "|": a roster/header form. In
# all-caps clinical text ("CHEST PAIN, AFIB") the same shape is a problem
# list, so the pair must start the line and carry no clinical-looking word.
# An HL7 person name (family^given^middle) is a name wherever it appears: nothing
# clinical is written with carets, and leaving "^JOHN" behind leaks the given name.
_CARET_NAME_RE = re.compile(rf"(?<![\w^])((?:{_NW}|{_CW})\^(?:{_NW}|{_CW})(?:\^\w+)*)")
_CAPS_PAIR_RE = re.compile(
    rf"(?:^|(?<=\n)|(?<=\|)|(?<=\t))[ \t]*({_CW},[ \t]*{_CW}(?:[ \t]+[A-Z]\b\.?)?)(?=[ \t]*(?:$|\n|\||\(|,|;|\t|MRN|DOB|#|\d))"
)
_CLINICAL_SHAPE = re.compile(
    r"(?i)(?:osis|itis|emia|aemia|ectomy|otomy|ostomy|oma|omas|pathy|algia|plasty|scopy|graphy|gram|ism|"
    r"ous|ive|ated|ment|ness|tion|sion|ity)$"
)
_CLINICAL_CAPS = _words(
    """
    pain chest copd chf afib dka sdh cad htn dm mi cva tia pe dvt uti ards sob doe cough fever
    chills asthma pneumonia effusion hernia repair obesity apnea trauma fall mva injury mass
    nodule cancer tumor rule out eval follow up preop pre-op postop post-op history hx status
    post s/p shortness breath weakness fatigue nausea vomiting dyspnea hypoxia tachycardia
    sepsis cough tb ppd hiv copd aaa stroke seizure syncope edema chf esrd ckd aki gerd ild ipf
    cf ra sle ms
    """
)

_FIRSTNAME_RE = re.compile(rf"\b({_NW})(?:\s+(?:{_INIT}|[A-Z]\b))?\s+({_NW})\b")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")


def _name_is_plausible(text: str, after: str, strong: bool) -> bool:
    """Reject cue matches that are section words or clinical eponyms.

    ``strong`` (a title such as "Dr.") overrides the eponym check: "Dr. Graves"
    is a person even though "Graves disease" is not.
    """
    words = [w for w in re.split(r"[\s,^.]+", text) if w]
    if not words:
        return False
    low = [w.lower().strip("'") for w in words]
    if any(w in NOT_NAMES for w in low if len(w) > 1) and not strong:
        return False
    if all(len(w) == 1 for w in low):
        return False
    if strong:
        return not all(w in NOT_NAMES for w in low)
    next_word = after.lstrip(" '").split(" ", 1)[0].lower().strip(".,;:)") if after.strip() else ""
    if any(w.removesuffix("'s") in EPONYMS for w in low) and (
        next_word in CLINICAL_HEADS or after.startswith("'s") or len(words) == 1
    ):
        return False
    return not (after.startswith("'s ") and next_word in CLINICAL_HEADS)


def _trim_name(text: str) -> str:
    """Drop trailing tokens of a matched name that are section words ("Smith Findings")."""
    parts = text.split(" ")
    while (
        len(parts) > 1
        and len(parts[-1].strip(",.")) > 1
        and parts[-1].lower().strip(",.") in NOT_NAMES
    ):
        parts.pop()
    return " ".join(parts)


# ---------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------


def _add(out: list[PhiSpan], kind: str, start: int, end: int) -> None:
    if end > start:
        out.append(PhiSpan(start, end, kind))


def _find_names(text: str, out: list[PhiSpan]) -> None:
    names: list[PhiSpan] = []

    def take(m: re.Match, group: int, strong: bool) -> None:
        s, e = m.span(group)
        if s < 0:
            return
        raw = _trim_name(text[s:e])
        e = s + len(raw)
        if _name_is_plausible(raw, text[e : e + 30], strong):
            _add(names, "NAME", s, e)

    for m in _TITLE_RE.finditer(text):
        take(m, 1, True)
        if m.group(2):
            take(m, 2, True)
    for m in _LABEL_RE.finditer(text):
        cue = m.group(0)[: m.start(1) - m.start(0)].strip()
        weak = cue.split()[0].lower() in {"by", "to", "with"} if cue else False
        s, e = m.span(1)
        raw = text[s:e]
        # "by"/"to"/"with" are only cues before a full name or a credential, never a lone word.
        if weak and (
            not cue.islower()
            or raw.isupper()
            or not (" " in raw.strip() or re.match(rf",?\s+{_CREDENTIALS}\b", text[e : e + 8]))
        ):
            continue
        take(m, 1, False)
    for m in _CRED_RE.finditer(text):
        if m.group(1).isupper() and "," not in m.group(
            1
        ):  # "PAIN RT": shouted text, not a signature
            continue
        take(m, 1, False)
    for m in _CAPS_PAIR_RE.finditer(text):
        words = re.split(r"[ \t,]+", m.group(1).strip())
        if not any(
            w.lower() in _CLINICAL_CAPS or (len(w) > 4 and _CLINICAL_SHAPE.search(w)) for w in words
        ):
            take(m, 1, False)
    for m in _CARET_NAME_RE.finditer(text):
        _add(names, "NAME", *m.span(1))
    for m in _FIRSTNAME_RE.finditer(text):
        if m.group(1).lower() in FIRST_NAMES and m.group(2).lower() not in NOT_NAMES:
            take(m, 0, False)
    # A surname found once is a name wherever else it appears in the same text,
    # unless that occurrence is an eponym in clinical use.
    seen = {
        w
        for sp in names
        for w in re.split(r"[\s,^.]+", text[sp.start : sp.end])
        if len(w) >= 3 and w.lower() not in NOT_NAMES and w.lower() not in FIRST_NAMES
    }
    for w in seen:
        for m in re.finditer(rf"(?<![\w'-]){re.escape(w)}(?![\w'-])", text, re.I):
            if m.group() not in (w, w.upper()):
                continue
            if _name_is_plausible(w, text[m.end() : m.end() + 30], False):
                _add(names, "NAME", m.start(), m.end())
    out.extend(names)


def _find_dates(text: str, out: list[PhiSpan]) -> None:
    for rx in _DATE_RES:
        for m in rx.finditer(text):
            _add(out, "DATE", *m.span())
    for m in _DATE_CUED_MD.finditer(text):
        _add(out, "DATE", *m.span(1))
    for m in _MAY_CUED.finditer(text):
        _add(out, "DATE", *m.span(1))


def _valid_compact_date(s: str) -> bool:
    try:
        _dt.date(int(s[:4]), int(s[4:6]), int(s[6:8]))
        return True
    except ValueError:
        return False


def find_phi(text: str, extra: Iterable[Callable[[str], Iterable[PhiSpan]]] = ()) -> list[PhiSpan]:
    """All PHI spans in ``text``, overlaps merged, sorted by position."""
    cands: list[PhiSpan] = []
    for m in _EMAIL_RE.finditer(text):
        _add(cands, "EMAIL", *m.span())
    for m in _URL_RE.finditer(text):
        s, e = m.span()
        while e > s and text[e - 1] in ".,;:!?)":
            e -= 1
        _add(cands, "URL", s, e)
    for rx in (_IP_RE, _IPV6_RE):
        for m in rx.finditer(text):
            _add(cands, "IP", *m.span())
    _find_dates(text, cands)
    for rx in _AGE_RES:
        for m in rx.finditer(text):
            _add(cands, "AGE", *m.span(1))
    for rx in _PHONE_RES:
        for m in rx.finditer(text):
            _add(cands, "PHONE", *m.span())
    for m in _PHONE_CUED.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if len(digits) >= 4:
            _add(cands, "PHONE", *m.span(1))
    for m in _SSN_RE.finditer(text):
        _add(cands, "ID", *m.span())
    for m in _ID_CUED.finditer(text):
        val = m.group(1)
        if len(re.sub(r"\D", "", val)) >= 3 or m.group(0).lower().startswith(
            ("mrn", "acc", "record")
        ):
            _add(cands, "ID", *m.span(1))
    for m in _ID_HASH.finditer(text):
        _add(cands, "ID", *m.span(1))
    for m in _LONG_NUMBER.finditer(text):
        kind = "DATE" if len(m.group()) == 8 and _valid_compact_date(m.group()) else "ID"
        _add(cands, kind, *m.span())
    for rx in (_ALNUM_ID, _DASH_ID):
        for m in rx.finditer(text):
            _add(cands, "ID", *m.span())
    for rx in (_STREET_RE, _POBOX_RE):
        for m in rx.finditer(text):
            _add(cands, "ADDRESS", *m.span())
    for m in _CITY_ZIP_RE.finditer(text):
        _add(cands, "ADDRESS", *m.span(1))
        _add(cands, "ZIP", *m.span(2))
    for rx in (_ZIP_CUED, _STATE_ZIP):
        for m in rx.finditer(text):
            _add(cands, "ZIP", *m.span(1))
    _find_names(text, cands)
    for detector in extra:
        cands.extend(detector(text))
    return merge_spans(cands)


def merge_spans(spans: Iterable[PhiSpan]) -> list[PhiSpan]:
    """Union overlapping spans; the merged span keeps the highest-priority type."""
    merged: list[PhiSpan] = []
    for sp in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and sp.start < merged[-1].end:
            last = merged[-1]
            kind = (
                last.type if _PRIORITY.get(last.type, 0) >= _PRIORITY.get(sp.type, 0) else sp.type
            )
            merged[-1] = PhiSpan(last.start, max(last.end, sp.end), kind)
        else:
            merged.append(sp)
    return merged


# ---------------------------------------------------------------------------
# replacement
# ---------------------------------------------------------------------------

_FAKE_FIRST = [
    "Alex",
    "Jordan",
    "Morgan",
    "Casey",
    "Riley",
    "Taylor",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Sage",
    "Emerson",
    "Hayden",
    "Parker",
    "Reese",
    "Skyler",
]
_FAKE_LAST = [
    "Ashdown",
    "Brightwater",
    "Coldbrook",
    "Dunmore",
    "Elderfield",
    "Fairhaven",
    "Glenrock",
    "Hollowell",
    "Ivybridge",
    "Juniperson",
    "Kestrel",
    "Larkspur",
    "Millbrook",
    "Northam",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redfern",
    "Stonegate",
    "Thornbury",
    "Underhill",
    "Westcott",
    "Alderson",
    "Birchley",
    "Copperfield",
    "Dovecote",
    "Embleton",
    "Foxhollow",
    "Greywell",
    "Heathcote",
    "Inglewood",
    "Kingsmere",
    "Lindqvist",
    "Marlowe",
    "Netherby",
    "Orchardson",
    "Penhallow",
    "Rushmere",
    "Sallowby",
    "Tanglewood",
    "Vantmore",
    "Wrenfield",
]
_FAKE_STREETS = ["Surrogate", "Placeholder", "Example", "Sample", "Synthetic", "Fictional"]
_FAKE_CITIES = ["Anytown", "Sampleville", "Exampleton", "Fakeburg", "Mockford"]


@dataclass
class Scrubber:
    """Configured PHI removal.

    ``mode``: ``placeholder`` writes ``placeholder.format(type=...)`` (default
    ``[NAME]``, ``[DATE]``; ``"XXXX"`` gives Open-i style masking);
    ``surrogate`` writes consistent fake values chosen by an HMAC of the item
    under ``key`` (keep the key secret: anyone with it can test guesses).
    Dates in surrogate mode are shifted by a key-derived number of days so
    intervals between dates in a report survive.
    """

    mode: str = "placeholder"
    placeholder: str = "[{type}]"
    key: str = "radimpress"
    extra_detectors: list[Callable[[str], Iterable[PhiSpan]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("placeholder", "surrogate"):
            raise ValueError(f"unknown scrub mode '{self.mode}' (placeholder or surrogate)")
        self._shift = 1 + int.from_bytes(self._digest("DATE-SHIFT", "")[:4], "big") % 3650

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self.key.encode(), f"{kind}\x00{value}".encode(), hashlib.sha256).digest()

    def scrub(
        self, text: str, surnames: dict[str, str] | None = None
    ) -> tuple[str, list[tuple[str, int, int]]]:
        """Clean text and [(type, start, end)] in the original.

        ``surnames`` (surname -> surrogate surname) is filled as names are
        replaced; pass one dict for all the texts of a record so that a person
        keeps one surrogate across its fields, and two people never share one.
        """
        spans = find_phi(text, self.extra_detectors)
        surnames = {} if surnames is None else surnames
        pieces: list[str] = []
        pos = 0
        for sp in spans:
            pieces.append(text[pos : sp.start])
            pieces.append(self.replacement(sp.type, text[sp.start : sp.end], surnames))
            pos = sp.end
        pieces.append(text[pos:])
        return "".join(pieces), [sp.as_tuple() for sp in spans]

    def pseudonym(self, value: str, prefix: str = "P") -> str:
        """A stable opaque id for a patient/study id field (same input, same output)."""
        return f"{prefix}-{self._digest('PSEUDONYM', value).hex()[:12]}"

    # -- surrogates ---------------------------------------------------------
    def replacement(self, kind: str, value: str, surnames: dict[str, str] | None = None) -> str:
        if self.mode == "placeholder":
            return self.placeholder.format(type=kind)
        h = self._digest(kind, re.sub(r"\s+", " ", value.strip().lower()))
        if kind == "NAME":
            return self._fake_name(value, {} if surnames is None else surnames)
        if kind == "DATE":
            return self._shift_date(value) or self._shape(value, h)
        if kind == "AGE":
            return "90"  # HIPAA Safe Harbor: ages over 89 fold into one "90 or older" group
        if kind == "EMAIL":
            return f"user-{h.hex()[:8]}@example.org"
        if kind == "URL":
            return f"https://example.org/{h.hex()[:8]}"
        if kind == "IP":
            return f"10.{h[0]}.{h[1]}.{h[2] or 1}"
        if kind == "ADDRESS":
            if re.match(r"\d", value):
                return f"{1 + int.from_bytes(h[:2], 'big') % 999} {_FAKE_STREETS[h[2] % len(_FAKE_STREETS)]} Street"
            return _FAKE_CITIES[h[0] % len(_FAKE_CITIES)]
        return self._shape(value, h)  # PHONE, ID, ZIP

    @staticmethod
    def _shape(value: str, h: bytes) -> str:
        """Same punctuation and length, digits and letters drawn from the hash."""
        stream = (h * (len(value) // len(h) + 1))[: len(value)]
        out = []
        for ch, b in zip(value, stream, strict=True):
            if ch.isdigit():
                out.append(str(b % 10))
            elif ch.isalpha():
                c = chr(ord("A") + b % 26)
                out.append(c if ch.isupper() else c.lower())
            else:
                out.append(ch)
        return "".join(out)

    def _fake_name(self, value: str, surnames: dict[str, str]) -> str:
        """A surrogate keyed on the surname, not the whole string.

        "John A. Smithers", "Mr. Smithers" and "SMITHERS^JOHN" are one person
        in a report; keying on the full text made them three. The surname
        picks the surrogate surname, the given name (if any) the surrogate
        given name, so the same person reads the same wherever they appear.
        """
        if "^" in value:  # HL7 XPN: family^given^middle
            family, _, rest = value.partition("^")
            given = rest.split("^")[0]
        elif "," in value:  # "Smithers, John A."
            family, _, rest = value.partition(",")
            given = rest.split()[0] if rest.split() else ""
        else:  # "John A. Smithers", "Smithers"
            words = value.split()
            family, given = words[-1], words[0] if len(words) > 1 else ""
        last = self._fake_surname(family.strip(" .,").lower(), surnames)
        first = ""
        if given.strip(" .,"):
            h = self._digest("GIVEN", given.strip(" .,").lower())
            first = _FAKE_FIRST[int.from_bytes(h[:4], "big") % len(_FAKE_FIRST)]
        if "^" in value:
            out = f"{last}^{first}" if first else last
        elif "," in value:
            out = f"{last}, {first}" if first else last
        else:
            out = f"{first} {last}" if first else last
        return out.upper() if value.isupper() and len(value) > 1 else out

    def _fake_surname(self, family: str, surnames: dict[str, str]) -> str:
        """The keyed choice for this surname; the next free one if another surname of the
        same record took it (two people never merge into one surrogate)."""
        if family in surnames:
            return surnames[family]
        start = int.from_bytes(self._digest("SURNAME", family)[:4], "big") % len(_FAKE_LAST)
        taken = set(surnames.values())
        for step in range(len(_FAKE_LAST)):
            candidate = _FAKE_LAST[(start + step) % len(_FAKE_LAST)]
            if candidate not in taken:
                break
        surnames[family] = candidate
        return candidate

    def _shift_date(self, value: str) -> str | None:
        """Shift a parseable date by the key's offset, keeping its format."""
        formats = [
            "%m/%d/%Y",
            "%m/%d/%y",
            "%Y-%m-%d",
            "%d.%m.%Y",
            "%Y%m%d",
            "%B %d, %Y",
            "%b %d, %Y",
            "%d %B %Y",
            "%d-%b-%Y",
            "%m-%d-%Y",
            "%Y/%m/%d",
            "%b %d %Y",
            "%B %d %Y",
        ]
        v = value.strip()
        for fmt in formats:
            try:
                d = _dt.datetime.strptime(v, fmt).date()
            except ValueError:
                continue
            new = d - _dt.timedelta(days=self._shift)
            out = new.strftime(fmt)
            if "%m/%d" in fmt and not re.match(r"\d\d/", v):  # keep 3/4/2021 unpadded
                out = f"{new.month}/{new.day}/" + out.rsplit("/", 1)[1]
            return out
        return None


_DEFAULT = Scrubber()


def scrub_text(
    text: str, mode: str = "placeholder", placeholder: str = "[{type}]", key: str = "radimpress"
) -> tuple[str, list[tuple[str, int, int]]]:
    """Scrub one text; return (clean text, [(type, start, end) in the ORIGINAL text]).

    The list says what kind of item was removed where, never the item, so it
    can be logged or stored without leaking what it describes.
    """
    if mode == "placeholder" and placeholder == "[{type}]" and key == "radimpress":
        return _DEFAULT.scrub(text)
    return Scrubber(mode=mode, placeholder=placeholder, key=key).scrub(text)


def spacy_detector(model: str) -> Callable[[str], list[PhiSpan]]:
    """Optional NER pass from a locally installed spaCy pipeline (never downloaded).

    ``model`` is a package name or a folder. PERSON entities become NAME,
    DATE entities DATE, GPE/LOC/FAC entities ADDRESS.
    """
    import spacy

    try:
        nlp = spacy.load(model)
    except OSError as e:
        from radimpress.records import InputError

        raise InputError(f"spaCy model '{model}' is not installed locally ({e})") from None
    mapping = {
        "PERSON": "NAME",
        "PER": "NAME",
        "DATE": "DATE",
        "GPE": "ADDRESS",
        "LOC": "ADDRESS",
        "FAC": "ADDRESS",
    }

    def detect(text: str) -> list[PhiSpan]:
        spans = []
        for ent in nlp(text).ents:
            kind = mapping.get(ent.label_)
            if not kind:
                continue
            if kind == "NAME" and all(
                w.lower().removesuffix("'s") in EPONYMS for w in ent.text.split()
            ):
                continue
            spans.append(PhiSpan(ent.start_char, ent.end_char, kind))
        return spans

    return detect
