"""Words the extractor knows: observations, modifiers and how observations relate.

Kept apart from the extractor code so a radiologist can read and extend the
vocabulary without reading any spaCy code. Patterns are case-insensitive regular
expressions matched on the report text (medspaCy's RegexMatcher); a match is
snapped to token boundaries.
"""

from __future__ import annotations

CHEXPERT_OBSERVATIONS = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)
EXTRA_OBSERVATIONS = ("Pneumoperitoneum",)

_OPAC = r"opacit(?:y|ies)"
_DENS = r"densit(?:y|ies)"

# (observation, regex, metadata). Metadata keys:
#   polarity: fixed polarity for phrases that carry their own ("heart size is normal");
#   also: further observations the same phrase speaks for;
#   device: the kind of support device.
TARGET_PATTERNS: list[tuple[str, str, dict]] = [
    # --- heart and mediastinum ---
    (
        "Cardiomegaly",
        r"cardiomegaly|cardiac enlargement|enlarge(?:d|ment of the) (?:cardiac silhouette|heart|cardiac (?:size|shadow))",
        {},
    ),
    (
        "Cardiomegaly",
        r"(?:heart|cardiac (?:silhouette|shadow|size|contours?)|heart size)(?: is| are| remains| remain| appears| size)?(?: (?:again|now|still|stable|borderline|mild|mildly|moderately|markedly|severely|slightly|minimally|significantly|top|somewhat|to|moderate|severe|overall|at least))* (?:enlarged|large|increased in size)",
        {},
    ),
    (
        "Cardiomegaly",
        r"(?:increase|increased|enlargement) in (?:the )?size of the (?:cardiac silhouette|heart)|enlarge(?:d|ment of the) cardiac contours?",
        {},
    ),
    (
        "Cardiomegaly",
        r"(?:heart|cardiac silhouette|cardiac size|heart size)(?: is| are| remains| appears)? not enlarged",
        {"polarity": "absent"},
    ),
    (
        "Cardiomegaly",
        r"(?:heart|cardiac) size(?: and [a-z ]{1,40}?)?(?: is| are| remains| appears| appear)?(?: otherwise)? (?:normal|within normal limits|unremarkable|stable and normal)|normal (?:heart|cardiac) (?:size|silhouette)|(?:heart|cardiac silhouette)(?: is| appears)? (?:normal|within normal limits) in size",
        {"polarity": "absent"},
    ),
    (
        "Cardiomegaly",
        r"borderline (?:cardiomegaly|heart size|enlarged heart)|(?:heart|cardiac) size (?:is )?(?:at the )?(?:upper limits?(?: of)? normal|borderline|top normal|top-normal)|upper limits? of normal heart size|(?:heart|cardiac silhouette) is (?:near |at the )?(?:top[- ]normal|borderline|upper limits?(?: of)? normal)(?: in)? size",
        {"polarity": "uncertain"},
    ),
    (
        "Cardiomegaly",
        r"cardiomediastinal (?:silhouette|contours?|shadow)(?: and [a-z ]{1,40}?)?(?: is| are| remains?| appears?)?(?: otherwise)? (?:normal|within normal limits|unremarkable|stable and normal)|normal cardiomediastinal (?:silhouette|contours?)|cardiomediastinal (?:silhouette|contours?) (?:is |are )?(?:normal|within normal limits) in size",
        {"polarity": "absent", "also": ["Enlarged Cardiomediastinum"]},
    ),
    (
        "Cardiomegaly",
        r"cardiomediastinal (?:silhouette|contours?)(?: is| are| appears?| remains?)?(?: (?:again|now|still|stable|mildly|moderately|markedly|severely|slightly|minimally|significantly|somewhat|persistently))* (?:enlarged|widened|prominent)|enlarged cardiomediastinal (?:silhouette|contours?)|(?:persistent |interval |stable )?enlargement (?:of|in) (?:the )?(?:cardiac|cardiomediastinal) silhouette",
        {"also": ["Enlarged Cardiomediastinum"]},
    ),
    (
        "Enlarged Cardiomediastinum",
        r"(?:widen(?:ed|ing)|enlarged|prominent) (?:of the )?(?:superior )?mediastin(?:um|al (?:silhouette|contours?))|mediastinal (?:widening|enlargement)|mediastin(?:um|al (?:silhouette|contours?))(?: is| are| appears?)?(?: (?:somewhat|mildly|slightly|moderately|markedly|again|stable))* (?:widened|enlarged|prominent)",
        {},
    ),
    (
        "Enlarged Cardiomediastinum",
        r"mediastin(?:um|al (?:silhouette|contours?))(?: and hil(?:a|um|ar contours))?(?: is| are| remains?| appears?)?(?: otherwise)? (?:normal|within normal limits|unremarkable)|normal mediastin(?:um|al (?:silhouette|contours?))",
        {"polarity": "absent"},
    ),
    # --- lungs ---
    (
        "Lung Opacity",
        rf"(?:(?:air[- ]?space|alveolar|parenchymal|interstitial|reticular|patchy|hazy|linear|streaky|focal|ground[- ]glass) )?{_OPAC}|opacification|infiltrates?|infiltration|air[- ]?space disease|(?:air[- ]?space|alveolar|parenchymal|patchy|hazy|ill-defined|focal|streaky|linear|retrocardiac|basilar|base|bases|lung) {_DENS}|(?:is|are) (?:totally |completely |partially )?opaque|interstitium (?:is )?(?:\w+ )?(?:prominent|accentuated)|prominent interstitium|(?:increased|prominent|coarse|coarsened|reticular|accentuated)(?: \w+){0, 3} interstitial markings|haziness|(?:increased|prominent|coarse|coarsened|reticular|accentuated) (?:interstitial |lung |pulmonary |bronchovascular |reticular )?markings|interstitial (?:prominence|accentuation)",
        {},
    ),
    (
        "Lung Opacity",
        r"lungs?(?: fields?)?(?: are| is| remain| appear)?(?: otherwise| grossly| now)? clear|clear lungs?|lungs?(?: are| is)? (?:well[- ]expanded|well[- ]aerated|hyperexpanded|hyperinflated)(?: and|,) clear|lungs are grossly clear",
        {"polarity": "absent", "also": ["Consolidation", "Pneumonia", "Edema"]},
    ),
    (
        "Lung Lesion",
        r"(?:pulmonary |lung |cavitary |spiculated )?(?:nodules?|masses|mass(?! effect)|neoplasms?|tumou?rs?|malignancy|carcinoma|metasta(?:sis|ses|tic disease))|(?:lung|pulmonary|cavitary|parenchymal) lesions?",
        {},
    ),
    ("Lung Lesion", rf"nodular {_OPAC}|nodular {_DENS}", {"also": ["Lung Opacity"]}),
    (
        "Edema",
        r"(?:pulmonary |interstitial |alveolar |airspace )?edema|(?:pulmonary )?(?:vascular|venous) congestion|congestive (?:heart )?failure|\bchf\b|fluid overload|kerley b lines|b-lines|(?:pulmonary )?(?:venous |vascular )?engorgement|cephalization|pulmonary venous hypertension|(?:pulmonary )?vascular (?:prominence|redistribution|indistinctness)|(?:pulmonary |central )?(?:vascularity|vasculature|vessels)(?: is| are)?(?: (?:again|now|still|stable|mildly|moderately|markedly|severely|slightly|minimally|significantly|somewhat|persistently))* (?:engorged|accentuated|indistinct|enlarged)|pulmonary \w+ (?:is |are )(?:engorged|congested)|prominen(?:t|ce of the) (?:central )?pulmonary vascular(?:ity|ture)",
        {},
    ),
    (
        "Edema",
        r"(?:pulmonary )?(?:vascularity|vasculature|vascular engorgement|vessels)(?: is| are| appears?| appear)? (?:normal|within (?:the )?(?:normal limits|limits of normal)|unremarkable)|normal (?:pulmonary )?(?:vascularity|vasculature)|(?:vascularity|vasculature|vessels|pulmonary \w+) (?:is |are )?not (?:engorged|congested|prominent|increased)",
        {"polarity": "absent"},
    ),
    (
        "Consolidation",
        r"(?:airspace )?consolidations?|consolidative (?:opacit(?:y|ies)|changes?|process)|air bronchograms?",
        {},
    ),
    (
        "Pneumonia",
        r"(?:broncho)?pneumonias?|pneumonitis|(?:infectious|inflammatory) (?:process|etiology)|infections?",
        {},
    ),
    (
        "Atelectasis",
        r"(?:subsegmental |discoid |plate-?like |linear |bibasilar |basilar |lobar |segmental )?atelecta(?:sis|ses|tic(?: (?:changes?|opacit(?:y|ies)))?)|(?:lobar |segmental )?collapse|volume loss",
        {},
    ),
    # --- pleura ---
    (
        "Pneumothorax",
        r"(?:hydro)?pneumothora(?:x|ces)|\bptx\b|pleural air collections?|air collections? in the pleural space",
        {},
    ),
    ("Pleural Effusion", r"(?<!pericardial )(?:pleural )?effusions?|hydrothorax|pleural fluid", {}),
    (
        "Pleural Effusion",
        r"blunt(?:ing|ed)(?: of)?(?: the)?(?: \w+){0,2} costophrenic(?: (?:angles?|sulc(?:us|i)|recess(?:es)?|\w+))?|costophrenic (?:\w+ ){0,2}(?:is |are )?blunt(?:ed|ing)|(?:sulcus|sulci) blunting|blunting of the (?:\w+ ){0,2}(?:sulcus|sulci)",
        {"polarity": "uncertain"},
    ),
    (
        "Pleural Effusion",
        r"costophrenic (?:angles?|sulci) (?:are |is )?(?:sharp|clear|preserved)|sharp costophrenic (?:angles?|sulci)",
        {"polarity": "absent"},
    ),
    (
        "Pleural Other",
        r"pleural (?:thickening|plaques?|scarring|calcifications?)|fibrothorax|pleural[- ]parenchymal (?:scarring|thickening)|apical (?:pleural )?(?:capping|thickening)",
        {},
    ),
    # --- bones ---
    (
        "Fracture",
        r"(?<!catheter )(?<!line )(?<!lead )(?<!wire )(?<!wires )(?<!port )fractures?|fractured|\bfx\b|rib deformit(?:y|ies)|(?:wedge|compression) (?:\w+ )?deformit(?:y|ies)|(?:anterior )?wedging",
        {},
    ),
    # matched only so that the longer phrase hides the observation word inside it
    (
        "IGNORE",
        r"(?:soft tissue|laryngeal|subcutaneous|prevertebral|scrotal|extremity) edema|mass effect|calcifi(?:c|ed) (?:densit(?:y|ies)|opacit(?:y|ies))|granulomatous (?:infection|disease|process)|(?:catheter|lead|wire|line|sternotomy wire) fracture|(?:pericardial|joint|knee|elbow|ankle) effusions?|bone density",
        {},
    ),
    # --- abdomen ---
    (
        "Pneumoperitoneum",
        r"pneumoperitoneum|free (?:intraperitoneal |subdiaphragmatic |intra-abdominal )?air|sub(?:diaphragmatic|phrenic) (?:free )?air|air under the (?:right |left )?(?:hemi)?diaphragms?",
        {},
    ),
    # --- devices ---
    (
        "Support Devices",
        r"(?:endotracheal|et|\bett\b) tubes?|\bett\b|endotracheal|(?:tracheostomy|trach) tubes?|tracheostomy",
        {"device": "airway tube"},
    ),
    (
        "Support Devices",
        r"(?:nasogastric|orogastric|feeding|enteric|dobhoff|\bng\b|\bog\b) tubes?|dobhoff",
        {"device": "enteric tube"},
    ),
    (
        "Support Devices",
        r"peripherally inserted central (?:venous )?catheter|\bpicc\b(?: lines?)?",
        {"device": "picc"},
    ),
    (
        "Support Devices",
        r"central (?:venous )?(?:catheters?|lines?)|(?:internal jugular|\bij\b|subclavian)(?: venous| central)? (?:catheters?|lines?|cvc|port)|\bcvc\b|port-?a-?cath|(?:chest|power) port|swan[- ]ganz(?: catheter)?|pulmonary artery catheter|dialysis catheter",
        {"device": "central line"},
    ),
    (
        "Support Devices",
        r"(?:chest|thoracostomy) tubes?|pleural (?:drains?|catheters?|pigtail)|pigtail catheters?",
        {"device": "chest tube"},
    ),
    (
        "Support Devices",
        r"(?:cardiac |dual[- ]chamber |dual[- ]lead )?(?:pacemaker|pacer|aicd|defibrillator)(?: leads?| wires?| generator| device)?|(?:pacing|pacemaker) (?:leads?|wires?)|\bicd\b|loop recorder",
        {"device": "pacemaker"},
    ),
    (
        "Support Devices",
        r"support devices|(?:lines|tubes) and (?:tubes|lines)|medical devices",
        {"device": "any"},
    ),
]

