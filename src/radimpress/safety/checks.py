"""Safety checks of a draft impression against the findings it summarises.

Each check is a small named function (spaCy-style components) registered in
CHECKS, so a site can drop one, add its own, or run them one by one. All checks
read the same pre-extracted mentions, so the text is parsed once per pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from radimpress.records import InputError
from radimpress.safety import followup
from radimpress.safety import vocabulary as V
from radimpress.safety.extractor import Mention, extract_many
from radimpress.safety.priors import change_claims, no_earlier_study
from radimpress.safety.sizes import stated_sizes_mm

WARNING_TYPES = (
    "contradiction",
    "laterality_mismatch",
    "location_mismatch",
    "omitted_critical",
    "unsupported_finding",
    "missing_follow_up",
    "measurement_mismatch",
    "change_without_prior",
)


@dataclass
class SafetyWarning:
    """One problem in a draft impression, with the words that show it in both texts."""

    type: str
    severity: str  # "high" blocks a draft (select_safe avoids it); "medium" asks for a look
    observation: str
    message: str
    findings_spans: list[dict[str, Any]] = field(default_factory=list)
    impression_spans: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Every field, by its name: the dataclass is the one list of them.

        Shallow, not ``asdict``: this runs for every warning of every draft served,
        and asdict's deep copy of the spans costs some twenty times as much.
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}


Warning = SafetyWarning  # the name the issue uses; SafetyWarning avoids shadowing the builtin


_BLOOD = re.compile(r"\bha?emo(?:pneumo)?thora", re.I)


@dataclass(frozen=True)
class CriticalRule:
    """A finding the impression must not leave out.

    ``when`` narrows it: "any" (every definite mention), "new" (new or worse),
    "large_or_new", "malpositioned", "acute", "followup" (new, growing, or flagged for work-up),
    "blood" (a haemothorax).
    """

    observation: str
    when: str = "any"
    exclude_terms: tuple[str, ...] = ()

    def matches(self, m: Mention) -> bool:
        if m.observation != self.observation:
            return False
        if any(t in m.text.lower() for t in self.exclude_terms):
            return False
        if self.when == "any":
            return True
        if self.when == "new":
            return m.change in ("new", "worse")
        if self.when == "large_or_new":
            return m.severity in ("large", "severe") or m.change in ("new", "worse")
        if self.when == "blood":
            return bool(_BLOOD.search(m.text))
        if self.when == "malpositioned":
            return m.position == "malpositioned"
        if self.when == "acute":
            return m.acuity != "chronic" and m.change not in ("stable", "persistent")
        if self.when == "followup":
            return not m.benign and (m.change in ("new", "worse") or m.followup)
        raise ValueError(f"unknown critical rule condition {self.when!r}")


DEFAULT_CRITICAL: tuple[CriticalRule, ...] = (
    CriticalRule("Pneumothorax"),
    CriticalRule("Pneumoperitoneum"),
    CriticalRule("Pneumomediastinum"),
    CriticalRule("Pleural Effusion", "large_or_new"),
    # blood in the pleural space after trauma is drained or watched, whatever its size: the
    # fine-tuned Gemma drafted "Nondisplaced right 7th rib fracture." over a small hemothorax
    CriticalRule("Pleural Effusion", "blood"),
    # any consolidation, not only a new one: the hybrid drafted "Small right pleural effusion."
    # over "consolidation in the right mid zone. Small right pleural effusion." (fever); on the
    # Open-i tune half this flags one more radiologist impression (1,532 read)
    CriticalRule("Consolidation", "any"),
    CriticalRule("Pneumonia", "any"),
    # vascular signs are filed under Edema but are not pulmonary edema
    CriticalRule(
        "Edema",
        "any",
        exclude_terms=(
            "congest",
            "prominen",
            "cephaliz",
            "engorge",
            "redistribut",
            "vascul",
            "accentuat",
            "indistinct",
        ),
    ),
    CriticalRule("Support Devices", "malpositioned"),
    # wedge/compression deformities are usually chronic and age-indeterminate
    CriticalRule("Fracture", "acute", exclude_terms=("wedg", "deformit")),
    CriticalRule("Lung Lesion", "followup"),
)
# Which impression observations count as having reported a critical finding.
COVERED_BY: dict[str, set[str]] = {
    "Pneumonia": {"Pneumonia", "Consolidation", "Lung Opacity"},
    # "alveolar edema" names what consolidations are ("Heart failure with pulmonary alveolar
    # edema" over findings of consolidations)
    "Consolidation": {"Consolidation", "Pneumonia", "Lung Opacity", "Edema", "Atelectasis"},
    "Edema": {"Edema"},
    "Pleural Effusion": {"Pleural Effusion"},
    "Lung Lesion": {"Lung Lesion", "Adenopathy"},
}


@dataclass
class CheckInput:
    """What every check sees: both texts and their mentions.

    ``f_mentions``/``i_mentions`` leave out historical mentions ("history of pneumonia"),
    which say nothing about today; ``f_all``/``i_all`` keep them, because an old
    fracture on the wrong side is still a wrong side.
    """

    findings: str
    impression: str
    f_mentions: list[Mention]
    i_mentions: list[Mention]
    critical: Sequence[CriticalRule] = DEFAULT_CRITICAL
    f_all: list[Mention] = field(default_factory=list)
    i_all: list[Mention] = field(default_factory=list)
    # the study, when the caller knows it: the follow-up rules depend on the modality,
    # the patient's age and what the indication says (risk, exclusions)
    exam: str | None = None
    indication: str | None = None
    age: int | None = None
    comparison: str | None = None  # the report's comparison field: "None." says no earlier study


CheckFn = Callable[[CheckInput], list[SafetyWarning]]
CHECKS: dict[str, CheckFn] = {}


def register_check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Add a named check to the registry (a site can register its own)."""

    def deco(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return deco


def _same_thing(a: Mention, b: Mention) -> bool:
    """Devices must be the same kind (or one generic); everything else matches on observation."""
    if a.observation == "Support Devices" and b.observation == "Support Devices":
        if a.device == b.device or "any" in (a.device, b.device):
            return True
        # "catheter" may name a central line, a PICC or a pigtail chest tube
        return "catheter" in (a.device, b.device) and {a.device, b.device} <= V.CATHETER_LIKE
    return True


def _head(text: str) -> str:
    words = re.findall(r"[a-z]+", text.lower())
    return words[-1].rstrip("s") if words else ""


def _sides_overlap(a: Mention, b: Mention) -> bool:
    return not a.sides or not b.sides or bool(a.sides & b.sides)


_QUALIFIER = re.compile(
    r"\b(?:focal|acute|new|large|suspicious|significant|active|discrete|definite|confluent|lobar|frank|overt|dominant|gross|consolidating|worrisome|visible)\b",
    re.I,
)


def _qualified_denial(neg: Mention, pos: Mention) -> bool:
    """True when a negation does not deny this positive mention.

    'No acute fracture' does not deny an old fracture, 'no new opacity' a stable one,
    'no large effusion' a small one, and 'lungs otherwise clear' or 'no focal airspace
    disease' an opacity the text explains as scar, granuloma or atelectasis.
    """
    if neg.acuity == "acute" and pos.acuity == "chronic":
        return True
    if neg.change == "new" and pos.change not in ("new", "worse"):
        return True
    if neg.severity in ("large", "moderate", "severe") and pos.severity in ("small", "mild", None):
        return True
    text = neg.sentence.lower()
    if pos.change in ("stable", "persistent") and ("acute" in text or "new" in text):
        return True
    if "otherwise" in text:
        return True
    if (
        pos.benign
        and (neg.generic or _QUALIFIER.search(text) or pos.observation in _BENIGN_ENOUGH)
        and _head(neg.text) != _head(pos.text)  # "no atelectasis" does deny "likely atelectasis"
    ):
        return True
    return bool(_VASCULAR.search(pos.text)) and not _VASCULAR.search(neg.text)


# for these, a benign explanation alone ("nodular densities consistent with granulomatous
# disease") means the radiologist does not count them as the finding
_BENIGN_ENOUGH = {"Lung Lesion", "Lung Opacity", "Atelectasis"}
# vascular signs are reported under Edema but are not edema itself
_VASCULAR = re.compile(r"congest|prominen|cephaliz|engorge|redistribut|vascula", re.I)


def _weak_denial(neg: Mention, pos: Mention) -> bool:
    """A findings negation limited by size ('no large effusion') does not deny an unsized impression."""
    return neg.severity in ("large", "moderate", "severe") and pos.severity not in (
        "large",
        "moderate",
        "severe",
    )


def _direction(m: Mention) -> str | None:
    return V.CHANGE_DIRECTION.get(m.change) if m.change else None


def _contradiction(m: Mention, message: str, findings_spans: list[dict[str, Any]]) -> SafetyWarning:
    """A high-severity contradiction against impression mention ``m``."""
    return SafetyWarning(
        "contradiction", "high", m.observation, message, findings_spans, [m.span()]
    )


def _asserted_hedge(m: Mention) -> bool:
    """'Probable pneumonia', 'likely effusion': the radiologist's reading, so every check
    treats it as reported: findings that deny it contradict it, a normal sentence beside it
    contradicts it, and a normal impression must not leave it out of the findings.

    A copied impression often hedges: "Probable right lower lobe pneumonia." over findings
    of a resolved consolidation and clear lungs passed every check. Weak hedges ('may
    represent', 'possible', 'differential includes') stay out: radiologists offer them as
    a differential beside findings that deny the finding (six of the Open-i tune half's
    impressions would have been flagged).
    """
    return m.polarity == "uncertain" and bool(_STRONG_HEDGE.search(_words_before(m, 6)))


@register_check("contradiction")
def check_contradiction(x: CheckInput) -> list[SafetyWarning]:
    out: list[SafetyWarning] = []
    seen: set[tuple[str, int]] = set()
    for m in x.i_mentions:
        if m.observation == "No Finding":
            continue
        key = (m.observation, m.start)
        hedged = _asserted_hedge(m)
        if m.polarity == "present" or hedged:
            related = [
                f
                for f in x.f_mentions
                if f.observation in V.supported_by(m.observation) and _same_thing(f, m)
            ]
            support = [f for f in related if f.polarity != "absent" and _sides_overlap(f, m)]
            denials = [
                f
                for f in x.f_mentions
                if f.observation in V.denied_by(m.observation)
                and f.polarity == "absent"
                and _same_thing(f, m)
                and _sides_overlap(f, m)
                and m.change != "resolved"
                and not _weak_denial(f, m)
            ]
            if related and any(f.polarity != "absent" for f in related):
                # a whole-organ "lungs are clear" does not deny a finding the findings name
                denials = [d for d in denials if not (d.generic and not d.sides)]
            if not support and denials and key not in seen:
                seen.add(key)
                out.append(
                    _contradiction(
                        m,
                        f"impression {'suggests' if hedged else 'reports'} {m.observation.lower()} ('{m.text}') but the findings negate it ('{denials[0].text}')",
                        [d.span() for d in denials],
                    )
                )
                continue
            if hedged:
                continue
            # same finding, opposite change, or a device placed well in one text and badly in the other
            same = [
                f for f in support if f.observation == m.observation and f.polarity == "present"
            ]
            f_dirs = {_direction(f) for f in same} - {None}
            for f in same:
                df, dm = _direction(f), _direction(m)
                if df and dm and len(f_dirs) == 1 and df != dm and key not in seen:
                    message = f"impression says {m.observation.lower()} is {m.change} but the findings say {f.change} ('{f.text}')"
                elif (
                    m.observation == "Support Devices"
                    and f.position
                    and m.position
                    and f.position != m.position
                    and key not in seen
                ):
                    message = f"impression says the {m.device or 'device'} is {m.position} but the findings say {f.position}"
                else:
                    continue
                seen.add(key)
                out.append(_contradiction(m, message, [f.span()]))
                break
        elif m.polarity == "absent":
            if any(
                o.polarity == "present"
                and _same_thing(o, m)
                and _sides_overlap(o, m)
                and (
                    o.observation == m.observation
                    or (o.observation in V.supported_by(m.observation) and o.sentence == m.sentence)
                )
                for o in x.i_mentions
            ):
                # the draft reports it itself: "left base atelectasis, no infiltrate";
                # "subcapital fracture left hip ... no fracture of the rest of the femur";
                # but "left effusion ... no right effusion" denies the right one
                continue
            positives = [
                f
                for f in x.f_mentions
                if f.observation == m.observation
                and f.polarity == "present"
                and _same_thing(f, m)
                and _sides_overlap(f, m)
                and not _qualified_denial(m, f)
            ]
            if m.change == "resolved":
                positives = [
                    f for f in positives if _direction(f) != "better" or f.change == "improved"
                ]
                positives = [f for f in positives if f.change != "resolved"]
            if positives and key not in seen:
                seen.add(key)
                out.append(
                    _contradiction(
                        m,
                        f"impression negates {m.observation.lower()} ('{m.text}') but the findings report it ('{positives[0].text}')",
                        [p.span() for p in positives],
                    )
                )
    return out


_SIDE_WORD = r"((?:left|right) (?:greater|larger|more) than (?:the )?(?:left|right)|left|right|bilateral|both|bibasilar|biapical)"
# one pattern with a named group per site: a word is looked up in one match, not fourteen
_SITE_GROUPS = {f"g{k}": g for k, g in enumerate(V.SIDED_SITES)}
_SITE_WORD = re.compile(
    "^(?:" + "|".join(f"(?P<g{k}>{p})" for k, p in enumerate(V.SIDED_SITES.values())) + ")$",
    re.I,
)


def _site_group(word: str) -> str | None:
    m = _SITE_WORD.match(word)
    return _SITE_GROUPS[m.lastgroup] if m and m.lastgroup else None


_SIDE_THEN_SITE = re.compile(rf"\b{_SIDE_WORD}(?:[- ]sided)?((?:[\s-]+[a-z0-9/]+){{1,4}})", re.I)
_SITE_THEN_SIDE = re.compile(
    r"\b([a-z]+)(?:\s+[a-z]+){0,2}?\s+(?:on|at) the (left|right)\b|\b([a-z]+)(?:\s+[a-z]+){0,2}?,?\s+(left|right) (?:greater|larger|more) than (?:the )?(?:left|right)\b",
    re.I,
)
_SITE_NEGATED_BEFORE = re.compile(
    r"\b(?:no(?! (?:suggestion|evidence|sign) of (?:interval )?(?:enlargement|growth|progression|increase|change))|not|without|negative for|free of|clear of)\b[^.;:]*$",
    re.I,
)
_SITE_NORMAL_AFTER = re.compile(
    r"^[^.;:,]*?\b(?:is|are|appears?|remains?)\s+(?:\w+\s+)?(?:clear|normal|unremarkable|intact|negative|well[- ]expanded|expanded)\b|^\s+(?:\w+\s+)?(?:clear|negative|normal|unremarkable)\b",
    re.I,
)
_CLAUSE_START = re.compile(r"[.;:]|\b(?:but|however|with|and)\b", re.I)
_IMPOSSIBLE = re.compile(V.IMPOSSIBLE_SIDE, re.I)
_IMPLIED_SITES = [
    (re.compile(rf"(?<!left )(?<!right ){p}", re.I), side) for p, side in V.IMPLIED_SIDE
]


@dataclass(frozen=True)
class _SiteSide:
    side: str
    group: str
    start: int
    end: int
    text: str
    positive: bool


def _site_sides(text: str) -> list[_SiteSide]:
    """Sides the text names for anatomical sites, whatever finding they go with.

    "left hemidiaphragm is elevated" -> (left, hemidiaphragm, positive); "the left
    lung is clear" -> (left, lung, not positive).
    """
    out: list[_SiteSide] = []
    low = text.lower()

    def positive(start: int, end: int) -> bool:
        # the clause the site sits in: look back a bounded stretch only, so long texts
        # stay linear
        lo = max(0, start - 200)
        clause_from = max((c.end() for c in _CLAUSE_START.finditer(low, lo, start)), default=lo)
        if _SITE_NEGATED_BEFORE.search(low[clause_from:start]):
            return False
        return not _SITE_NORMAL_AFTER.match(low[end : end + 60])

    for m in _SIDE_THEN_SITE.finditer(low):
        side = m.group(1)
        side = side if side in ("left", "right") else "bilateral"
        words = list(re.finditer(r"[a-z0-9/]+", m.group(2)))
        for k, w in enumerate(words):
            end = m.start(2) + w.end()
            group = _site_group(w.group(0))
            if group is None and k + 1 < len(words):
                group = _site_group(m.group(2)[w.start() : words[k + 1].end()])
                end = m.start(2) + words[k + 1].end()
            if group:
                out.append(
                    _SiteSide(
                        side, group, m.start(), end, text[m.start() : end], positive(m.start(), end)
                    )
                )
                break
    for rx, side in _IMPLIED_SITES:  # "lingular opacity" names the left lung
        for m in rx.finditer(low):
            out.append(
                _SiteSide(
                    side,
                    "lung",
                    m.start(),
                    m.end(),
                    text[m.start() : m.end()],
                    positive(m.start(), m.end()),
                )
            )
    for m in _SITE_THEN_SIDE.finditer(low):
        word, side = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), "bilateral")
        group = _site_group(word)
        if group:
            out.append(
                _SiteSide(
                    side,
                    group,
                    m.start(),
                    m.end(),
                    text[m.start() : m.end()],
                    positive(m.start(), m.end()),
                )
            )
    return out


