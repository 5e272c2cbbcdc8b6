"""Follow-up recommendations from guideline rule tables (Fleischner Society 2017 and others).

Radiologists are expected to put guideline follow-up into the impression: an
incidental pulmonary nodule on CT gets the Fleischner Society 2017
recommendation, a nodule first seen on a radiograph gets a CT. The tables are data
(YAML files under ``radimpress/data/followup/``) so a site can edit the wording or
add its own guideline (ACR incidental adrenal, renal, thyroid findings...) without
code; this module reads a finding's size, composition and count from the report
words, the modality from the exam, exclusions and risk from the indication, and
looks the answer up.

Plain regular expressions, no model: the same text always gets the same answer,
and every answer names the rule cell and the words it came from.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from radimpress.records import InputError
from radimpress.safety.sizes import size_bands

FOLLOW_UP_LEVELS = ("none", "optional", "required", "indeterminate", "outside")
_REQUIRED_KEYS = ("id", "guideline", "applies_to", "finding", "cells", "sentence")

# --- modality -------------------------------------------------------------------------
_CT_EXAM = re.compile(r"\bct\b|\bcta\b|computed tomograph|\bhrct\b|\bldct\b|\bcat scan\b", re.I)
_XR_EXAM = re.compile(
    r"x-?ray|x-?XXXX|radiograph|\bcxr\b|\bpa\b|\bap\b|lateral|frontal|portable|\bviews?\b|\bdx\b|"
    r"\bcr\b|\b\dv\b|\bxr\b|\bchest,? \d",
    re.I,
)
# findings that can only come from a CT ("on axial images", "lung windows")
_CT_TEXT = re.compile(
    r"\baxial (?:images?|slices?|series)\b|\bhounsfield\b|\b-?\d+ hu\b|\b(?:lung|mediastinal|soft tissue) windows?\b|"
    r"\bcoronal (?:reformat|images?)\b|\bimage \d+ of series\b|\bseries \d+,? image\b",
    re.I,
)

_AGE = re.compile(
    r"\b(\d{1,3})[- ]?(?:years?|yrs?|yr)[- ]?old\b|\b(\d{1,3})\s*(?:yo|y/o|y\.o\.|yrs?)\b|\bage[d:]?\s*(\d{1,3})\b",
    re.I,
)
_SENT = re.compile(r"(?:[^.;]|\.(?=\d))+(?:[.;]|$)")
_NEGATION = re.compile(r"\b(?:no|without|negative for|free of|nor|not)\b", re.I)
_PSEUDO_NEGATION = re.compile(
    r"\bno (?:significant |appreciable |interval |definite )?(?:change|growth|increase|enlargement)\b|"
    r"\bnot (?:significantly )?(?:changed|increased|enlarged)\b",
    re.I,
)
_NEGATED_AFTER = re.compile(
    r"^[^.;]{0,60}?\b(?:(?:not|no longer) (?:[\w-]+[ -])?(?:seen|identified|visualized|visible|present|evident)|"
    r"(?:has|have) resolved|resolved|no longer (?:seen|visible|present))\b",
    re.I,
)
_HYPOTHETICAL = re.compile(
    r"\b(?:could (?:obscure|hide|mask)|to (?:exclude|evaluate for|assess for|look for)|"
    r"evaluat\w+ for|if (?:there is|present))\b",
    re.I,
)
_ANAPHORA = re.compile(
    r"^\s*(?:this|these|it|they|which|the (?:nodule|nodules|finding|opacity|opacities))\b", re.I
)
# "not definitively calcified", "noncalcified": the skip word is denied
_NOT_BEFORE = re.compile(
    r"(?:\b(?:not|without|no)\b(?:\s+\w+)?\s*|\bnon[- ]?|\bpartially\s+|\beccentrically\s+)$", re.I
)
# "may represent a granuloma or lymphadenopathy": a benign word offered as one of
# several possibilities does not make the finding benign
_ALTERNATIVE = re.compile(r"\b(?:or|versus|vs)\b", re.I)
# "may be explained by overlapping structures": a reason offered with a hedge is not a verdict
_HEDGED_BEFORE = re.compile(r"\b(?:may|might|could|possibl\w*|questionabl\w*|cannot)\b", re.I)
_NEGATED_PATIENT = re.compile(
    r"\b(?:no|denies|without|negative for|never)\b(?:\W+\w+){0,3}\W*$", re.I
)
_DEFAULT_SATISFIED = (
    r"\bfollow[- ]?up\b|\brecommend\w*|\bsuggest\w*|\badvis\w*|\bct\b|\bcomputed tomography\b|\bpet\b|"
    r"\btissue sampling\b|\bbiopsy\b|\bfleischner\b|\bfurther (?:evaluation|characteri[sz]ation|imaging|assessment|workup|work-up)\b|"
    r"\bcomparison\b|\bconsider\w*\b|\bcross-?sectional imaging\b|\bobtain\w*|\bdedicated\b|\bcorrelat\w+|"
    r"\bfurther (?:\w+ )?(?:evaluation|imaging|characteri[sz]ation)\b"
)


@dataclass(frozen=True)
class Recommendation:
    """One follow-up sentence to put in the impression, with where it came from."""

    sentence: str
    guideline: str
    rule_id: str  # "<table id>/<cell id>"; cells of both risk rows joined by " | "
    follow_up: str  # one of FOLLOW_UP_LEVELS
    evidence: dict[str, Any]  # source ("findings"/"impression"), start, end, text
    citation: str = ""
    finding: dict[str, Any] = field(default_factory=dict)  # size, composition, count, risk

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FollowUpResult:
    """Everything the rules decided for one report, including why nothing was recommended."""

    recommendations: list[Recommendation]
    modality: str | None
    excluded: list[dict[str, str]] = field(default_factory=list)  # guideline, id, reason
    skipped: list[dict[str, Any]] = field(default_factory=list)  # finding not recommended on

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendations": [r.to_dict() for r in self.recommendations],
            "modality": self.modality,
            "excluded": self.excluded,
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class Cell:
    id: str
    when: dict[str, Any]
    follow_up: str
    recommendation: str

    def matches(self, values: dict[str, Any]) -> bool:
        for key, want in self.when.items():
            have = values.get(key)
            if key == "size_mm":
                if have is None or not (want[0] <= have <= want[1]):
                    return False
            elif isinstance(want, list):
                if have not in want:
                    return False
            elif have != want:
                return False
        return True


@dataclass(frozen=True)
class RuleTable:
    """One guideline's table, read from a YAML file (see the packaged files for the format)."""

    id: str
    guideline: str
    citation: str
    modalities: tuple[str, ...]
    finding_name: str
    finding: re.Pattern
    finding_not_after: re.Pattern | None
    max_size_mm: float | None
    attributes: dict[str, tuple[list[tuple[str, re.Pattern]], str, dict[str, list[str]]]]
    size_words: list[tuple[re.Pattern, tuple[int, int]]]
    skip: list[tuple[str, re.Pattern]]
    exclusions: list[dict[str, Any]]
    risk_low: re.Pattern | None
    risk_high: re.Pattern | None
    sentence: str
    indeterminate: str
    satisfied_by: re.Pattern
    cells: tuple[Cell, ...]
    path: str = ""

    @property
    def uses_risk(self) -> bool:
        return any("risk" in c.when for c in self.cells)