# Phrases that say the whole study is normal; used for No Finding only.
NORMAL_STUDY = (
    r"\bno acute (?:cardiopulmonary|cardiothoracic|pulmonary|intrathoracic|chest|radiographic|thoracic)?"
    r" ?(?:abnormalit(?:y|ies)|disease|process(?:es)?|findings?|pathology|change)"
    r"|\bnormal (?:chest|study|exam(?:ination)?|radiograph|chest x-?ray|chest radiographs?)\b"
    r"|\b(?:chest|study|exam) is normal\b|\bno (?:significant |active )?cardiopulmonary (?:abnormality|disease|process)"
    r"|\bunremarkable (?:chest|study|exam(?:ination)?|radiograph)\b|\bnegative (?:chest|study|exam)\b"
)

# ConText modifiers (literal, category, direction, regex or None, max_scope in tokens or None).
_NOT_SEEN = r"(?:seen|identified|visualized|visible|evident|present|demonstrated|appreciated|detected|apparent|noted)"
CONTEXT_RULES: list[tuple[str, str, str, str | None, int | None]] = [
    # negation, forward
    ("no", "NEGATED_EXISTENCE", "FORWARD", r"\bno\b", None),
    (
        "no evidence of",
        "NEGATED_EXISTENCE",
        "FORWARD",
        r"\bno (?:radiographic |definite |convincing |other |new |further |acute |visible )?(?:evidence|signs?|findings?|suggestion|features?) (?:of|for|to suggest)\b",
        None,
    ),
    (
        "without",
        "NEGATED_EXISTENCE",
        "FORWARD",
        r"\bwithout(?: (?:any|evidence of|signs? of|definite))?\b",
        None,
    ),
    ("negative for", "NEGATED_EXISTENCE", "FORWARD", r"\bnegative for\b", None),
    ("free of", "NEGATED_EXISTENCE", "FORWARD", r"\b(?:free|clear) of\b", None),
    ("absence of", "NEGATED_EXISTENCE", "FORWARD", r"\b(?:absence|absent|lack) of\b", None),
    (
        "resolution of",
        "NEGATED_EXISTENCE",
        "FORWARD",
        r"\b(?:complete |interval )?(?:resolution|removal) of\b",
        6,
    ),
    ("not", "NEGATED_EXISTENCE", "FORWARD", r"\b(?:not|nor|neither)\b", None),
    (
        "there is no",
        "NEGATED_EXISTENCE",
        "FORWARD",
        r"\b(?:there is|there are|there has been) no\b",
        None,
    ),
    (
        "resolved",
        "NEGATED_EXISTENCE",
        "BIDIRECTIONAL",
        r"\b(?:has |have |is |are |now |since |interval(?:ly)? |completely )*(?:resolved|cleared|removed)\b",
        4,
    ),
    # negation, backward
    (
        "is not seen",
        "NEGATED_EXISTENCE",
        "BACKWARD",
        rf"\b(?:(?:is|are|was|were) )?(?:no longer|not) (?:well |definitely |clearly |convincingly )?{_NOT_SEEN}\b",
        5,  # medspaCy does not stop backward scopes at "which"; keep them near the finding
    ),
    ("absent", "NEGATED_EXISTENCE", "BACKWARD", r"\b(?:is|are|now) absent\b", None),
    (
        "excluded",
        "NEGATED_EXISTENCE",
        "BACKWARD",
        r"\b(?:is|are|has been|was) (?:excluded|ruled out)\b",
        None,
    ),
    ("unlikely", "NEGATED_EXISTENCE", "BACKWARD", r"\b(?:is|are) unlikely\b", None),
    # uncertainty (longer phrases win over the negation cues they contain)
    (
        "cannot exclude",
        "POSSIBLE_EXISTENCE",
        "FORWARD",
        r"\b(?:cannot|can not|can't|could not|does not|difficult to|unable to) (?:be )?(?:exclude|rule out|excluded|ruled out)d?\b(?: for)?",
        None,
    ),
    (
        "not excluded",
        "POSSIBLE_EXISTENCE",
        "BACKWARD",
        r"\b(?:cannot|can not|can't|could not|is not|are not|not) (?:be )?(?:entirely |completely |totally )?(?:excluded|ruled out)\b",
        None,
    ),
    (
        "possible",
        "POSSIBLE_EXISTENCE",
        "FORWARD",
        r"\b(?:possible|possibly|probable|probably|likely|questionable|question of|question|suspected|suspect|suspicious for|suspicious of|suggestive of|suggesting|concerning for|worrisome for|may represent|may reflect|may be|might be|could be|could represent|can represent|may indicate|differential (?:diagnosis |considerations? |diagnoses )?(?:includes?|considerations?)|consider|equivocal|presumed|presumably|indeterminate|may have|possibility of|concern for|concerning|(?:cannot|can not) be excluded)\b",
        None,
    ),
    (
        "versus",
        "POSSIBLE_EXISTENCE",
        "BIDIRECTIONAL",
        r"\b(?:versus|vs\.?|or less likely)\b|and/or",
        None,
    ),
    (
        "likely backward",
        "POSSIBLE_EXISTENCE",
        "BACKWARD",
        r"\b(?:is|are) (?:not excluded|possible|likely|suspected|questioned|favored)\b|\bmay not be (?:demonstrated|seen|visible|detected|apparent|evident)\b",
        None,
    ),
    # what is looked for is not found
    (
        "evaluation for",
        "HYPOTHETICAL",
        "FORWARD",
        r"\b(?:evaluation (?:for|of)|evaluate for|assess(?:ment)? for|to (?:identify|exclude|evaluate|assess|detect|look for)(?: for| a| an)?|if (?:there is|clinically)|in case of)\b",
        None,
    ),
    # history
    (
        "history of",
        "HISTORICAL",
        "FORWARD",
        r"\b(?:history of|h/o|hx of|known history of|known|status post|s/p|sequelae? of|residuals? (?:of|from)|(?<!since )(?<!to )(?<!from )(?<!with )(?<!on )(?<!than )(?:previous|prior|remote)(?! (?:exam|examination|study|studies|films?|radiographs?|chest|ct|comparison|images?|x-?rays?|day|days|one))|seen on (?:the )?(?:prior |previous )?ct)\b",
        5,
    ),
    # not negations
    (
        "no change",
        "NEGATED_EXISTENCE",
        "PSEUDO",
        r"\bno (?:significant |appreciable |interval |definite )?(?:change|increase|decrease|worsening|improvement)\b|\bnot (?:significantly |substantially )?changed\b",
        None,
    ),
    (
        "not seen on prior",
        "NEGATED_EXISTENCE",
        "PSEUDO",
        r"\b(?:not|no longer) (?:well |clearly |definitely )?(?:seen|present|visible|evident|identified|visualized|appreciated) (?:on|in) (?:the )?(?:prior|previous|earlier|last|comparison)\b",
        None,
    ),
    (
        "near-complete resolution",
        "NEGATED_EXISTENCE",
        "PSEUDO",
        r"\b(?:near[- ]?complete|nearly complete|partial|partially|incomplete|near|almost|nearly|interval partial) (?:resolution|resolved|clearing|cleared)\b|\bresolving\b",
        None,
    ),
    ("not only", "NEGATED_EXISTENCE", "PSEUDO", r"\bnot only\b|\bno doubt\b|\bnot clearly\b", None),
    # scope ends
    (
        "but",
        "NEGATED_EXISTENCE",
        "TERMINATE",
        r"\b(?:but|however|although|though|except|aside from|apart from|otherwise|yet|which|whereas|while|there is|there are|there has been)\b|;",
        None,
    ),
    ("list number", "NEGATED_EXISTENCE", "TERMINATE", r"(?<![\d.])\b\d{1,2}[.)](?=\s)", None),
    # PyRuSH keeps "effusion. 6 mm nodule" in one sentence; a full stop still ends a scope
    ("full stop", "NEGATED_EXISTENCE", "TERMINATE", r"(?<![\d.])\.(?=\s)", None),
]