_STOP = r"(?!(?:and|or|with|of|the|a|an|in|on|at|to|is|are|was|xxxx|greater|worse|larger|more|less|smaller|than|side)\b)"
_SIDE_PHRASE = re.compile(
    rf"\b(left|right)(?:[- ]sided)?\s+{_STOP}([a-z]{{3,}})\s+{_STOP}([a-z]{{3,}})\b", re.I
)


def _side_phrases(text: str) -> list[tuple[str, str, int, int]]:
    """(side, next two words, start, end) for each side word followed by two content words."""
    out = []
    for m in _SIDE_PHRASE.finditer(text):
        if _NEG_NEAR.search(text[max(0, m.start() - 30) : m.start()]):
            continue
        phrase = f"{m.group(2).lower().rstrip('s')} {m.group(3).lower().rstrip('s')}"
        out.append((m.group(1).lower(), phrase, m.start(), m.end()))
    return out


_NEG_NEAR = re.compile(r"\b(?:no|not|without|negative for|free of)\b[^.;:,]*$", re.I)


def _sides(side: str) -> set[str]:
    return {"left", "right"} if side == "bilateral" else {side}


@register_check("self_contradiction")
def check_self_contradiction(x: CheckInput) -> list[SafetyWarning]:
    """An impression that reports an active finding and calls the study free of it.

    "Focal consolidation in the right upper lobe. No acute cardiopulmonary findings." is what
    a draft stitched from a findings sentence and a stock normal sentence says; a clinician
    who reads the last sentence may stop there. The findings need not be read: the draft
    contradicts itself. "No acute ..." excuses what its own words make stable or chronic
    ("Stable small left effusion. No acute disease."); "Normal chest" excuses nothing.
    A finding offered as probable counts ("... concerning for pneumonia. No acute
    abnormality."), one offered as possible does not. Reported as a contradiction, high
    severity.
    """
    normal = [m for m in x.i_mentions if m.observation == "No Finding"]
    if not normal:
        return []
    acute_only = all(_NORMAL_ACUTE_ONLY.search(m.text) for m in normal)
    out: list[SafetyWarning] = []
    for m in x.i_mentions:
        if m.observation not in V.ACUTE_NOT_NORMAL:
            continue
        if m.polarity != "present" and not _asserted_hedge(m):
            continue
        if m.observation == "Edema" and "edema" not in m.text.lower():
            # edema by name only: the extractor reads congestion, "vascular prominence" and
            # heart failure as edema too, and Open-i's radiologists write "mild vascular
            # prominence" beside "no evidence of acute disease"
            continue
        if m.observation in V.STABLE_NOT_EXCUSED:  # only old or resolved excuses these
            excused = m.change == "resolved"
            chronic = _CHRONIC_ONLY
        else:
            excused = m.change in ("stable", "persistent", "improved", "resolved")
            chronic = _CHRONIC_WORDS
        if acute_only and (excused or chronic.search(f"{_words_before(m, 4)} {m.text}")):
            continue
        out.append(
            SafetyWarning(
                "contradiction",
                "high",
                m.observation,
                f"the impression {'reports' if m.polarity == 'present' else 'suggests'} "
                f"{m.observation.lower()} ('{m.text}') and calls the study "
                f"normal ('{normal[0].text}')",
                [],
                [m.span(), normal[0].span()],
            )
        )
        break  # one warning says it: the normal sentence is the error
    return out