def _compile(pattern: str, where: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.I)
    except re.error as e:
        raise InputError(f"{where}: bad regular expression {pattern!r}: {e}") from None


def parse_table(data: Any, path: str = "<rules>") -> RuleTable:
    """Validate one YAML document; errors name the file and the field."""
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    for key in _REQUIRED_KEYS:
        if key not in data:
            raise InputError(f"{path}: missing field {key!r}")
    finding = data["finding"]
    if not isinstance(finding, dict) or "pattern" not in finding:
        raise InputError(f"{path}: 'finding' needs a 'pattern'")
    attributes = {}
    for name, spec in (data.get("attributes") or {}).items():
        if "default" not in spec:
            raise InputError(f"{path}: attributes.{name}: missing 'default'")
        values = [
            (value, _compile(p, f"{path}: attributes.{name}.{value}"))
            for value, p in (spec.get("values") or {}).items()
        ]
        attributes[name] = (values, str(spec["default"]), dict(spec.get("ambiguous") or {}))
    size_words = []
    for p, band in ((data.get("size") or {}).get("words") or {}).items():
        if not (isinstance(band, list) and len(band) == 2):
            raise InputError(f"{path}: size.words[{p!r}]: expected [min_mm, max_mm]")
        size_words.append((_compile(p, f"{path}: size.words"), (int(band[0]), int(band[1]))))
    cells = []
    seen: set[str] = set()
    for k, c in enumerate(data["cells"]):
        where = f"{path}: cells[{k}]"
        for key in ("id", "follow_up", "recommendation"):
            if key not in c:
                raise InputError(f"{where}: missing field {key!r}")
        if c["follow_up"] not in FOLLOW_UP_LEVELS:
            raise InputError(f"{where}: follow_up must be one of {FOLLOW_UP_LEVELS}")
        if c["id"] in seen:
            raise InputError(f"{where}: duplicate cell id {c['id']!r}")
        seen.add(c["id"])
        when = dict(c.get("when") or {})
        unknown = set(when) - set(attributes) - {"size_mm", "risk", "count"}
        if unknown:
            raise InputError(f"{where}: 'when' names unknown attribute(s) {sorted(unknown)}")
        if "size_mm" in when and not (
            isinstance(when["size_mm"], list) and len(when["size_mm"]) == 2
        ):
            raise InputError(f"{where}: size_mm must be [min_mm, max_mm]")
        cells.append(Cell(str(c["id"]), when, c["follow_up"], str(c["recommendation"])))
    exclusions = []
    for k, ex in enumerate(data.get("exclusions") or []):
        if "id" not in ex or "reason" not in ex or not ({"pattern", "age_below"} & set(ex)):
            raise InputError(
                f"{path}: exclusions[{k}]: needs id, reason and a pattern or age_below"
            )
        ex = dict(ex)
        if "pattern" in ex:
            ex["pattern"] = _compile(ex["pattern"], f"{path}: exclusions[{k}]")
        exclusions.append(ex)
    risk = data.get("risk") or {}
    return RuleTable(
        id=str(data["id"]),
        guideline=str(data["guideline"]),
        citation=" ".join(str(data.get("citation", "")).split()),
        modalities=tuple(str(m).lower() for m in data["applies_to"].get("modality", [])),
        finding_name=str(finding.get("name", "finding")),
        finding=_compile(finding["pattern"], f"{path}: finding.pattern"),
        finding_not_after=(
            _compile(rf"(?:{finding['not_after']})\W*$", f"{path}: finding.not_after")
            if finding.get("not_after")
            else None
        ),
        max_size_mm=finding.get("max_size_mm"),
        attributes=attributes,
        size_words=size_words,
        skip=[(k, _compile(p, f"{path}: skip.{k}")) for k, p in (data.get("skip") or {}).items()],
        exclusions=exclusions,
        risk_low=_compile(risk["low"], f"{path}: risk.low") if "low" in risk else None,
        risk_high=_compile(risk["high"], f"{path}: risk.high") if "high" in risk else None,
        sentence=str(data["sentence"]),
        indeterminate=str(data.get("indeterminate", data["sentence"])),
        satisfied_by=_compile(
            data.get("satisfied_by", _DEFAULT_SATISFIED), f"{path}: satisfied_by"
        ),
        cells=tuple(cells),
        path=path,
    )