LEFT = r"\b(?:left|leftward|left-sided|lt)\b|\bL\b(?!\d)"
RIGHT = r"\b(?:right|rightward|right-sided|rt)\b|\bR\b(?!\d)"
BILATERAL = (
    r"\b(?:bilateral(?:ly)?|both (?:lungs?|sides|hemithoraces|bases|apices|lower lobes|upper lobes)|bibasilar|bibasal|"
    r"bi-?basilar|bi-?apical|b/l|left and right|right and left|lung bases|bases|apices|bilaterally)\b"
)
# "right atrium" places a catheter tip; it is not the side of a finding.
NOT_A_SIDE = (
    r"\b(?:right|left) (?:atri(?:um|al)|ventric(?:le|ular)|heart(?: border)?|mainstem|main ?stem|main bronchus|"
    r"cardiophrenic|hemidiaphragm|(?:paratracheal|paraspinal) stripe)\b|\bheart border\b|\bshift(?:ed)? to the (?:right|left)\b"
)

SEVERITY = {
    "trace": "small",
    "tiny": "small",
    "minimal": "small",
    "minimally": "small",
    "small": "small",
    "slight": "mild",
    "slightly": "mild",
    "mild": "mild",
    "mildly": "mild",
    "subtle": "mild",
    "moderate": "moderate",
    "moderately": "moderate",
    "moderate-sized": "moderate",
    "moderate-size": "moderate",
    "large": "large",
    "massive": "large",
    "extensive": "large",
    "huge": "large",
    "large-sized": "large",
    "severe": "severe",
    "severely": "severe",
    "marked": "severe",
    "markedly": "severe",
    "significant": "severe",
    "tension": "severe",
}