@register_check("laterality_mismatch")
def check_laterality(x: CheckInput) -> list[SafetyWarning]:
    out: list[SafetyWarning] = []
    flagged: list[tuple[int, int]] = []
    for m in x.i_all or x.i_mentions:
        if m.polarity == "absent" or not m.sides or m.observation in V.NO_LATERALITY:
            continue
        related = [
            f
            for f in x.f_all or x.f_mentions
            if f.observation in V.supported_by(m.observation)
            and (f.observation == m.observation or f.observation not in V.NOT_SIDE_EVIDENCE)
            and f.polarity != "absent"
            and _same_thing(f, m)
        ]
        same = [f for f in related if f.observation == m.observation]
        if same and not any(f.sides for f in same):
            continue  # the findings name it only without a side: nothing to compare against
        # related observations count for the sides they name ("left basal opacity" covers
        # "left base atelectasis"); the unsided ones say nothing about sides
        related = [f for f in related if f.sides]
        if not related:
            continue
        covered = frozenset().union(*(f.sides for f in related))
        if not m.sides <= covered:
            findings_side = "bilateral" if covered == {"left", "right"} else next(iter(covered))
            flagged.append((m.start, m.end))
            message = (
                f"impression puts {m.observation.lower()} on the {m.laterality} side ('{m.text}') "
                f"but the findings say {findings_side}"
            )
            out.append(_mention_warning("laterality_mismatch", m, message, related))
    out.extend(_worse_side(x, flagged))
    # sides of anatomical sites, whatever the finding: "left hemidiaphragm" in the
    # impression where the findings only ever name the right one
    f_sites = _site_sides(x.findings)
    for s in _site_sides(x.impression):
        if s.side == "bilateral" or not s.positive:
            continue  # "bilateral" may sum findings the findings list one by one
        if any(a < s.end and s.start < b for a, b in flagged):
            continue
        named = [f for f in f_sites if f.group == s.group and f.positive]
        if not named:
            continue
        covered_sides = set().union(*(_sides(f.side) for f in named))
        if _sides(s.side) <= covered_sides:
            continue
        flagged.append((s.start, s.end))
        out.append(
            SafetyWarning(
                "laterality_mismatch",
                "high",
                s.group,
                f"impression names the {s.side} {s.group} ('{s.text}') but the findings name only "
                f"the {' and '.join(sorted(covered_sides))} side for it",
                [{"start": f.start, "end": f.end, "text": f.text} for f in named],
                [{"start": s.start, "end": s.end, "text": s.text}],
            )
        )
    # the same words with the other side: "right-sided medication injection XXXX" where the
    # findings only say "left-sided medication injection XXXX"
    f_phrases = _side_phrases(x.findings)
    for side, phrase, start, end in _side_phrases(x.impression):
        if any(a < end and start < b for a, b in flagged):
            continue
        sides = {sd for sd, ph, _, _ in f_phrases if ph == phrase}
        if sides and side not in sides:
            flagged.append((start, end))
            out.append(
                SafetyWarning(
                    "laterality_mismatch",
                    "high",
                    phrase,
                    f"impression says '{x.impression[start:end]}' but the findings say "
                    f"{' and '.join(sorted(sides))} {phrase}",
                    [
                        {"start": a, "end": b, "text": x.findings[a:b]}
                        for sd, ph, a, b in f_phrases
                        if ph == phrase
                    ],
                    [{"start": start, "end": end, "text": x.impression[start:end]}],
                )
            )
    for bad in _IMPOSSIBLE.finditer(x.impression):
        if bad.group(0).lower() in x.findings.lower():
            continue  # copied from the findings: the findings' own slip
        out.append(
            SafetyWarning(
                "laterality_mismatch",
                "high",
                "anatomy",
                f"impression names '{bad.group(0)}', which does not exist on that side",
                [],
                [{"start": bad.start(), "end": bad.end(), "text": bad.group(0)}],
            )
        )
    return out