def packaged_rule_files() -> list[Path]:
    folder = resources.files("radimpress") / "data" / "followup"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))


def load_rules(extra: Iterable[str | Path] = (), packaged: bool = True) -> list[RuleTable]:
    """The packaged tables plus a site's own files; a file with a packaged id replaces it."""
    files = [*(packaged_rule_files() if packaged else []), *(Path(p) for p in extra)]
    tables: dict[str, RuleTable] = {}
    for f in files:
        if not f.exists():
            raise InputError(f"{f}: rule file not found")
        try:
            docs = list(yaml.safe_load_all(f.read_text(encoding="utf-8")))
        except yaml.YAMLError as e:
            raise InputError(f"{f}: not valid YAML: {e}") from None
        for doc in docs:
            if doc is not None:
                t = parse_table(doc, str(f))
                tables[t.id] = t
    return list(tables.values())


@lru_cache(maxsize=1)
def default_rules() -> tuple[RuleTable, ...]:
    return tuple(load_rules())


# --- reading the report ------------------------------------------------------------------


def modality_of(exam: str | None, findings: str = "", default: str = "radiograph") -> str:
    """'ct' or 'radiograph' (or ``default``) from the exam name, else from CT-only words."""
    if exam:
        # the exam's own type comes first; "PA and lateral chest, comparison CT from 2010"
        # is a radiograph
        exam = re.split(r"\bcompar\w*|\bprior\b|\bprevious\b", exam, maxsplit=1, flags=re.I)[0]
        ct, xr = _CT_EXAM.search(exam), _XR_EXAM.search(exam)
        if ct and (not xr or ct.start() < xr.start()):
            return "ct"
        if xr:
            return "radiograph"
    if _CT_TEXT.search(findings or ""):
        return "ct"
    return default