# change vocabulary -> direction; order matters (first hit wins inside a window)
_NOT_SIDE_CMP = r"(?!\s+than\s+(?:on\s+)?(?:the\s+)?(?:left|right))"
CHANGE_PATTERNS: list[tuple[str, str]] = [
    (
        "improved",
        r"\b(?:near[- ]?complete|nearly complete|partial|partially|incomplete|near|almost|nearly) (?:resolution|resolved|clearing|cleared)\b|\bresolving\b",
    ),
    (
        "resolved",
        r"\b(?:resolved|resolution|no longer (?:seen|visualized|present|evident|identified)|cleared|(?:interval )?removal|removed)\b",
    ),
    (
        "improved",
        rf"\b(?:improv(?:ed|ing|ement)|decreas(?:ed|ing|e)|less (?:prominent|conspicuous|pronounced|extensive)|smaller{_NOT_SIDE_CMP}|diminish(?:ed|ing)|regress(?:ed|ion|ing)|clearing|better)\b",
    ),
    (
        "worse",
        rf"\b(?:increas(?:ed|ing|e)|worse(?:ned|ning)?{_NOT_SIDE_CMP}|progress(?:ed|ion|ing|ive)|enlarging|enlarged since|more (?:prominent|conspicuous|pronounced|extensive|confluent){_NOT_SIDE_CMP}|larger{_NOT_SIDE_CMP}|grown|growing|expanding|expanded|worsening)\b",
    ),
    (
        "new",
        r"\b(?:not (?:well |clearly |definitely )?(?:seen|present|visible|evident|identified|visualized|appreciated) (?:on|in) (?:the )?(?:prior|previous|earlier|last|comparison)|new|newly|interval development|develop(?:ed|ing|ment)|(?:has |have )?appeared|now (?:seen|present|demonstrated|visible))\b",
    ),
    (
        "stable",
        r"\b(?:stable|unchanged|no (?:significant |appreciable |definite )?(?:interval )?change|not (?:significantly )?changed|similar)\b",
    ),
    (
        "persistent",
        r"\b(?:persistent|persists|persisting|again (?:seen|noted|demonstrated|identified)|re-?demonstrat(?:ed|ion)|remains?|remaining|continued|chronic|old|healed|long-?standing)\b",
    ),
]
CHANGE_DIRECTION = {
    "new": "worse",
    "worse": "worse",
    "improved": "better",
    "resolved": "better",
    "stable": "stable",
}

