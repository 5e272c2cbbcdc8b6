"""Errors injected into real radiologist impressions, to measure the checker on real phrasing.

A labelled set written by the rule author shares the author's blind spots; the
probe instead takes real impressions and makes the mistakes a draft model makes:
a side swapped, a lobe swapped, the impression replaced by a stock normal sentence although the
findings carry a critical finding, a positive finding negated, and a finding
added that the findings deny. Which reports qualify is decided with plain word
lists and the report's own MeSH index terms, never with the checker's extractor,
so the probe does not grade the rules with themselves.

Reports are split into halves by a hash of their uid: rules are tuned on one
half and the other is only scored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

SPLITS = ("tune", "heldout")
KINDS = ("side_swap", "lobe_swap", "critical_omitted", "negation_flip", "denied_added")
# which warning types count as catching each kind of error
CAUGHT_BY: dict[str, frozenset[str]] = {
    "side_swap": frozenset({"laterality_mismatch"}),
    "lobe_swap": frozenset({"location_mismatch"}),
    "critical_omitted": frozenset({"omitted_critical", "contradiction"}),
    "negation_flip": frozenset({"contradiction"}),
    "denied_added": frozenset({"contradiction"}),
}
STOCK_NORMAL = (
    "No acute cardiopulmonary abnormality.",
    "No acute cardiopulmonary process.",
    "Normal chest.",
    "No acute cardiopulmonary disease.",
    "No acute intrathoracic abnormality.",
)


def split_of(uid: str) -> str:
    """'tune' or 'heldout', fixed by the uid alone (stable across runs, machines and row order)."""
    return SPLITS[hashlib.sha256(str(uid).encode()).digest()[0] % 2]


_SIDE = re.compile(r"\b(left|right)\b", re.I)


def flip_sides(text: str) -> str:
    """Swap left and right, keeping case: the laterality error a draft can make."""

    def swap(m: re.Match) -> str:
        w = m.group(0)
        new = "right" if w.lower() == "left" else "left"
        if w.isupper():
            return new.upper()
        return new.capitalize() if w[0].isupper() else new

    return _SIDE.sub(swap, text)


def sides_in(text: str) -> set[str]:
    return {m.lower() for m in _SIDE.findall(text)}


_LOBE = re.compile(r"\b(left|right)\s+(upper|lower)(\s+lobes?)\b", re.I)


def lobe_swapped(impression: str, findings: str) -> str | None:
    """The impression with its upper and lower lobes swapped, where that makes a lobe
    error the findings can show: every lobe it names is named in the findings, and none
    it swaps to is."""
    named = {(s.lower(), z.lower()) for s, z, _ in _LOBE.findall(findings)}
    lobes = {(s.lower(), z.lower()) for s, z, _ in _LOBE.findall(impression)}
    swapped = {(s, "lower" if z == "upper" else "upper") for s, z in lobes}
    if not lobes or not lobes <= named or swapped & named:
        return None

    def swap(m: re.Match) -> str:
        z = m.group(2)
        new = "lower" if z.lower() == "upper" else "upper"
        return f"{m.group(1)} {new.capitalize() if z[0].isupper() else new}{m.group(3)}"

    return _LOBE.sub(swap, impression)


# --- critical findings, as the Open-i MeSH index names them ------------------------------
# MeSH heading -> words the findings use for it. A report qualifies when its index
# has the heading (without a chronic modifier) and the findings say one of the words
# outside a negation.
CRITICAL_MESH: dict[str, str] = {
    "Pneumothorax": r"pneumothora|hydropneumo",
    "Hydropneumothorax": r"pneumothora|hydropneumo",
    "Hemopneumothorax": r"pneumothora",
    "Pneumoperitoneum": r"pneumoperitoneum|free (?:intraperitoneal |subdiaphragmatic )?air|air under",
    "Pneumonia": r"pneumonia|infiltrat|consolidat|airspace|air space|opacit",
    "Pulmonary Edema": r"edema",
    "Consolidation": r"consolidat",
    "Pleural Effusion": r"effusion|pleural fluid",
    "Mass": r"\bmass",
    "Fractures, Bone": r"fracture",
}
_CHRONIC_MESH = re.compile(r"/(?:healed|chronic|old)\b", re.I)
# a fracture the findings call old, or a broken wire or screw, is not a critical finding
_OLD_FRACTURE = re.compile(
    r"\b(?:old|healed|healing|remote|chronic|prior|previous|fixation|sternotomy|wires?|screws?|hardware)\b",
    re.I,
)
# a finding the findings only suspect is not one they carry
_HEDGE = re.compile(
    r"\b(?:may|might|could|possibl\w*|question\w*|suspect\w*|versus|vs|or|cannot|can not|"
    r"differential|consider|suggest\w*|equivocal|borderline)\b",
    re.I,
)
_NEG_BEFORE = re.compile(
    r"\b(?:no|not|without|negative|free of|clear of|resolved|resolution|removal|removed|rule out|exclude)\b",
    re.I,
)
_SENT = re.compile(r"(?:[^.]|\.(?=\d))+(?:\.|$)")


def sentences(text: str) -> list[tuple[int, str]]:
    """(start, sentence) pairs split at full stops that do not sit inside a number."""
    return [(m.start(), m.group(0)) for m in _SENT.finditer(text) if m.group(0).strip()]


def said_positively(text: str, pattern: str, definite: bool = False) -> bool:
    """True when a sentence names the words with no negation before them in that sentence.

    ``definite`` also leaves out sentences with a hedge ("may represent", "or").
    """
    rx = re.compile(pattern, re.I)
    for _, s in sentences(text):
        if definite and _HEDGE.search(s):
            continue
        for m in rx.finditer(s):
            if not _NEG_BEFORE.search(s[: m.start()]):
                return True
    return False


def critical_headings(mesh: str, findings: str) -> list[str]:
    """Critical MeSH headings of a report that its findings state positively and definitely."""
    out = []
    for term in (mesh or "").split(";"):
        head = term.split("/")[0].strip()
        if head in CRITICAL_MESH and not _CHRONIC_MESH.search(term) and head not in out:
            text = findings
            if head == "Fractures, Bone":
                text = " ".join(s for _, s in sentences(findings) if not _OLD_FRACTURE.search(s))
            if said_positively(text, CRITICAL_MESH[head], definite=True):
                out.append(head)
    return out


# --- findings a sentence can be negated about ---------------------------------------------
FINDING_WORDS = (
    r"effusions?|pneumothorax|consolidation|pneumonia|opacit(?:y|ies)|atelectasis|cardiomegaly|edema|"
    r"nodules?|mass|fractures?|granulomas?|scarring|infiltrates?|emphysema|hyperinflation|airspace disease|"
    r"air space disease|enlarged|enlargement|fibrosis|congestion|hernia|density|densities|thickening|elevation|"
    r"elevated|deformity|calcifications?|scoliosis|tortuous|tortuosity|catheter|tube|pacemaker"
)
_FINDING = re.compile(rf"\b(?:{FINDING_WORDS})\b", re.I)
_HEDGE_OR_NEG = re.compile(
    r"\b(?:no|not|without|negative|free|clear|normal|unremarkable|resolved|removed|may|might|could|possibl\w*|"
    r"probabl\w*|likely|versus|vs|question\w*|suspect\w*|cannot|can not|or|recommend\w*|follow-?up|"
    r"consider|if|history|prior|previous|otherwise|unchanged|stable|suggest\w*|borderline|xxxx)\b",
    re.I,
)
_LIST_NO = re.compile(r"^\s*\d{1,2}[.)]\s*")


def negate_sentence(sentence: str) -> str | None:
    """The sentence saying the opposite, or None when no plain template fits.

    "There is a right effusion." -> "There is no right effusion."; "The heart is
    enlarged." -> "The heart is not enlarged."; "Right lower lobe pneumonia." ->
    "No right lower lobe pneumonia."
    """
    lead = _LIST_NO.match(sentence)
    prefix = sentence[: lead.end()] if lead else sentence[: len(sentence) - len(sentence.lstrip())]
    body = sentence[len(prefix) :]
    m = re.match(r"(there (?:is|are))\s+(?:an?\s+|some\s+)?", body, re.I)
    if m:
        return prefix + m.group(1) + " no " + _SIZE_WORDS.sub("", body[m.end() :])
    m = re.search(r"\b(is|are)\s+", body)
    if m and m.start() > 0:
        return prefix + body[: m.end()] + "not " + body[m.end() :]
    if re.match(r"[A-Za-z]", body):
        body = re.sub(r"^(?:an?|the)\s+", "", body, flags=re.I)
        # "No large effusion" would deny only a large one: drop the size word
        body = _SIZE_WORDS.sub("", body)
        return prefix + "No " + body[0].lower() + body[1:] if body else None
    return None


_SIZE_WORDS = re.compile(
    r"^(?:(?:small|large|moderate|mild|minimal|trace|tiny|massive|extensive|severe|marked|"
    r"minimally|mildly|moderately|markedly|slightly|moderate-sized|large-sized)[\s,-]+)+",
    re.I,
)


# --- findings a draft can add although the findings deny them -----------------------------
# (negated words in the findings, sentence a draft might wrongly add)
DENIABLE: tuple[tuple[str, str], ...] = (
    (r"pneumothora(?:x|ces)", "Small right pneumothorax."),
    (r"(?<!joint )(?<!pericardial )(?:pleural )?effusions?", "Small bilateral pleural effusions."),
    (r"(?:focal )?(?:airspace )?consolidation", "Right lower lobe consolidation."),
    (r"(?:pulmonary )?edema", "Pulmonary edema."),
    (r"pneumonia", "Right lower lobe pneumonia."),
    (r"cardiomegaly", "Cardiomegaly."),
)
# "no large effusion" does not deny a small one, "the left lung is without pneumothorax"
# does not deny one on the right: such denials are not used
_DENIED = (
    r"\b(?:no|without|negative for)\b"
    r"(?:(?!\b(?:but|however|change|increase|decrease|large|significant|sizable|moderate|substantial|typical|definite|left|right)\b)[^.;]){0,60}?"
    r"\b(?:%s)\b"
)
_SIDED = re.compile(r"\b(?:left|right)\b", re.I)


@dataclass
class ProbeCase:
    uid: str
    split: str
    kind: str
    findings: str
    original: str
    impression: str
    detail: str = ""
    caught: bool | None = None
    fired: list[str] = field(default_factory=list)


def build_cases(rows: Iterable[Mapping[str, str]]) -> list[ProbeCase]:
    """Every injected-error case the reports allow (at most one per kind and report)."""
    out: list[ProbeCase] = []
    for k, r in enumerate(rows):
        uid, findings, imp = str(r["uid"]), r["findings"], r["impression"]
        split = split_of(uid)

        found: list[tuple[str, str, str]] = []  # (kind, perturbed impression, detail)
        add = found.append

        # side swap the findings make detectable: the impression names one side, the
        # findings name that side and never the other, so the swapped side is named nowhere
        imp_sides, f_sides = sides_in(imp), sides_in(findings)
        if len(imp_sides) == 1 and f_sides == imp_sides:
            add(("side_swap", flip_sides(imp), f"{next(iter(imp_sides))} -> swapped"))

        lobe_error = lobe_swapped(imp, findings)
        if lobe_error:
            add(("lobe_swap", lobe_error, "upper <-> lower"))

        heads = critical_headings(r.get("MeSH", ""), findings)
        if heads:
            add(("critical_omitted", STOCK_NORMAL[k % len(STOCK_NORMAL)], ", ".join(heads)))

        for start, sent in sentences(imp):
            m = _FINDING.search(sent)
            if not m or _HEDGE_OR_NEG.search(sent):
                continue
            if not said_positively(findings, rf"\b{re.escape(m.group(0))}\b", definite=True):
                continue
            neg = negate_sentence(sent)
            if neg:
                add(("negation_flip", imp[:start] + neg + imp[start + len(sent) :], m.group(0)))
                break

        for words, sentence in DENIABLE:
            denial = next(
                (
                    s
                    for _, s in sentences(findings)
                    if re.search(_DENIED % words, s, re.I) and not _SIDED.search(s)
                ),
                None,
            )
            if denial and not re.search(rf"\b(?:{words})\b", imp, re.I):
                sep = "" if imp.rstrip().endswith(".") else "."
                add(("denied_added", f"{imp.rstrip()}{sep} {sentence}", sentence))
                break
        out.extend(ProbeCase(uid, split, kind, findings, imp, new, d) for kind, new, d in found)
    return out


def score(cases: Sequence[ProbeCase]) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """Recall per split and kind over cases that were run (caught is not None)."""
    result: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for split in SPLITS:
        result[split] = {}
        for kind in KINDS:
            run = [c for c in cases if c.split == split and c.kind == kind and c.caught is not None]
            caught = sum(bool(c.caught) for c in run)
            result[split][kind] = {
                "cases": len(run),
                "caught": caught,
                "recall": caught / len(run) if run else None,
            }
    return result