def age_of(age: int | None, *texts: str | None) -> int | None:
    if age is not None:
        return int(age)
    for t in texts:
        m = _AGE.search(t or "")
        if m:
            return int(next(g for g in m.groups() if g))
    return None


@dataclass
class _Finding:
    source: str
    start: int
    end: int
    text: str
    window: str
    size: tuple[int, int] | None
    size_text: str
    attributes: dict[str, list[str]]
    plural: bool
    skip: str | None = None


def _sentences(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in _SENT.finditer(text or "") if m.group(0).strip()]


def _clause_of(text: str, hit: re.Match) -> str:
    """The comma-free stretch around a match: where an 'or' would offer an alternative to it."""
    lo = max(text.rfind(",", 0, hit.start()), text.rfind(";", 0, hit.start())) + 1
    hi_c = [i for i in (text.find(",", hit.end()), text.find(";", hit.end())) if i >= 0]
    return text[lo : min(hi_c) if hi_c else len(text)]


def _clause_before(text: str, hit: re.Match) -> str:
    lo = max(text.rfind(",", 0, hit.start()), text.rfind(";", 0, hit.start())) + 1
    return text[lo : hit.start()]


def _findings_in(table: RuleTable, text: str, source: str) -> list[_Finding]:
    out: list[_Finding] = []
    sentences = _sentences(text)
    for idx, (s_start, sent) in enumerate(sentences):
        matches = [
            m
            for m in table.finding.finditer(sent)
            if table.finding_not_after is None
            or not table.finding_not_after.search(sent[max(0, m.start() - 40) : m.start()])
        ]
        for k, m in enumerate(matches):
            lo = matches[k - 1].end() if k else 0
            hi = matches[k + 1].start() if k + 1 < len(matches) else len(sent)
            window = sent[lo:hi]
            # the negation may sit before an earlier finding word: "no nodules or masses"
            clause = re.split(r"[;]|\bbut\b|\bhowever\b|\bthere (?:is|are)\b", sent[: m.start()])[
                -1
            ]
            neg = _NEGATION.search(clause)
            if neg and not _PSEUDO_NEGATION.search(clause[neg.start() :]):
                continue
            if _NEGATED_AFTER.match(sent[m.end() : hi]) or _HYPOTHETICAL.search(window):
                continue
            sizes = size_bands(window)
            word = m.group(0).lower()
            plural = word.endswith(("s", "ies", "i")) and not word.endswith(("ss", "us", "sis"))
            size: tuple[int, int] | None = None
            size_text = ""
            if sizes:
                if plural:  # "several nodules, the largest 7 mm": the largest guides management
                    pick = max(sizes, key=lambda s: s[1])
                else:
                    rel = m.start() - lo
                    pick = min(sizes, key=lambda s: abs(s[2] - rel))
                size, size_text = (pick[0], pick[1]), pick[3]
            else:
                for rx, band in table.size_words:
                    w = rx.search(window)
                    if w:
                        size, size_text = band, w.group(0)
                        break
            attrs: dict[str, list[str]] = {}
            for name, (values, default, ambiguous) in table.attributes.items():
                hit = next((v for v, rx in values if rx.search(window)), None)
                attrs[name] = list(ambiguous.get(hit, [hit])) if hit else [default]
            # "These may represent ... calcified granulomas." explains the finding before it
            explained = window
            nxt = sentences[idx + 1][1] if idx + 1 < len(sentences) else ""
            if _ANAPHORA.match(nxt):
                explained = f"{window} {nxt}"
            skip = next(
                (
                    name
                    for name, rx in table.skip
                    for hit in rx.finditer(explained)
                    if not _NOT_BEFORE.search(explained[: hit.start()])
                    and not (name != "stable" and _ALTERNATIVE.search(_clause_of(explained, hit)))
                    and not _HEDGED_BEFORE.search(_clause_before(explained, hit))
                ),
                None,
            )
            out.append(
                _Finding(
                    source,
                    s_start + m.start(),
                    s_start + m.end(),
                    m.group(0),
                    window.strip(),
                    size,
                    size_text,
                    attrs,
                    plural,
                    skip,
                )
            )
    return out