CHRONIC = r"\b(?:old|healed|healing|remote|chronic|prior|previous|ununited|nonunion|non-union|longstanding|long-standing|post-?surgical|postoperative|sclerotic|stable|unchanged|again seen|fixation|fixated|orif|hardware|plate|screws?|sternotomy|wires?|deformity from)\b"
ACUTE = r"\b(?:acute|new|displaced|nondisplaced|non-displaced|fresh|recent)\b"

MALPOSITION = (
    r"\b(?:mal-?position(?:ed)?|too (?:low|high|deep|distal|proximal)|low[- ]lying|high[- ]lying|(?:is |are )?coiled|kink(?:ed|ing)?|looped|"
    r"(?:should|could|can|may) be (?:withdrawn|retracted|advanced|repositioned|pulled back)|"
    r"recommend(?:ed)? (?:withdraw(?:al|ing)|retract(?:ion|ing)|advanc(?:e|ing|ement)|reposition(?:ing)?|pulling back)|"
    r"(?:withdrawal|retraction|advancement|repositioning) (?:is |of \d+ cm (?:is )?)?(?:recommended|suggested|advised)|"
    r"in the (?:neck|azygos|pleural space))\b"
)
# where a device must not be, by kind of device
MALPOSITION_BY_DEVICE = {
    "airway tube": r"\b(?:(?:right|left) main ?stem(?: bronchus)?|bronchus intermedius|(?:in|within) the esophagus|(?:above|at) the (?:level of the )?(?:thoracic inlet|clavicles))\b",
    "enteric tube": r"\b(?:(?:right|left) main ?stem(?: bronchus)?|(?:in|within) the (?:esophagus|airway|trachea|bronchus|lung)|above the (?:diaphragm|ge junction|gastroesophageal junction))\b",
    "central line": r"\b(?:(?:in|within) the (?:right ventricle|internal jugular|ij|azygos)|directed cephalad|extends? into the (?:neck|internal jugular))\b",
    "picc": r"\b(?:(?:in|within) the (?:right ventricle|internal jugular|ij|axillary vein|subclavian vein)|directed cephalad|extends? into the (?:neck|internal jugular))\b",
}
STANDARD_POSITION = (
    r"\b(?:(?:in|at) (?:good|satisfactory|standard|appropriate|adequate|acceptable|expected|unchanged|stable|proper|normal|optimal) (?:position|location|placement)|"
    r"(?:well|appropriately|satisfactorily|properly|adequately) (?:positioned|placed|located|sited)|"
    r"(?:positioned|placed|located) (?:appropriately|satisfactorily|well|properly)|unremarkable position|"
    r"standard position|good position|satisfactory position|appropriate position|expected position|"
    r"terminat(?:es|ing) (?:in|at|within|over) the (?:mid |distal |lower |upper )?(?:svc|superior vena cava|cavoatrial junction|stomach|mid trachea|trachea)|"
    r"tip (?:is )?(?:in|at|within|over|projects over) the (?:mid |distal |lower |upper )?(?:svc|superior vena cava|cavoatrial junction|stomach|mid trachea))\b"
)
FOLLOWUP = r"\b(?:follow-?up|further (?:evaluation|assessment|characterization|imaging)|recommend(?:ed|ation)?|ct (?:is |would be )?(?:recommended|suggested|advised)|dedicated ct|chest ct|ct of the chest|(?<!no )suspicious|concerning|worrisome|malignan(?:cy|t)|neoplas(?:m|tic))\b"
# explanations that make an opacity or nodule benign or chronic: a negation such as
# "no focal airspace disease" or "clear lungs" does not deny them.
BENIGN = (
    r"\b(?:calcifi\w*|granulom\w*|scar(?:s|ring)?|fibros\w*|healed|old|chronic|fat|fat pad|nipple|artifact|overlap\w*|overlying|superimpos\w*|"
    r"composite|soft tissue|costochondral|bone island|end-on vessel)\b|"
    r"\b(?:reflect\w*|represent\w*|likely|probably|consistent with|compatible with|due to|secondary to|suggest\w*|favor\w*)\s+(?:\w+\s+){0,3}(?:atelecta\w*|subsegmental)"
)