_LOBE = re.compile(V.LOBE, re.I)
# the letters of "RUL", "LLL"...: the first is the side, the second the lobe
_SIDE_LETTER = {"r": "right", "l": "left"}
_LOBE_LETTER = {"u": "upper", "m": "middle", "l": "lower"}


def _lobes(text: str, side: str) -> set[str]:
    """The lobes of one side a text names: "upper", "middle", "lower", "lingula"."""
    out = set()
    for m in _LOBE.finditer(text):
        if m.group(1):
            named_side, lobe = m.group(1).lower(), m.group(2).lower()
        elif m.group(3):
            named_side, lobe = "left", "lingula"
        else:
            named_side = _SIDE_LETTER[m.group(4).lower()]
            lobe = _LOBE_LETTER[m.group(5).lower()]
        if named_side == side:
            out.add(lobe)
    return out


def _lobe_name(lobe: str) -> str:
    return lobe if lobe == "lingula" else f"{lobe} lobe"


def _lobe_of(m: Mention) -> str | None:
    """The lobe a one-sided mention sits in: its own clause's, else its sentence's only one."""
    if m.laterality not in ("left", "right"):
        return None
    own = re.match(r"(?:(?:right|left) )?(upper|middle|lower) lobe", m.location or "")
    if own:
        return own.group(1)
    if (m.location or "").startswith("lingula"):
        return "lingula"
    named = _lobes(m.sentence, m.laterality)
    return next(iter(named)) if len(named) == 1 else None