def _exclusion(
    table: RuleTable, age: int | None, exam: str | None, indication: str | None
) -> dict[str, str] | None:
    texts = {"exam": exam or "", "indication": indication or ""}
    for ex in table.exclusions:
        if "age_below" in ex and age is not None and age < int(ex["age_below"]):
            return {"guideline": table.guideline, "id": ex["id"], "reason": ex["reason"]}
        rx = ex.get("pattern")
        if rx is None:
            continue
        for where in ex.get("where", ["indication"]):
            for m in rx.finditer(texts.get(where, "")):
                if not _NEGATED_PATIENT.search(texts[where][: m.start()]):
                    return {
                        "guideline": table.guideline,
                        "id": ex["id"],
                        "reason": ex["reason"],
                        "evidence": m.group(0),
                    }
    return None


def _risk(table: RuleTable, indication: str | None) -> str | None:
    text = indication or ""
    if table.risk_low is not None and table.risk_low.search(text):
        return "low"
    if table.risk_high is not None:
        for m in table.risk_high.finditer(text):
            if not _NEGATED_PATIENT.search(text[: m.start()]):
                return "high"
    return None


_WORDS = {
    "ground_glass": "ground-glass",
    "part_solid": "part-solid",
    "solid": "solid",
    "single": "single",
    "multiple": "multiple",
}


def _describe(table: RuleTable, f: _Finding, count: str, risk: str | None) -> str:
    """'single solid pulmonary nodule of 8 x 6 mm (mean 7 mm), high-risk patient'."""
    parts = []
    if any("count" in c.when for c in table.cells):
        parts.append(_WORDS.get(count, count))
    comp = f.attributes.get("composition")
    if comp:
        parts.append(" or ".join(_WORDS.get(c, c) for c in comp))
    name = table.finding_name + ("s" if count == "multiple" else "")
    desc = " ".join([*parts, name])
    if f.size_text:
        desc += f" of {f.size_text}"
        if f.size and f.size[0] == f.size[1] and re.search(r"\d\s*(?:x|×|by)\s*\d", f.size_text):
            desc += f" (mean {f.size[0]} mm)"
    elif "size_mm" in {k for c in table.cells for k in c.when}:
        desc += ", size not stated"
    if risk:
        desc += f", {risk}-risk patient"
    return desc


def _lookup(table: RuleTable, values: dict[str, Any]) -> Cell | None:
    return next((c for c in table.cells if c.matches(values)), None)


