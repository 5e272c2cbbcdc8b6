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
EXTRA_OBSERVATIONS = (
    "Pneumoperitoneum",
    "Pneumomediastinum",
    "Scarring",
    "Emphysema",
    "Subcutaneous Emphysema",
    "Pericardial Effusion",
    "Pulmonary Artery Enlargement",
    "Chest Wall Deformity",
    "Bronchiectasis",
    "Granuloma",
    "Adenopathy",
    "Hemidiaphragm Elevation",
    "Chamber Enlargement",
    "Hiatal Hernia",
    "Aortic Abnormality",
    "Degenerative Change",
    "Bone Lesion",
    "Dislocation",
    "Postsurgical Change",
)

_OPAC = r"opacit(?:y|ies)"
_MEDIASTINAL_SITE = r"(?:hilar|hilum|hila|paratracheal|mediastinal|aortopulmonary|subcarinal)"
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
        r"(?:heart|cardiac (?:silhouette|shadow|size|contours?)|heart size)(?: is| are| remains| remain| appears| size)?(?: (?:again|now|still|stable|borderline|mild|\w+ly|top|somewhat|to|moderate|severe|overall|at least))* (?:enlarged|large|increased in size)",
        {},
    ),
    (
        "Cardiomegaly",
        r"(?:increase|increased|enlargement) in (?:the )?size of the (?:cardiac silhouette|heart)|enlarge(?:d|ment of the) cardiac contours?",
        {},
    ),
    (
        "Cardiomegaly",
        r"(?:heart|cardiac silhouette|cardiac size|heart size|cardiomediastinal silhouette)(?: is| are| remains| appears)? not (?:(?:\w+ly|moderate|mild|severe|significantly) )?(?:to (?:\w+ly |severe |moderate )?)?(?:enlarged|increased in size)",
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
        r"(?:(?:widening|prominence|enlargement|fullness) of the (?:superior )?mediastinum)|(?:widen(?:ed|ing)|wide|enlarged|prominent) (?:of the )?(?:superior )?mediastin(?:um|al (?:silhouette|contours?|XXXX))?|mediastinal (?:widening|enlargement|ha?ematoma|ha?emorrhage)|mediastin(?:um|al (?:silhouette|contours?))(?: is| are| appears?)?(?: (?:somewhat|mildly|slightly|moderately|markedly|again|stable))* (?:widened|enlarged|prominent)",
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
        rf"(?:(?:air[- ]?space|alveolar|parenchymal|interstitial|reticular|patchy|hazy|linear|streaky|focal|ground[- ]glass) )?{_OPAC}|opacification|infiltrates?|infiltration|air[- ]?space disease|(?:air[- ]?space|alveolar|parenchymal|patchy|hazy|ill-defined|focal|streaky|linear|retrocardiac|basilar|base|bases|lung|midlung|mid-lung|increased) {_DENS}|(?:is|are) (?:totally |completely |partially )?opaque|interstitium (?:is )?(?:\w+ )?(?:prominent|accentuated)|prominent interstitium|(?:increased|prominent|coarse|coarsened|reticular|accentuated)(?: \w+){0, 3} interstitial markings|haziness|\bggos?\b|(?:increased|prominent|coarse|coarsened|reticular|accentuated) (?:interstitial |lung |pulmonary |bronchovascular |reticular )?markings|interstitial (?:prominence|accentuation)|\bstreakiness\b|\bstrand(?:s|ing|y)\b|(?:interstitial|septal|peribronchial|bronchial wall) thickening|peribronchial cuffing|interstitial (?:lung )?disease|\bild\b|reticul(?:ation|ar pattern|onodular pattern)|honeycomb(?:ing)?|(?:pulmonary |lung )?contusions?|(?:pulmonary|alveolar|parenchymal) (?:hemorrhage|haemorrhage)",
        {},
    ),
    (
        "Lung Opacity",
        r"lungs?(?: fields?)?(?: are| is| remain| appear)?(?: otherwise| grossly| now)? clear|clear lungs?|lungs?(?: are| is)? (?:well[- ]expanded|well[- ]aerated|hyperexpanded|hyperinflated)(?: and|,) clear|lungs are grossly clear",
        {"polarity": "absent", "also": ["Consolidation", "Pneumonia", "Edema"]},
    ),
    (
        "Lung Lesion",
        r"(?:pulmonary |lung |cavitary |spiculated )?(?:nodules?|masses|mass(?! effect)|neoplasms?|tumou?rs?|malignancy|carcinoma|metasta(?:sis|ses|tic disease))|(?:lung|pulmonary|cavitary|parenchymal) lesions?|\baspergillomas?\b|\bmycetomas?\b|\bcavit(?:y|ies|ation)\b|\bcavitary (?:lesions?|opacit(?:y|ies))",
        {},
    ),
    ("Lung Lesion", rf"nodular {_OPAC}|nodular {_DENS}", {"also": ["Lung Opacity"]}),
    (
        "Edema",
        r"(?:pulmonary |interstitial |alveolar |airspace )?edema|(?:pulmonary )?(?:vascular|venous) congestion|(?:pulmonary|mild|moderate|severe|interstitial) congestion|(?:congestive )?(?:heart|cardiac) failure|\bchf\b|fluid overload|kerley b lines|b-lines|(?:pulmonary )?(?:venous |vascular )?engorgement|cephalization|pulmonary venous hypertension|(?:pulmonary )?vascular (?:prominence|redistribution|indistinctness)|(?:pulmonary |central )?(?:vascularity|vasculature|vessels)(?: is| are)?(?: (?:again|now|still|stable|mildly|moderately|markedly|severely|slightly|minimally|significantly|somewhat|persistently))* (?:engorged|accentuated|indistinct|enlarged)|pulmonary \w+ (?:is |are )(?:engorged|congested)|prominen(?:t|ce of the) (?:central )?pulmonary vascular(?:ity|ture)",
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
    # a lung abscess is an infection with a cavity: named as pneumonia, and as a lesion
    (
        "Pneumonia",
        r"\b(?:lung |pulmonary )?abscess(?:es)?\b",
        {"also": ["Lung Lesion"]},
    ),
    (
        "Atelectasis",
        r"(?:subsegmental |discoid |plate-?like |linear |bibasilar |basilar |lobar |segmental )?atelecta(?:sis|ses|tic(?: (?:changes?|opacit(?:y|ies)))?)|(?:lobar |segmental )?collapsed?|volume loss",
        {},
    ),
    # --- pleura ---
    (
        "Pneumothorax",
        r"(?:hydro|hemo|haemo|pyo)?pneumothora(?:x|ces)|\bptx\b|pleural air collections?|air collections? in the pleural space|"
        r"deep sulcus sign|visceral pleural (?:line|edge|margin)",
        {},
    ),
    (
        "Pleural Effusion",
        r"(?<!pericardial )(?:pleural )?effusions?|hydrothorax|pleural fluid|ha?emothorax|empyema|pyothorax|chylothorax",
        {},
    ),
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
    # --- beyond CheXpert: what chest radiograph reports commonly lateralise ---
    # (not scored as clinical labels; they give the checks something to compare)
    (
        "Scarring",
        r"\b(?:scar(?:s|ring|red)?|fibros(?:is|es)|fibrotic(?: (?:changes?|scarring|strands?|opacit(?:y|ies)))?|cicatri\w*|parenchymal bands?|"
        r"chronic (?:(?:lung|pulmonary|parenchymal|interstitial|fibrotic) )?changes?)\b",
        {},
    ),
    (
        "Emphysema",
        r"\b(?:(?:centrilobular |paraseptal |panlobular |bullous )?emphysema(?:tous(?: (?:changes?|disease|bullae?|blebs?))?)?|bullae?|bullous (?:changes?|disease)|blebs?|copd|"
        r"chronic obstructive (?:pulmonary|lung|airway) disease|hyperinflat(?:ion|ed)|hyperexpan(?:sion|ded)|hyperaerat(?:ion|ed)|hyperlucen(?:t|cy)(?: lungs?)?|"
        r"(?:large|increased) lung volumes|flatten(?:ed|ing)(?: of)?(?: the)? (?:hemi-?)?diaphragms?|increased retrosternal (?:clear |air )?space)\b",
        {},
    ),
    ("Pericardial Effusion", r"\bpericardial (?:effusions?|fluid)\b", {}),
    (
        "Pulmonary Artery Enlargement",
        r"\b(?:(?:enlarged|prominent|dilated|enlargement of the|prominence of the) (?:central |main |bilateral )?pulmonary arter(?:y|ies)|"
        r"pulmonary arter(?:y|ies)(?: (?:is|are|appear))?(?: (?:mildly|moderately|markedly|again))? (?:enlarged|prominent|dilated)|pulmonary (?:arterial )?hypertension)\b",
        {},
    ),
    (
        "Chest Wall Deformity",
        r"\b(?:pectus (?:excavatum|carinatum)(?: deformity)?|pectus deformity|chest wall deformity|funnel chest)\b",
        {},
    ),
    ("Subcutaneous Emphysema", r"\b(?:subcutaneous|soft tissue) (?:emphysema|air|gas)\b", {}),
    ("Bronchiectasis", r"\b(?:traction |cystic )?bronchiectas(?:is|es|tic(?: changes?)?)\b", {}),
    (
        "Granuloma",
        r"\b(?:(?:calcified|noncalcified|non-calcified) )?granulomas?|granulomata|"
        r"(?:calcified|calcific) (?:[\w-]+ (?:(?:versus|or|and) )?){0,3}?lymph (?:nodes?|XXXX)|"
        r"(?:sequelae? of )?(?:prior |old |remote |healed )?granulomatous (?:disease|infection|process|changes?)\b",
        {},
    ),
    (
        "Granuloma",
        r"\bcalcified (?:pulmonary |lung |parenchymal )?(?:nodules?|nodular densit(?:y|ies)|nodular opacit(?:y|ies))\b",
        {"also": ["Lung Lesion"]},
    ),
    (
        "Adenopathy",
        r"\b(?:(?:hilar |mediastinal |paratracheal )?(?:lymph)?adenopathy|(?:enlarged|prominent|bulky) (?:hilar |mediastinal |paratracheal )?lymph (?:nodes?|XXXX)|"
        r"lymph (?:nodes?|XXXX) (?:(?:is|are|remains?|appears?) )?(?:\w+ )?(?:prominent|enlarged)|"
        rf"{_MEDIASTINAL_SITE} (?:prominence|fullness|enlargement|"
        r"soft tissues?(?: (?:fullness|prominence|density|opacity))?|opacit(?:y|ies)|densit(?:y|ies)|widening|"
        r"stripe (?:is |appears )?(?:widened|thickened|denser|prominent|thick))|"
        r"(?:prominen(?:t|ce of)(?: the)?|fullness (?:of|in)(?: the)?|enlargement of(?: the)?|enlarged|bulky|full) (?:(?:left|right|both|bilateral) )?"
        r"(?:hil(?:um|a|ar(?: regions?| contours?| shadows?| structures)?)|paratracheal (?:soft tissues?|stripe|region)))\b",
        {"side": "match"},
    ),
    # A mass in the hilum or mediastinum may be nodes or a tumour; either way it is a mass
    # ("stable right hilar mass" must be named), so it is a lesion as well as adenopathy.
    (
        "Adenopathy",
        rf"\b{_MEDIASTINAL_SITE} mass(?:es)?\b",
        {"side": "match", "also": ["Lung Lesion"]},
    ),
    (
        "Hemidiaphragm Elevation",
        r"\b(?:(?:elevat(?:ed|ion)|eventration|raised|high[- ]riding|paraly(?:sis|zed))(?: of)?(?: the)?(?: (?:left|right|bilateral))?(?: \w+)? (?:hemi-?)?diaphragms?|"
        r"(?:(?:left|right) )?(?:hemi-?)?diaphragms?(?: is| are| remains?| appears?)?(?: not)?(?: (?:again|still|now|persistently|stably|mildly|moderately|markedly|slightly|chronically|relatively|minimally))* (?:elevated|raised|eventrated|high)|"
        r"diaphragmatic eventration|(?:(?:left|right|bilateral) )?(?:hemi-?)?diaphragm(?:atic)? (?:elevation|eventration))\b",
        {"side": "match", "negatable": True},
    ),
    (
        "Chamber Enlargement",
        r"\b(?:(?:left|right) (?:atri(?:al|um)|ventric(?:ular|le)) (?:enlargement|dilat(?:ion|ation)|prominence|hypertrophy|configuration)|"
        r"(?:enlarge(?:d|ment of the)|dilat(?:ed|ation of the)|prominen(?:t|ce of the)|elongat(?:ed|ion of the)) (?:left|right) (?:atri(?:um|al)|ventric(?:le|ular)))\b",
        {"side": "match"},
    ),
    (
        "Hiatal Hernia",
        r"\b(?:(?:small |moderate |large )?(?:hiatal|hiatus|paraesophageal|diaphragmatic|morgagni|bochdalek) hernias?|hernias?)\b",
        {},
    ),
    (
        "Aortic Abnormality",
        r"\b(?:(?:tortuous|tortuosity|ectatic|ectasia|unfolded|unfolding|dilated|dilatation|dilation|aneurysmal|aneurysm|calcified|calcification|atherosclerotic|atherosclerosis|elongated)"
        r"(?: and (?:tortuous|ectatic|unfolded|dilated|calcified|atherosclerotic))?(?: (?:of|to|in|involving))?(?: the)?(?: (?:thoracic|descending|ascending|transverse|abdominal)){0,2} aort(?:a|ic(?: arch| knob| knuckle)?)|"
        r"aort(?:a|ic arch|ic knob)(?: (?:is|are|appears|remains))?(?: not)?(?: (?:mildly|moderately|markedly|slightly|again|somewhat|diffusely))* (?:tortuous|ectatic|unfolded|dilated|calcified|aneurysmal|elongated)|"
        r"(?:aortic|vascular|arterial) (?:atherosclerosis|calcifications?|atherosclerotic (?:calcifications?|changes|disease|plaque))|"
        r"atherosclero(?:sis|tic (?:changes|calcifications?|disease|vascular (?:disease|calcifications?)))|aortic (?:aneurysm|ectasia|tortuosity)|"
        r"(?:right|left)[- ]sided aortic arch)\b",
        {"side": "match", "negatable": True},
    ),
    (
        "Degenerative Change",
        r"\b(?:(?:levo|dextro|thoracolumbar |thoracic |lumbar )?scoliosis|(?:increased |exaggerated |accentuated )?(?:thoracic )?kyphosis|kyphotic (?:deformity|curvature|changes?)|"
        r"degenerative (?:changes?|disease|joint disease|disc disease|arthritis)|osteophytes?|osteophytosis|spondylo(?:sis|tic changes?)|spondylitic|"
        r"diffuse idiopathic skeletal hyperostosis|osteopeni[ac]|osteoporo(?:sis|tic)|demineraliz(?:ation|ed)|arthriti(?:s|c changes?)|arthropathy|"
        r"(?:endplate|facet) (?:changes?|arthropathy|sclerosis))\b",
        {},
    ),
    (
        "Bone Lesion",
        r"\b(?:(?:lytic|sclerotic|blastic|lucent|expansile|destructive|osteolytic|osteoblastic) (?:bone |osseous )?(?:lesions?|foc(?:us|i)|areas?|metasta\w+)|"
        r"(?:bone|bony|osseous|rib|clavicular|humeral|vertebral|skeletal) (?:lesions?|metasta\w+|destruction)|bone islands?|geodes?|enchondromas?|"
        r"lucenc(?:y|ies)(?= (?:in|of|through|involving|crossing|crosses|traversing|within|at) (?:the )?(?:\w+ ){0,6}(?:ribs?|clavicles?|humer\w+|scapulae?|vertebra\w*|bones?|sternum|glenoid))|"
        r"(?:rib|clavicle|clavicular|humeral|scapular|sternal) (?:irregularit(?:y|ies)|deformit(?:y|ies)|lucenc(?:y|ies))|irregularity of the (?:\w+ ){0,3}(?:rib|clavicle|humer\w+))\b",
        {},
    ),
    (
        "Dislocation",
        r"\b(?:dislocat(?:ed|ion|ions)|sublux(?:ed|ation|ations)|(?:acromioclavicular|ac|sternoclavicular) (?:joint )?(?:separation|widening|diastasis)|abnormal separation|malalignment)\b",
        {},
    ),
    (
        "Postsurgical Change",
        r"\b(?:(?:median |midline )?sternotomy(?: (?:wires?|sutures?|changes?))?|cabg|coronary (?:artery )?bypass(?: graft(?:ing)?)?|"
        r"(?:lob|pneumon|segment|mastect|thyroidect|esophagect|cholecystect)ectom(?:y|ies)|thoracotom(?:y|ies)|thoracoplasty|(?:wedge |surgical |partial )?resections?|"
        r"surgical (?:clips?|sutures?|staples?|changes?)|(?:suture|staple) (?:material|lines?)|post-?(?:operative|surgical) changes?|"
        r"(?:mitral |aortic |prosthetic |tricuspid )?valve (?:replacement|prosthes[ie]s|repair)|prosthetic (?:heart )?valves?|vertebroplast(?:y|ies)|kyphoplast(?:y|ies))\b",
        {},
    ),
    # matched only so that the longer phrase hides the observation word inside it
    (
        "IGNORE",
        r"\bfractur\w* (?:of|in|involving) (?:the |a |one of the )?(?:[\w-]+ ){0,2}(?:sternotomy|wires?|screws?|hardware|leads?|catheters?|plates?|rods?)\b(?: (?:wires?|XXXX))?|"
        r"(?:soft tissue|laryngeal|prevertebral|scrotal|extremity) edema|mass effect|calcifi(?:c|ed) (?:densit(?:y|ies)|opacit(?:y|ies))|(?:catheter|lead|wire|line|sternotomy wire|screw|plate|hardware) fracture|(?:joint|knee|elbow|ankle) effusions?|bone density|nipple (?:shadows?|markers?|rings?)",
        {},
    ),
    (
        "Pneumomediastinum",
        r"\bpneumomediastinum\b|\bpneumopericardium\b|\bmediastinal (?:emphysema|air|gas)\b",
        {},
    ),
    # --- abdomen ---
    (
        "Pneumoperitoneum",
        r"pneumoperitoneum|aeroperitoneum|peritoneal emphysema|free (?:intraperitoneal |subdiaphragmatic |intra-abdominal )?air|sub(?:diaphragmatic|phrenic) (?:free )?air|air under the (?:right |left )?(?:hemi)?diaphragms?",
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
        r"(?:nasogastric|orogastric|feeding|enteric|dobhoff|gastrostomy|jejunostomy|\bng\b|\bog\b|\bg\b|\bpeg\b) tubes?|dobhoff|\bpeg\b",
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
    (
        "Support Devices",
        r"\b(?:medi-?port|port-?a-?cath|infusa-?port|(?:chest wall|chest|power|venous access|subcutaneous|implanted) port|port(?= (?:catheter|device|reservoir|tip|with)))\b",
        {"device": "central line"},
    ),
    (
        "Support Devices",
        r"\b(?:(?:venous|dialysis|hemodialysis|drainage|indwelling|tunneled|tunnelled|double[- ]lumen|dual[- ]lumen|triple[- ]lumen|medication injection|vascular|intravenous) )?catheters?\b",
        {"device": "catheter"},
    ),
    (
        "Support Devices",
        r"\b(?:(?:orthopedic|orthopaedic|surgical|fixation|spinal|fusion) hardware|hardware|(?:humeral|shoulder|hip|joint) (?:prosthes[ie]s|arthroplast(?:y|ies)|hemiarthroplast(?:y|ies))|(?:hemi)?arthroplast(?:y|ies)|"
        r"(?:plate and screws?|screws?|plate|rods?|intramedullary (?:rod|nail)) fixation|fixation (?:hardware|plates?|screws?|rods?)|orif|spinal (?:fusion )?rods?|fusion rods?|prosthes[ie]s)\b",
        {"device": "hardware"},
    ),
    (
        "Support Devices",
        r"\b(?:(?:vascular|airway|biliary|esophageal|coronary|svc) )?stents?\b",
        {"device": "stent"},
    ),
]
# Devices that may be named by the generic word "catheter": a catheter in one text is
# the same thing as any of these in the other.
CATHETER_LIKE = frozenset({"catheter", "central line", "picc", "chest tube"})

# Phrases that say the whole study is normal; used for No Finding only.
NORMAL_STUDY = (
    # "no acute radiographic cardiopulmonary process": up to two qualifiers
    r"\bno acute\s+(?:(?:cardiopulmonary|cardiothoracic|pulmonary|intrathoracic|chest|radiographic|thoracic)\s+){0,2}"
    r"(?:abnormalit(?:y|ies)|disease|process(?:es)?|findings?|pathology|change)"
    r"|\bnormal (?:chest|study|exam(?:ination)?|radiograph|chest x-?ray|chest radiographs?)\b"
    r"|\b(?:chest|study|exam) is normal\b|\bno (?:significant |active )?cardiopulmonary (?:abnormality|disease|process)"
    r"|\bunremarkable (?:chest|study|exam(?:ination)?|radiograph)\b|\bnegative (?:chest|study|exam)\b"
    r"|\bnegative for (?:any )?(?:acute|active) (?:cardiopulmonary |intrathoracic |pulmonary |chest )?(?:abnormalit(?:y|ies)|disease|process|findings?)"
    r"|\bno (?:evidence of |radiographic evidence of )?(?:acute |active )+(?:or (?:active|acute|chronic) )?(?:cardiopulmonary |cardiothoracic |intrathoracic |pulmonary |chest |thoracic )?(?:disease|process|abnormalit(?:y|ies)|findings?)"
    r"|^\W*(?:\d[.)]\s*)?(?:chest[.:]?\s*)?negative\W*$"
)
# What an impression that calls the study normal must still name, if the findings say it.
NORMAL_MUST_NAME = frozenset(
    {
        "Pneumothorax",
        "Pneumoperitoneum",
        "Pneumomediastinum",
        "Pleural Effusion",
        "Pericardial Effusion",
        "Consolidation",
        "Pneumonia",
        "Edema",
        "Lung Opacity",
        "Lung Lesion",
        "Fracture",
        "Subcutaneous Emphysema",
        "Dislocation",
    }
)
# Findings that are active whatever their course: "stable" does not make them chronic.
ACUTE_BY_NATURE = frozenset(
    {
        "Pneumothorax",
        "Pneumoperitoneum",
        "Pneumomediastinum",
        "Consolidation",
        "Pneumonia",
        "Edema",
        "Subcutaneous Emphysema",
    }
)
# ... and, when it does not limit itself to "acute" ("Normal chest."), these too.
NORMAL_MUST_NAME_ANY = frozenset(
    {"Cardiomegaly", "Atelectasis", "Enlarged Cardiomediastinum", "Adenopathy", "Bone Lesion"}
)
# ... and "no acute abnormality" too, when their words (the mention and the three words before
# it) say the first pattern and not the second: a collapsed lobe or lung (an obstructing mucus
# plug or mass), not subsegmental or plate-like atelectasis. Like NAMED_EVEN_IF_STABLE below, a
# collapsed lobe must be named even when unchanged ("unchanged right middle lobe collapse").
NORMAL_MUST_NAME_WHEN: dict[str, tuple[str, str]] = {
    "Atelectasis": (
        r"\b(?:collapsed?|lobar|complete(?:ly)?)\b",
        r"\b(?:subsegmental|segmental|plate|discoid|linear|minimal|mild)",
    ),
    # a widened mediastinum in chest pain or trauma is an aortic injury until shown otherwise
    # ("Widened mediastinum." drafted as "No acute cardiopulmonary disease."); one the words
    # put down to technique or vessels is not
    "Enlarged Cardiomediastinum": (
        r"\bwiden",
        r"\b(?:mild(?:ly)?|slight(?:ly)?|minimal(?:ly)?|ap|portable|rotat\w*|technique|projection|"
        r"tortuous|ectatic|vascular|vessels?|fat|lipomatosis|stable|unchanged|chronic|known)\b",
    ),
}
# Opacities and lesions count only when the words make them substantial: an airspace
# process or a mass, not "interstitial markings" or "a small density".
NORMAL_SUBSTANTIAL = {
    "Lung Opacity": r"air ?space|alveolar|consolidat|infiltrat|patchy|confluent|focal|dense|ground[- ]glass|\bggo|contusion|ha?emorrhage",
    "Lung Lesion": r"mass|neoplas|tumou?r|carcinoma|malignan|metasta|cavit|abscess",
}
# Explained as benign or chronic ("opacity, likely scarring"): not a finding of substance.
NORMAL_BENIGN_EXEMPT = frozenset(
    {"Lung Opacity", "Lung Lesion", "Atelectasis", "Adenopathy", "Bone Lesion"}
)
# The same, when it says only that nothing *acute* is seen: stable or chronic findings
# may be left out of such an impression, new ones may not.
NORMAL_ACUTE_ONLY = r"\b(?:acute|active)\b"
# ... except these, which such an impression must name even when unchanged ("stable small left
# pleural effusion", "stable right hilar mass"); only words that make them chronic, old or
# resolved excuse them.
NAMED_EVEN_IF_STABLE = frozenset({"Pleural Effusion", "Pericardial Effusion", "Lung Lesion"})

# What an impression cannot both report and call the study free of acute disease for
# ("Increased left pneumothorax. ... No acute pulmonary disease."): a draft stitched from a
# findings sentence and a stock normal sentence says both. Radiologists do not: of Open-i's
# 1,674 impressions with such a normal sentence, none names one of these as new or active
# (they name scarring, subsegmental atelectasis, old fractures, stable effusions, and write
# "no *other* acute ..." after a pneumonia). Free air and mediastinal air are critical
# findings to be called to the clinician: "Free air under the right hemidiaphragm. No acute
# cardiopulmonary process." (the default's first draft for such a report) buries one.
ACUTE_NOT_NORMAL = frozenset(
    {
        "Pneumonia",
        "Consolidation",
        "Pneumothorax",
        "Pleural Effusion",
        "Edema",
        "Pneumoperitoneum",
        "Pneumomediastinum",
    }
)
# ... of which "stable" or "unchanged" does not excuse these beside "no acute ...": air in
# the pleural space, the peritoneum or the mediastinum is managed until it is gone ("Small
# left apical pneumothorax, unchanged. ... No acute cardiopulmonary abnormality." was drafted
# after a lobectomy), as the omission check already holds for a normal impression.
STABLE_NOT_EXCUSED = frozenset({"Pneumothorax", "Pneumoperitoneum", "Pneumomediastinum"})

# ConText modifiers (literal, category, direction, regex or None, max_scope in tokens or None;
# a terminator's scope is always one word, see extractor.build_pipeline).
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
        r"\b(?:complete |interval )?(?:resolution|removal|clearing) of\b",
        10,
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
        rf"\b(?:(?:is|are|was|were) )?(?:no longer|not) (?:well |definitely |clearly |convincingly |again |currently |now )?{_NOT_SEEN}\b",
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
    # uncertainty (longer phrases win over the negation cues they contain); "cannot exclude"
    # looks forward, "cannot be excluded" back ("pneumothorax cannot be excluded")
    (
        "cannot exclude",
        "POSSIBLE_EXISTENCE",
        "FORWARD",
        r"\b(?:cannot|can not|can't|could not|does not|difficult to|unable to) (?:exclude|rule out)d?\b(?: for)?",
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
        r"\b(?:possible|possibly|probable|probably|likely|questionable|question of|question|suspected|suspect|suspicious for|suspicious of|suggestive of|suggestion of|suggesting|concerning for|worrisome for|may represent|may reflect|may be|might be|could be|could represent|can represent|may indicate|differential (?:diagnosis |considerations? |diagnoses )?(?:includes?|considerations?)|(?:diagnostic )?considerations? (?:would |may |could )?include|consider|equivocal|presumed|presumably|indeterminate|may have|possibility of|concern for|concerning|doubt)\b",
        None,
    ),
    (
        "versus",
        "POSSIBLE_EXISTENCE",
        "BIDIRECTIONAL",
        r"\b(?:versus|vs\.?|or less likely)\b|and/or",
        None,
    ),
    # "Small bilateral pleural effusions with bibasilar atelectasis and/or airspace disease":
    # the alternatives are in doubt, not the finding "with" joins them to (see TERMINATED_BY)
    ("with", "ALTERNATIVES_END", "PSEUDO", r"\bwith\b", None),
    # "Interval resolution of the left effusion, persistent right consolidation": what
    # resolved ends where another finding's state is given (see TERMINATED_BY)
    (
        "persistent",
        "STATE_END",
        "PSEUDO",
        r"\b(?:persistent|persists|persisting|remaining|remains|residual|new|unchanged|stable|increased|worsening|worsened)\b",
        None,
    ),
    (
        "likely backward",
        "POSSIBLE_EXISTENCE",
        "BACKWARD",
        r"\b(?:is|are) (?:not excluded|possible|likely|suspected|questioned|favored|doubtful)\b|\bmay not be (?:demonstrated|seen|visible|detected|apparent|evident)\b",
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
        r"\b(?:history of|h/o|hx of|known history of|known|status post|s/p|sequelae? of|residuals? (?:of|from)|(?<!since )(?<!to )(?<!from )(?<!with )(?<!on )(?<!than )(?:previous|prior|remote)(?! (?:exam|examination|study|studies|films?|radiographs?|chest|ct|comparison|images?|x-?rays?|day|days|one)))\b",
        5,
    ),
    # findings of another exam: "seen on prior CT, a nodule", "the other nodules seen on
    # the chest CT" (the finding may come after or before)
    (
        "seen on CT",
        "HISTORICAL",
        "BIDIRECTIONAL",
        r"\b(?:seen|noted|identified|demonstrated|present|described) on (?:the )?(?:prior |previous |recent |earlier )?(?:chest )?ct\b",
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
    # the age of a fracture is in doubt, not the fracture
    (
        "age-indeterminate",
        "POSSIBLE_EXISTENCE",
        "PSEUDO",
        r"\bage[- ]?indeterminate\b|\bindeterminate age\b",
        None,
    ),
    # "no suggestion of enlargement of the known nodule": the nodule is there
    (
        "no growth of",
        "NEGATED_EXISTENCE",
        "PSEUDO",
        r"\bno (?:suggestion|evidence|sign) of (?:interval )?(?:enlargement|growth|progression|increase|change)(?: in size)? (?:of|in)\b",
        None,
    ),
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

# Rules whose scope also ends at these modifier categories (medspaCy's terminated_by).
TERMINATED_BY: dict[str, set[str]] = {
    "versus": {"ALTERNATIVES_END"},
    "resolution of": {"ALTERNATIVES_END", "STATE_END"},
}

LEFT = r"\b(?:left|leftward|left-sided|lt)\b|\bL\b(?!\d)"
RIGHT = r"\b(?:right|rightward|right-sided|rt)\b|\bR\b(?!\d)"
BILATERAL = (
    r"\b(?:bilateral(?:ly)?|both (?:lungs?|sides|hemithoraces|bases|apices|lower lobes|upper lobes)|bibasilar|bibasal|"
    r"bi-?basilar|bi-?apical|b/l|left and right|right and left|lung bases|bases|apices|bilaterally)\b"
)
# Which side of a bilateral finding is worse: "effusions, right greater than left",
# "R>L", "greater on the left", "predominantly right-sided". The side is the group that
# matches; a sentence whose phrases disagree names no side.
DOMINANT_SIDE = (
    r"\b(left|right|[lr])(?:[- ]sided)?\s*(?:(?:slightly|somewhat|much|significantly|far)\s+)?"
    r"(?:greater|larger|worse|more(?: so)?|>)\s*(?:than\s+)?(?:the\s+)?(?:left|right|[lr])\b"
    r"|\b(?:greater|larger|worse|more (?:pronounced|prominent|marked|extensive)|most (?:pronounced|prominent|marked|extensive))"
    r"\s+(?:on|at|in)\s+the\s+(left|right)\b"
    r"|\b(?:predominantly|mainly|primarily|chiefly)\s+(?:on the\s+)?(left|right)(?:[- ]sided)?\b"
    r"|\b(left|right)[- ]sided predominance\b"
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
# "no interval increase": a statement of no change that contains a change word; it is
# read as stable and removed before the other change words are looked for.
NO_CHANGE = r"\b(?:no|without) (?:significant |appreciable |definite |substantial )?(?:interval )?(?:change|increase|decrease|worsening|progression|enlargement|growth|improvement)\b(?:\s+in (?:the )?(?:size|number|extent|appearance)(?: (?:and|or) (?:size|number|extent))?)?|\bnot (?:significantly |substantially )?(?:changed|increased|enlarged)\b"
CHANGE_DIRECTION = {
    "new": "worse",
    "worse": "worse",
    "improved": "better",
    "resolved": "better",
    "stable": "stable",
}

CHRONIC = r"\b(?:old|healed|healing|remote|chronic|prior|previous|ununited|nonunion|non-union|longstanding|long-standing|post-?surgical|postoperative|sclerotic|stable|unchanged|again seen|fixation|fixated|orif|hardware|plate|screws?|sternotomy|wires?|deformity from)\b"
# "new since the prior", "compared to previous": the earlier study, not an earlier injury
COMPARED_WITH_EARLIER = (
    r"\b(?:since|from|than|to|with|on) (?:the )?(?:prior|previous)"
    r"(?: (?:exam\w*|stud(?:y|ies)|radiographs?|films?|imaging|comparison))?(?=\s*(?:[.,;)]|$))"
)
ACUTE = r"\b(?:acute|new|displaced|nondisplaced|non-displaced|fresh|recent)\b"

MALPOSITION = (
    r"\b(?:mal-?position(?:ed)?|too (?:low|high|deep|distal|proximal)|low[- ]lying|high[- ]lying|(?:is |are )?coiled|kink(?:ed|ing)?|looped|"
    r"(?:should|could|can|may) be (?:withdrawn|retracted|advanced|repositioned|pulled back)|"
    r"recommend(?:ed)? (?:withdraw(?:al|ing)|retract(?:ion|ing)|advanc(?:e|ing|ement)|reposition(?:ing)?|pulling back)|"
    r"(?:withdrawal|retraction|advancement|repositioning) (?:is |of \d+ cm (?:is )?)?(?:recommended|suggested|advised)|"
    r"in the (?:neck|azygos|pleural space))\b"
)
# A broken or disconnected device needs the same urgent attention as a misplaced one (the
# checks treat it as malpositioned), but its warning names it as what it is.
DEVICE_FAULT = (
    r"\b(?:(?:fracture[ds]?|interruption|discontinuity|disconnect(?:ed|ion)|severed|broken|break) "
    r"(?:of|in) the (?:[\w-]+ ){0,5}(?:catheter|line|lead|wire|tube|port)|"
    r"(?:catheter|line|lead|tube|port) (?:fracture|interruption|discontinuity|disconnection|break)|"
    r"(?:fractured|disconnected|severed|broken) (?:[\w-]+ ){0,4}(?:catheter|line|lead|tube|port))\b"
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
        "Scarring",
    },
    "Atelectasis": {"Atelectasis", "Lung Opacity", "Consolidation", "Scarring"},
    "Edema": {"Edema", "Lung Opacity"},
    "Lung Lesion": {"Lung Lesion", "Lung Opacity", "Adenopathy", "Granuloma"},
    "Cardiomegaly": {"Cardiomegaly", "Enlarged Cardiomediastinum", "Chamber Enlargement"},
    "Enlarged Cardiomediastinum": {"Enlarged Cardiomediastinum", "Cardiomegaly", "Adenopathy"},
    "Pleural Effusion": {"Pleural Effusion", "Pleural Other"},
    "Pleural Other": {"Pleural Other", "Pleural Effusion", "Scarring"},
    "Scarring": {"Scarring", "Lung Opacity", "Atelectasis", "Pleural Other"},
    "Granuloma": {"Granuloma", "Lung Lesion", "Lung Opacity"},
    "Adenopathy": {"Adenopathy", "Lung Lesion", "Enlarged Cardiomediastinum", "Granuloma"},
    "Emphysema": {"Emphysema", "Bronchiectasis"},
    "Fracture": {"Fracture", "Bone Lesion", "Dislocation"},
    "Bone Lesion": {"Bone Lesion", "Fracture"},
    "Dislocation": {"Dislocation", "Fracture"},
    "Hemidiaphragm Elevation": {"Hemidiaphragm Elevation", "Atelectasis"},
    "Chamber Enlargement": {"Chamber Enlargement", "Cardiomegaly"},
    "Postsurgical Change": {"Postsurgical Change", "Support Devices"},
}
# Absent observations in the findings that deny an impression mention.
DENIED_BY: dict[str, set[str]] = {
    "Pneumonia": {"Pneumonia", "Consolidation", "Lung Opacity"},
    "Consolidation": {"Consolidation", "Lung Opacity"},
}
# Findings too often bilateral or loosely placed for a side comparison of their own
# (the anatomical-site check still compares "left knee" with "right knee").
NO_LATERALITY = frozenset({"Degenerative Change"})
# Related findings whose side says nothing about another finding's side: a calcified
# node in the right hilum does not place a nodule on the right.
NOT_SIDE_EVIDENCE = frozenset({"Granuloma", "Adenopathy", "Postsurgical Change", "Support Devices"})
# An impression finding the findings never mention is reported for these. Scarring,
# emphysema and post-surgical change are left out: impressions name them from the image
# or the history ("chronic changes", "COPD", "hyperexpansion": 13 of the 1,532 Open-i
# tune-half impressions would be flagged). So are the descriptive extras (aorta, spine,
# hiatal hernia, chest wall): an impression adds them from the image without dictating
# them, and their copy from another report misleads less.
UNSUPPORTED_CHECKED = (frozenset(CHEXPERT_OBSERVATIONS) - {"No Finding"}) | {
    "Pneumoperitoneum",
    "Adenopathy",
    "Subcutaneous Emphysema",
    "Pneumomediastinum",
    "Dislocation",
    "Bone Lesion",
    "Pericardial Effusion",
    "Hemidiaphragm Elevation",
    "Chamber Enlargement",
    "Pulmonary Artery Enlargement",
    "Bronchiectasis",
    "Granuloma",
}


def supported_by(observation: str) -> set[str]:
    return SUPPORTED_BY.get(observation, {observation})


def denied_by(observation: str) -> set[str]:
    return DENIED_BY.get(observation, {observation})


# --- where the side is not written next to the finding ---------------------------------
# Anatomy that has only one side: a finding placed there takes that side.
IMPLIED_SIDE: list[tuple[str, str]] = [  # (also used as sites: "lingula" names the left lung)
    (r"\blingula(?:r)?\b", "left"),
    (r"\bretrocardiac\b", "left"),  # behind the heart is the left lower lobe
    (r"\b(?:posterior to|behind) the (?:left )?heart\b", "left"),
    (r"\bmiddle lobe\b", "right"),
    (r"\bazygo-?esophageal recess\b", "right"),
]
# A sentence that speaks of the finding before it: "This likely represents pneumonia."
ANAPHORA = r"^\W*(?:\d[.)]\s*)?(?:this|these|it|they|which|findings?|the (?:finding|findings|appearance|opacity|opacities|abnormality)|appearance)\b"
# Bones, for the bone an impression places a fracture in (the extractor's location words).
BONES = {
    "rib": "rib",
    "ribs": "rib",
    "clavicle": "clavicle",
    "clavicles": "clavicle",
    "humerus": "humerus",
    "humeral": "humerus",
    "scapula": "scapula",
    "scapulae": "scapula",
    "spine": "spine",
    "vertebra": "spine",
    "vertebrae": "spine",
    "vertebral": "spine",
    "vertebral body": "spine",
    "vertebral bodies": "spine",
    "sternum": "sternum",
}
# Lobes, for the lobe an impression places a finding in ("right upper lobe", "RUL",
# "lingula"); groups: side and lobe written out, the lingula, or the abbreviation.
LOBE = r"\b(right|left)\s+(upper|middle|lower)\s+lobes?\b|\b(lingula)r?\b|\b([rl])([uml])l\b"
# Findings placed by lobe, which the location check compares.
LOBAR_OBSERVATIONS = frozenset(
    {
        "Lung Opacity",
        "Consolidation",
        "Pneumonia",
        "Atelectasis",
        "Lung Lesion",
        "Granuloma",
        "Scarring",
    }
)
# Anatomy that does not exist: a side named with it is a side error in the text itself.
IMPOSSIBLE_SIDE = (
    r"\bleft (?:middle lobe|minor fissure|azygos)\b|\bright (?:lingula(?:r)?|lingular segment)\b"
)
# A side placed after a comma: "opacities, most notably in the right middle lobe".
LOCATIVE_AFTER = (
    r"^[^.;]{0,40}?,\s*(?:(?:most (?:notably|prominently|pronounced)|predominantly|mainly|particularly|especially|primarily|chiefly|greatest|"
    r"(?:slightly |much |somewhat |significantly )?(?:greater|larger|worse|more (?:pronounced|prominent|marked|extensive)))\s+)?"
    r"(?:in|at|within|involving|along|over|projecting over|overlying|on)\s+(?:the\s+)?(?:\w+\s+){0,2}?(left|right|bilateral|both)\b"
)

# --- sections inside a text -----------------------------------------------------------
# "HISTORY: pneumonia. FINDINGS: ..." in one field: what the history or comparison
# sections name is not a finding of today's study.
SECTION_HEADER = (
    r"(?:^|(?<=[.\n]))\s*(clinical history|history|indications?|reason for (?:exam|examination|study)|comparison|technique|"
    r"findings|impression|conclusions?|procedure)\s*:"
)
PAST_SECTIONS = r"^(?:clinical history|history|indications?|reason|comparison|technique|procedure)"

# --- anatomy for the side check that needs no finding ------------------------------------
# A side named with one of these sites in the impression is compared with the sides the
# findings name for the same site, whatever the finding is. Site group -> words.
SIDED_SITES: dict[str, str] = {
    "lung": r"lungs?|lobes?|lobar|bases?|basilar|basal|apex|apices|apical|midlung|mid-lung|mid lung|hemithorax|"
    r"hil(?:um|a|ar)|perihilar|suprahilar|infrahilar|juxtahilar|retrohilar|costophrenic|lung zones?|upper zone|lower zone|"
    r"chest(?! (?:x-?ray|radiograph|ct|film))|pleural|pleura|lingula|lingular",
    "hemidiaphragm": r"(?:hemi-?)?diaphragms?",
    "atrium": r"atri(?:um|al)",
    "ventricle": r"ventric(?:le|ular)",
    "clavicle": r"clavicles?|clavicular|acromioclavicular",
    "rib": r"ribs?",
    "shoulder": r"shoulders?|humer(?:us|al)|glenoid|glenohumeral|scapulae?|scapular",
    "breast": r"breasts?|mastectomy|axilla(?:ry)?",
    "neck vessel": r"internal jugular|\bij\b|jugular|subclavian|brachiocephalic",
    "mediastinum": r"paratracheal|mediastin(?:um|al)|paraesophageal|paraspinal|paravertebral",
    "arm": r"arms?|upper extremity|elbow|forearm|wrist|hand",
    "leg": r"legs?|lower extremity|foot|feet|ankle|knee|hip|femur|femoral",
    "kidney": r"kidneys?|renal",
}