@register_check("location_mismatch")
def check_location(x: CheckInput) -> list[SafetyWarning]:
    """A finding placed in another lobe of the same side than the findings place it.

    A neighbour's "Right upper lobe nodules." copied over findings of right lower lobe
    nodules names the right side, so the side checks pass. Flagged only where every
    findings sentence that reports the finding on that side names a lobe and none names
    the impression's anywhere (the lingula counts as part of the left upper lobe), so a
    finding the findings place loosely ("right basilar opacity") is never compared. On
    Open-i's tune half: 1 of 1,532 radiologist impressions flagged (findings "over the
    lingula", impression "left lower lobe nodule"), and 32 of 36 impressions with their
    upper and lower lobes swapped.
    """
    out: list[SafetyWarning] = []
    for m in x.i_all or x.i_mentions:
        if m.polarity == "absent" or m.observation not in V.LOBAR_OBSERVATIONS:
            continue
        lobe = _lobe_of(m)
        if lobe is None:
            continue
        named = _lobes(x.findings, m.laterality)
        if lobe in named or (m.laterality == "left" and {lobe, *named} >= {"upper", "lingula"}):
            continue
        related = [
            f
            for f in x.f_all or x.f_mentions
            if f.observation in V.supported_by(m.observation)
            and f.polarity != "absent"
            and m.laterality in f.sides
        ]
        if not related or any(not _lobes(f.sentence, m.laterality) for f in related):
            continue
        message = (
            f"impression places {m.observation.lower()} in the {m.laterality} "
            f"{_lobe_name(lobe)} ('{m.sentence.strip()}') but the findings place it in the "
            f"{m.laterality} {' and '.join(_lobe_name(n) for n in sorted(named))}"
        )
        out.append(_mention_warning("location_mismatch", m, message, related))
    out.extend(_fracture_sites(x))
    return out


# each bone's words as whole words: "rib" is inside "described"
_BONE_WORDS = {
    bone: re.compile(r"\b(?:" + "|".join(w for w, b in V.BONES.items() if b == bone) + r")\b", re.I)
    for bone in set(V.BONES.values())
}


def _fracture_sites(x: CheckInput) -> list[SafetyWarning]:
    """A fracture put in a bone the findings do not name, where they name the bones of theirs.

    A neighbour's "Right 4th rib fracture." was drafted over findings of a displaced right
    clavicle fracture; both sides agree. Compared only where every fracture the findings report
    has its bone, and the impression's bone is nowhere in the findings.
    """
    reported = [
        f for f in x.f_all or x.f_mentions if f.observation == "Fracture" and f.polarity != "absent"
    ]
    bones = {V.BONES.get(f.location or "") for f in reported}
    if not reported or None in bones:
        return []
    out: list[SafetyWarning] = []
    for m in x.i_all or x.i_mentions:
        bone = V.BONES.get(m.location or "") if m.observation == "Fracture" else None
        if bone is None or m.polarity == "absent" or bone in bones:
            continue
        if _BONE_WORDS[bone].search(x.findings):
            continue  # named elsewhere in the findings ("rib deformity", "ribs intact")
        message = (
            f"impression places a fracture in the {bone} ('{m.sentence.strip()}') but the "
            f"findings report it in the {' and '.join(sorted(b for b in bones if b))}"
        )
        out.append(_mention_warning("location_mismatch", m, message, reported))
    return out


def _mention_warning(
    kind: str, m: Mention, message: str, evidence: Sequence[Mention]
) -> SafetyWarning:
    """A high-severity warning about one impression mention, with the findings' evidence."""
    return SafetyWarning(
        kind, "high", m.observation, message, [f.span() for f in evidence], [m.span()]
    )


def _worse_side(x: CheckInput, flagged: list[tuple[int, int]]) -> list[SafetyWarning]:
    """Which side of a bilateral finding is worse.

    A neighbour's "effusions, left greater than right" copied over findings of "effusions,
    right greater than left" names both sides, so the side comparison agrees; the worse side
    is what differs. Findings that do not say which side is worse are not compared.
    """
    out: list[SafetyWarning] = []
    for m in x.i_all or x.i_mentions:
        dominant = _dominant_side(m.sentence) if m.laterality == "bilateral" else None
        if dominant is None or m.polarity == "absent" or m.observation in V.NO_LATERALITY:
            continue
        if any(a < m.end and m.start < b for a, b in flagged):
            continue
        stated = [
            (f, side)
            for f in x.f_all or x.f_mentions
            if f.observation == m.observation
            and f.polarity != "absent"
            and f.laterality == "bilateral"
            and (side := _dominant_side(f.sentence))
        ]
        if not stated or any(side == dominant for _, side in stated):
            continue
        other = stated[0][1]
        flagged.append((m.start, m.end))
        message = (
            f"impression has {m.observation.lower()} {dominant} greater than "
            f"{'left' if dominant == 'right' else 'right'} ('{m.sentence.strip()}') but the "
            f"findings say {other} greater than {'left' if other == 'right' else 'right'}"
        )
        out.append(_mention_warning("laterality_mismatch", m, message, [f for f, _ in stated]))
    return out