def _recommend_one(table: RuleTable, f: _Finding, count: str, risk: str | None) -> Recommendation:
    evidence = {"source": f.source, "start": f.start, "end": f.end, "text": f.text}
    uses_size = any("size_mm" in c.when for c in table.cells)
    lo, hi = f.size if f.size else (1, int(table.max_size_mm or 30))
    finding_info = {
        "size_mm": None if f.size is None else (lo if lo == hi else [lo, hi]),
        "size_text": f.size_text,
        "count": count,
        "name": table.finding_name,
        "risk": risk or "unknown",
        **{k: v[0] if len(v) == 1 else v for k, v in f.attributes.items()},
    }
    desc = _describe(table, f, count, risk)

    def make(sentence: str, rule_id: str, level: str) -> Recommendation:
        return Recommendation(
            sentence, table.guideline, rule_id, level, evidence, table.citation, finding_info
        )

    if uses_size and table.max_size_mm is not None and lo > table.max_size_mm:
        return make(
            f"A lesion over {int(table.max_size_mm)} mm is a mass and outside the {table.guideline} "
            f"{table.finding_name} guideline; further work-up as clinically indicated.",
            f"{table.id}/outside",
            "outside",
        )
    sizes = list(range(lo, min(hi, int(table.max_size_mm or hi)) + 1)) if uses_size else [None]
    risks = [risk] if (risk or not table.uses_risk) else ["low", "high"]
    combos = [
        dict(zip(f.attributes, vals, strict=True))
        for vals in itertools.product(*f.attributes.values())
    ]
    by_risk: dict[str | None, dict[str, Cell]] = {}
    for r in risks:
        found: dict[str, Cell] = {}
        for combo in combos:
            for s in sizes:
                cell = _lookup(table, {**combo, "size_mm": s, "risk": r, "count": count})
                if cell is not None:
                    found.setdefault(cell.recommendation, cell)
        by_risk[r] = found
    if all(len(v) == 1 for v in by_risk.values()):
        cells = [next(iter(v.values())) for v in by_risk.values()]
        if len({c.recommendation for c in cells}) == 1:
            cell = cells[0]
            rec_text = cell.recommendation
        else:  # risk unknown and the rows differ: give both
            rec_text = " ".join(
                f"If {r} risk: {next(iter(v.values())).recommendation}" for r, v in by_risk.items()
            )
            cell = max(cells, key=lambda c: FOLLOW_UP_LEVELS.index(c.follow_up))
        rule_id = " | ".join(dict.fromkeys(f"{table.id}/{c.id}" for c in cells))
        sentence = table.sentence.format(
            guideline=table.guideline, description=desc, recommendation=rec_text
        )
        level = max((c.follow_up for c in cells), key=FOLLOW_UP_LEVELS.index)
        return make(sentence, rule_id, level)
    # the words leave the size (or composition) open and the answer depends on it
    missing = []
    if uses_size and len(sizes) > 1:
        missing.append("the mean diameter (average of long and short axes)")
    open_attrs = [k for k, v in f.attributes.items() if len(v) > 1]
    missing += [
        f"the {k.replace('_', ' ')} ({' or '.join(_WORDS.get(v, v) for v in f.attributes[k])})"
        for k in open_attrs
    ]
    entries: dict[tuple[str, str], list[str]] = {}
    for r, found in by_risk.items():
        for c in found.values():
            entries.setdefault((_cell_label(c, table), c.recommendation), []).append(r or "")
    options = "; ".join(
        f"{label}{'' if len(rs) == len(by_risk) else ' (' + '/'.join(rs) + ' risk)'}: {rec.rstrip('.')}"
        for (label, rec), rs in entries.items()
    )
    sentence = table.indeterminate.format(
        guideline=table.guideline,
        description=desc,
        missing=" and ".join(missing) or "details the report does not give",
        options=options + ".",
        recommendation=options + ".",
    )
    return make(sentence, f"{table.id}/indeterminate", "indeterminate")


def _cell_label(cell: Cell, table: RuleTable) -> str:
    bits = []
    for k, v in cell.when.items():
        if k == "size_mm":
            if not v[0]:
                bits.append(f"<{v[1] + 1} mm")
            elif table.max_size_mm is not None and v[1] >= table.max_size_mm:
                bits.append(f"{v[0]} mm or more")
            else:
                bits.append(f"{v[0]}-{v[1]} mm")
        elif k not in ("risk", "count"):
            bits.append("/".join(_WORDS.get(x, x) for x in (v if isinstance(v, list) else [v])))
    return " ".join(bits) or cell.id