LOCATION = (
    r"\b(?:(?:right |left )?(?:upper|middle|lower|mid) (?:lobes?|lung(?: zones?| fields?)?)|lingula(?:r)?|(?:lung |lower lung )?bases?|basilar|bibasilar|"
    r"apex|apices|apical|perihilar|hilar|hila|retrocardiac|costophrenic (?:angles?|sulc(?:us|i))|midlung|mid-lung|suprahilar|infrahilar|"
    r"hemithorax|fissure|lung zones?|pleural space|mainstem bronchus|main bronchus|svc|superior vena cava|right atrium|cavoatrial junction|carina|"
    r"stomach|esophagus|ribs?|clavicles?|humer(?:us|al)|scapulae?|spine|vertebra(?:e|l)?|vertebral bod(?:y|ies)|sternum|axilla|chest wall|diaphragms?|hemidiaphragms?)\b"
)

# Observations whose presence in the findings supports an impression mention.
SUPPORTED_BY: dict[str, set[str]] = {
    "Pneumonia": {"Pneumonia", "Consolidation", "Lung Opacity"},
    "Consolidation": {"Consolidation", "Pneumonia", "Lung Opacity"},
    "Lung Opacity": {
        "Lung Opacity",
        "Consolidation",
        "Pneumonia",
        "Atelectasis",
        "Edema",
        "Lung Lesion",
    },
    "Atelectasis": {"Atelectasis", "Lung Opacity", "Consolidation"},
    "Edema": {"Edema", "Lung Opacity"},
    "Lung Lesion": {"Lung Lesion", "Lung Opacity"},
    "Cardiomegaly": {"Cardiomegaly", "Enlarged Cardiomediastinum"},
    "Enlarged Cardiomediastinum": {"Enlarged Cardiomediastinum", "Cardiomegaly"},
    "Pleural Effusion": {"Pleural Effusion", "Pleural Other"},
    "Pleural Other": {"Pleural Other", "Pleural Effusion"},
}
# Absent observations in the findings that deny an impression mention.
DENIED_BY: dict[str, set[str]] = {
    "Pneumonia": {"Pneumonia", "Consolidation", "Lung Opacity"},
    "Consolidation": {"Consolidation", "Lung Opacity"},
}


def supported_by(observation: str) -> set[str]:
    return SUPPORTED_BY.get(observation, {observation})


def denied_by(observation: str) -> set[str]:
    return DENIED_BY.get(observation, {observation})