_DOMINANT = re.compile(V.DOMINANT_SIDE, re.I)


def _dominant_side(sentence: str) -> str | None:
    """The side a sentence calls worse ("right greater than left"), or None when it names
    none or its phrases disagree (two findings, each worse on another side)."""
    sides = {
        {"l": "left", "r": "right"}.get(side.lower(), side.lower())
        for m in _DOMINANT.finditer(sentence)
        for side in m.groups()
        if side
    }
    return next(iter(sides)) if len(sides) == 1 else None


def _covering(observation: str) -> set[str]:
    """Impression observations that count as reporting a findings observation."""
    return COVERED_BY.get(observation, set()) | V.supported_by(observation) | {observation}


_NORMAL_ACUTE_ONLY = re.compile(V.NORMAL_ACUTE_ONLY, re.I)


def _named_by_a_normal_impression(f: Mention, acute_only: bool) -> bool:
    """Whether this kind of normal impression ("Normal chest." or "No acute ...") has to name
    findings of this observation at all, before asking whether this one is of substance."""
    if f.observation in V.NORMAL_MUST_NAME:
        return True
    if not acute_only and f.observation in V.NORMAL_MUST_NAME_ANY:
        return True
    if f.observation not in _NORMAL_MUST_NAME_WHEN:
        return False
    when, unless = _NORMAL_MUST_NAME_WHEN[f.observation]
    words = f"{_words_before(f, 3)} {f.text}"
    return bool(when.search(words)) and not unless.search(words)


def _must_be_named(f: Mention, acute_only: bool, findings: str = "") -> bool:
    """Whether an impression that calls the study normal leaves this finding out wrongly.

    "Normal chest" leaves nothing of substance out; "no acute abnormality" may leave out
    what is stable, chronic or explained as benign, but not a new or active finding.
    """
    if f.generic or f.polarity == "absent":
        return False
    if f.polarity == "uncertain" and not _asserted_hedge(f):
        return False  # "may represent", "cannot exclude": the radiologist's call to leave out
    if not _named_by_a_normal_impression(f, acute_only):
        return False
    if f.observation == "Edema" and _VASCULAR.search(f.text):
        return False
    if f.observation == "Fracture" and (
        f.acuity == "chronic" or re.search(r"wedg|deformit", f.text, re.I)
    ):
        return False
    if f.benign and f.observation in V.NORMAL_BENIGN_EXEMPT:
        return False
    substantial = _NORMAL_SUBSTANTIAL.get(f.observation)
    if (
        substantial is not None
        and not substantial.search(f"{f.text} {_words_before(f)}")
        # an opacity of a centimetre or more ("a 3.5 cm ovoid opacity") is a lesion
        and not (f.observation == "Lung Opacity" and (f.size_mm or 0) >= 10)
    ):
        # a plain "opacity" counts unless the words make it minor ("streaky", "minimal",
        # "lungs otherwise clear"); a plain "nodule" is left to the follow-up check
        if f.observation != "Lung Opacity" or _MINOR.search(f"{_words_before(f)} {f.sentence}"):
            return False
        if _OTHERWISE_CLEAR.search(findings):
            return False
    # "no acute abnormality" may leave out what is stable or chronic; a pneumothorax or
    # a consolidation that is "stable" since yesterday is still an active finding
    sentence = _own_sentence(f)
    if (
        f.observation in V.ACUTE_BY_NATURE
        or f.observation in V.NAMED_EVEN_IF_STABLE
        or f.observation in _NORMAL_MUST_NAME_WHEN  # a collapsed lobe, which is here only if so
    ):
        # "stable" does not excuse these; only chronic, old or resolved does
        chronic = f.change == "resolved" or bool(_CHRONIC_ONLY.search(sentence))
    elif f.change in ("new", "worse") or f.acuity == "acute":
        # "heart size is stable; new small left effusion": the sentence's "stable" is not its own
        chronic = False
    else:
        chronic = (
            f.change in ("stable", "resolved")
            or f.acuity == "chronic"
            or bool(_CHRONIC_WORDS.search(sentence))
        )
    return not (acute_only and chronic)


# "Stable right upper mediastinal [removed] Bilateral small pleural effusions": de-identification
# can take a sentence's last words and its full stop with them. A capitalised word straight after
# a lower-case one marks where the lost boundary was, so the first sentence's "stable" stays there.
_LOST_BOUNDARY = re.compile(r"(?<=[a-z,]) (?=[A-Z][a-z])")


def _own_sentence(m: Mention) -> str:
    """The mention's sentence, cut at boundaries that de-identification removed."""
    at = max(m.sentence.find(m.text), 0)
    start, end = 0, len(m.sentence)
    for b in _LOST_BOUNDARY.finditer(m.sentence):
        if b.end() <= at:
            start = b.end()
        elif b.start() >= at + len(m.text):
            end = b.start()
            break
    return m.sentence[start:end]