def assess(
    findings: str | None,
    impression: str | None = None,
    exam: str | None = None,
    indication: str | None = None,
    age: int | None = None,
    rules: Sequence[RuleTable] | None = None,
    default_modality: str = "radiograph",
) -> FollowUpResult:
    """Recommendations for one report, with exclusions and skipped findings explained.

    Findings are read first; the impression is read only when the findings name no
    such finding. Several different findings of one table count as multiple, and the
    largest guides management (the Fleischner rule for multiple nodules).
    """
    rules = default_rules() if rules is None else rules
    modality = modality_of(exam, findings or "", default_modality)
    age_years = age_of(age, indication)
    result = FollowUpResult([], modality)
    for table in rules:
        if table.modalities and modality not in table.modalities:
            continue
        found = _findings_in(table, findings or "", "findings")
        in_impression = _findings_in(table, impression or "", "impression")
        if not found:
            found = in_impression
        elif in_impression and all(f.skip == "stable" for f in in_impression):
            # a comparison the impression makes ("unchanged right hilar mass") holds for the
            # findings' description of the same finding too
            for f in found:
                f.skip = f.skip or "stable"
        if not found:
            continue
        excluded = _exclusion(table, age_years, exam, indication)
        if excluded:
            result.excluded.append(excluded)
            continue
        live = []
        for f in found:
            if f.skip:
                result.skipped.append(
                    {
                        "guideline": table.guideline,
                        "reason": f.skip,
                        "source": f.source,
                        "text": f.window,
                    }
                )
            else:
                live.append(f)
        if not live:
            continue
        distinct = {(f.size, tuple(map(tuple, f.attributes.values()))) for f in live}
        # "nodules", "opacities", "several nodules": the words say there is more than one
        multiple_word = any(f.plural or f.attributes.get("count") == ["multiple"] for f in live)
        count = "multiple" if (len(distinct) > 1 or multiple_word) else "single"
        lead = max(live, key=lambda f: (f.size[1] if f.size else -1, f.start))
        risk = _risk(table, indication)
        if "count" in lead.attributes:
            lead.attributes = {k: v for k, v in lead.attributes.items() if k != "count"}
        result.recommendations.append(_recommend_one(table, lead, count, risk))
    return result


def recommend(
    findings: str | None,
    impression: str | None = None,
    exam: str | None = None,
    indication: str | None = None,
    age: int | None = None,
    rules: Sequence[RuleTable] | None = None,
) -> list[Recommendation]:
    """Follow-up recommendations the guideline tables give for one report."""
    return assess(findings, impression, exam, indication, age, rules).recommendations


def gives_follow_up(
    text: str | None, rec: Recommendation, rules: Sequence[RuleTable] | None = None
) -> bool:
    """Whether a draft impression already states a follow-up or next step for this finding."""
    table_id = rec.rule_id.split("/", 1)[0]
    table = next(
        (t for t in (default_rules() if rules is None else rules) if t.id == table_id), None
    )
    rx = table.satisfied_by if table is not None else re.compile(_DEFAULT_SATISFIED, re.I)
    return bool(rx.search(text or ""))


def guideline_spans(text: str | None) -> list[tuple[int, int]]:
    """Where a text quotes a guideline rather than describing the patient.

    The sentences that name a packaged rule table's guideline ("Per the Fleischner Society 2017
    guideline (... 12 x 8 mm (mean 10 mm) ...): ..."), and every cell's recommendation as
    the table words it ("If unchanged and solid component remains <6 mm, ..."). Their sizes
    are the guideline's thresholds or the mean axis the rules computed, so the measurement
    check must not take them for a measurement copied from another report: with
    `--recommend` it flagged the sentence radimpress itself had appended.
    """
    if not text:
        return []
    names, wordings = _guideline_wordings()
    spans = [(start, start + len(s)) for start, s in _sentences(text) if names.search(s)]
    for wording in wordings:
        at = text.find(wording)
        while at >= 0:
            spans.append((at, at + len(wording)))
            at = text.find(wording, at + 1)
    return spans


@lru_cache(maxsize=1)
def _guideline_wordings() -> tuple[re.Pattern, tuple[str, ...]]:
    """The packaged tables' guideline names as one pattern, and their cells' wordings."""
    rules = default_rules()
    names = sorted({t.guideline for t in rules if t.guideline}, key=len, reverse=True)
    rx = re.compile("|".join(re.escape(n) for n in names) or r"(?!)", re.I)
    wordings = {
        c.recommendation.strip() for t in rules for c in t.cells if c.recommendation.strip()
    }
    return rx, tuple(sorted(wordings, key=len, reverse=True))


def append_recommendations(draft: str, recs: Iterable[Recommendation]) -> str:
    """The draft with each recommendation's sentence appended once (none already in it)."""
    out = (draft or "").rstrip()
    for rec in recs:
        if rec.follow_up == "none" and not rec.sentence:
            continue
        if rec.sentence in out:
            continue
        sep = "" if not out else (" " if out.endswith((".", "!", "?")) else ". ")
        out = f"{out}{sep}{rec.sentence}"
    return out