_NORMAL_SUBSTANTIAL = {k: re.compile(v, re.I) for k, v in V.NORMAL_SUBSTANTIAL.items()}
_NORMAL_MUST_NAME_WHEN = {
    k: (re.compile(when, re.I), re.compile(unless, re.I))
    for k, (when, unless) in V.NORMAL_MUST_NAME_WHEN.items()
}
# "probable pneumonia", "likely effusion": said as the radiologist's reading, so a normal
# impression leaves it out wrongly
_STRONG_HEDGE = re.compile(
    r"\b(?:probabl[ey]|likely|suspected|suspicious for|consistent with|compatible with|worrisome for|"
    r"concerning for|suggestive of|most likely|presumed)\b",
    re.I,
)
_MINOR = re.compile(
    r"\b(?:minimal|mild|subtle|faint|streaky|linear|small|tiny|vague|minor|curvilinear|band|plate|xxxx|"
    r"markings?|crowding|prominen\w*|interstitial|reticular|overlying|overlap\w*|artifact\w*|"
    # offered with a hedge, it is the radiologist's call to leave it out
    r"may|might|could|cannot|can not|possibl\w*|question\w*|equivocal)\b",
    re.I,
)
_OTHERWISE_CLEAR = re.compile(
    r"\botherwise\b[^.]{0,30}\bclear\b|\bclear\b[^.]{0,20}\botherwise\b", re.I
)


def _words_before(m: Mention, n: int = 4) -> str:
    """The few words before a mention in its sentence (the sentence text is kept on the mention)."""
    at = m.sentence.find(m.text)
    return " ".join(m.sentence[: max(at, 0)].split()[-n:]) if at > 0 else ""


_CHRONIC_ONLY = re.compile(r"\b(?:chronic|old|healed|long-?standing|scar\w*)\b", re.I)
_CHRONIC_WORDS = re.compile(r"\b(?:chronic|old|healed|long-?standing|unchanged|stable)\b", re.I)


@register_check("omitted_critical")
def check_omitted_critical(x: CheckInput) -> list[SafetyWarning]:
    out: list[SafetyWarning] = []
    done: set[tuple[str, str | None]] = set()
    for f in x.f_mentions:
        if f.polarity != "present":
            continue
        rule = next((r for r in x.critical if r.matches(f)), None)
        if rule is None:
            continue
        key = (f.observation, f.device)
        if key in done:
            continue
        covering = COVERED_BY.get(f.observation, {f.observation})
        if f.observation == "Support Devices":
            covered = any(
                m.observation == "Support Devices"
                and m.polarity != "absent"
                and _same_thing(m, f)
                and m.position == "malpositioned"
                for m in x.i_mentions
            )
        else:
            covered = any(
                m.observation in covering and m.polarity != "absent" for m in x.i_mentions
            )
        if not covered:
            done.add(key)
            if f.observation != "Support Devices":
                what = f.observation.lower()
            else:
                what = f"{'broken or disconnected' if f.fault else 'malpositioned'} {f.device}"
            out.append(
                SafetyWarning(
                    "omitted_critical",
                    "high",
                    f.observation,
                    f"critical finding in the findings is missing from the impression: {what} ('{f.text}')",
                    [f.span()],
                    [],
                )
            )
    # an impression that calls the study normal must not leave out a finding of substance
    normal = [m for m in x.i_mentions if m.observation == "No Finding"]
    if normal:
        acute_only = all(_NORMAL_ACUTE_ONLY.search(m.text) for m in normal)
        for f in x.f_mentions:
            if (f.observation, f.device) in done or not _must_be_named(f, acute_only, x.findings):
                continue
            covering = _covering(f.observation)
            if any(m.observation in covering and m.polarity != "absent" for m in x.i_mentions):
                continue
            done.add((f.observation, f.device))
            out.append(
                SafetyWarning(
                    "omitted_critical",
                    "high",
                    f.observation,
                    f"impression calls the study normal ('{normal[0].text}') but the findings report "
                    f"{f.observation.lower()} ('{f.text}')",
                    [f.span()],
                    [normal[0].span()],
                )
            )
    return out


@register_check("unsupported_finding")
def check_unsupported(x: CheckInput) -> list[SafetyWarning]:
    """A finding the impression reports and the findings never mention.

    High severity, so safe selection prefers a candidate without one: a finding with no
    source in the findings came from the report the draft was copied from (the default
    drafted "1. Small left pleural effusion. 2. Stable mild cardiomegaly." over findings of
    an effusion alone). Radiologists' own impressions do this on 0.5 % of Open-i reports.
    A device stays medium: findings often leave the lines and tubes unnamed.
    """
    out: list[SafetyWarning] = []
    done: set[tuple[str, str | None]] = set()
    for m in x.i_mentions:
        if m.polarity != "present" or m.observation not in V.UNSUPPORTED_CHECKED:
            continue
        key = (m.observation, m.device)
        if key in done:
            continue
        mentioned = [
            f
            for f in x.f_all or x.f_mentions  # "known cavitary lesion" still supports it
            if _same_thing(f, m)
            and (
                (f.observation in V.supported_by(m.observation) and f.polarity != "absent")
                or (f.observation in V.denied_by(m.observation) and f.polarity == "absent")
            )
        ]
        if mentioned:
            continue  # supported, or negated (then the contradiction check speaks)
        done.add(key)
        severity = "medium" if m.observation == "Support Devices" else "high"
        out.append(
            SafetyWarning(
                "unsupported_finding",
                severity,
                m.observation,
                f"impression reports {m.observation.lower()} ('{m.text}') which the findings do not mention",
                [],
                [m.span()],
            )
        )
    return out


@register_check("change_without_prior")
def check_change_without_prior(x: CheckInput) -> list[SafetyWarning]:
    """A change claimed ("stable", "improved", "interval increase") where the report says it
    had no earlier study to compare with (radimpress.safety.priors).

    High severity, so safe selection passes over it: the claim came from the report the
    draft was copied from, and reads to a clinician as a comparison that was never made.
    """
    claims = change_claims(x.impression)
    none = no_earlier_study(x.comparison, x.findings) if claims else None
    if none is None:
        return []
    first = claims[0]
    return [
        SafetyWarning(
            "change_without_prior",
            "high",
            "Change",
            f"impression claims a change ('{first.group(0)}') but the report had no earlier "
            f"study to compare with ('{none}')",
            [],
            [{"start": first.start(), "end": first.end(), "text": first.group(0)}],
        )
    ]


@register_check("missing_follow_up")
def check_missing_follow_up(x: CheckInput) -> list[SafetyWarning]:
    """A follow-up the guideline tables require for the findings, which the draft does not give.

    Medium severity: it asks for a look (or for `radimpress recommend` to add the
    sentence) but does not make a draft unsafe.
    """
    out: list[SafetyWarning] = []
    for rec in followup.recommend(x.findings, None, x.exam, x.indication, x.age):
        if rec.follow_up != "required" or followup.gives_follow_up(x.impression, rec):
            continue
        ev = rec.evidence
        out.append(
            SafetyWarning(
                "missing_follow_up",
                "medium",
                rec.finding.get("name", "finding"),
                f"the findings describe a {rec.finding.get('name', 'finding')} ('{ev['text']}') for which "
                f"{rec.guideline} gives a follow-up the impression does not: {rec.sentence}",
                [{"start": ev["start"], "end": ev["end"], "text": ev["text"]}],
                [],
            )
        )
    return out


@register_check("measurement_mismatch")
def check_measurements(x: CheckInput) -> list[SafetyWarning]:
    """A size or distance in the impression that the findings do not give.

    A draft cannot measure anything: each number it states comes from its own findings
    or from the report it was copied from (another patient's "4.8 cm mass", "tube tip
    1 cm above the carina"). High severity, so safe selection prefers a candidate
    without one. A radiologist may add a measurement made on the image; on Open-i that
    is 2 of the 1,532 impressions of the tune half. Where the impression quotes a guideline
    (the follow-up sentence `--recommend` appends, with its thresholds and the mean axis the
    rules computed), its sizes are not the patient's (`followup.guideline_spans`).
    """
    stated = stated_sizes_mm(x.findings)
    given = {mm for mm, *_ in stated}
    shown = ", ".join(sorted({text for *_, text in stated}))
    out: list[SafetyWarning] = []
    flagged: set[tuple[int, int]] = set()
    quoted: list[tuple[int, int]] | None = None  # read only when a size is not given
    for mm, start, end, text in stated_sizes_mm(x.impression):
        if mm in given or (start, end) in flagged:
            continue
        if quoted is None:
            quoted = followup.guideline_spans(x.impression)
        if any(a <= start and end <= b for a, b in quoted):
            continue  # a guideline's threshold, or the rules' mean axis: not copied
        flagged.add((start, end))
        out.append(
            SafetyWarning(
                "measurement_mismatch",
                "high",
                "Measurement",
                f"the impression states '{text}', which the findings do not give "
                + (f"(they give {shown})" if shown else "(they give no measurement)"),
                [],
                [{"start": start, "end": end, "text": text}],
            )
        )
    return out


class SafetyChecker:
    """A pipeline of named checks; parse once, run each check on the shared mentions."""

    def __init__(
        self, checks: Iterable[str] | None = None, critical: Sequence[CriticalRule] | None = None
    ):
        names = list(checks) if checks is not None else list(CHECKS)
        unknown = [n for n in names if n not in CHECKS]
        if unknown:
            raise InputError(f"unknown safety check(s) {unknown}; known: {sorted(CHECKS)}")
        self.check_names = names
        self.critical = tuple(critical) if critical is not None else DEFAULT_CRITICAL

    def check_many(
        self,
        pairs: Sequence[tuple[str | None, str | None]],
        context: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[list[SafetyWarning]]:
        """Warnings per (findings, impression) pair.

        ``context`` optionally gives each pair its study: a mapping with ``exam``,
        ``indication``, ``age`` and ``comparison`` (any may be missing), used by the
        follow-up and comparison checks.
        Each distinct text is parsed once, so candidates sharing one findings text
        cost one findings parse.
        """
        if context is not None and len(context) != len(pairs):
            raise InputError(f"context has {len(context)} entries for {len(pairs)} pairs")
        findings = [f or "" for f, _ in pairs]
        impressions = [i or "" for _, i in pairs]
        unique = list(dict.fromkeys(findings + impressions))
        parsed = dict(zip(unique, extract_many(unique), strict=True))
        out = []
        for k in range(len(pairs)):
            f_all, i_all = parsed[findings[k]], parsed[impressions[k]]
            ctx = (context[k] if context is not None else None) or {}
            x = CheckInput(
                findings[k],
                impressions[k],
                [m for m in f_all if not m.historical],
                [m for m in i_all if not m.historical],
                self.critical,
                f_all,
                i_all,
                exam=ctx.get("exam"),
                indication=ctx.get("indication"),
                age=ctx.get("age"),
                comparison=ctx.get("comparison"),
            )
            warnings: list[SafetyWarning] = []
            for name in self.check_names:
                warnings.extend(CHECKS[name](x))
            out.append(warnings)
        return out

    def check(
        self,
        findings: str | None,
        impression: str | None,
        exam: str | None = None,
        indication: str | None = None,
        age: int | None = None,
        comparison: str | None = None,
    ) -> list[SafetyWarning]:
        ctx = {"exam": exam, "indication": indication, "age": age, "comparison": comparison}
        return self.check_many([(findings, impression)], [ctx])[0]


def check(
    findings: str | None,
    impression: str | None,
    checks: Iterable[str] | None = None,
    critical: Sequence[CriticalRule] | None = None,
) -> list[SafetyWarning]:
    """Warnings for one draft impression against its findings."""
    return SafetyChecker(checks, critical).check(findings, impression)


def blocking(warnings: Iterable[SafetyWarning]) -> list[SafetyWarning]:
    return [w for w in warnings if w.severity == "high"]


def safest(per_candidate: Sequence[Sequence[SafetyWarning]]) -> int:
    """Index of the first candidate with no high-severity warning.

    Candidates come best-first (as `ImpressionModel.generate` returns them), so the
    first safe one wins; if none is safe, the one with fewest high then fewest
    warnings, earliest on ties; -1 for no candidates.
    """
    for i, ws in enumerate(per_candidate):
        if not blocking(ws):
            return i
    if not per_candidate:
        return -1
    return min(
        range(len(per_candidate)),
        key=lambda i: (len(blocking(per_candidate[i])), len(per_candidate[i]), i),
    )


def select_safe(
    findings: str | None, candidates: Sequence[str], checker: SafetyChecker | None = None
) -> tuple[int, list[list[SafetyWarning]]]:
    """Pick the best-ranked safe candidate (see `safest`); returns (index, warnings per candidate)."""
    if not candidates:
        return -1, []
    per = (checker or SafetyChecker()).check_many([(findings, c) for c in candidates])
    return safest(per), per
