"""Rule-based finding extractor: report text -> structured mentions.

Built on medspaCy so it runs offline with no statistical model: PyRuSH splits
sentences, the TargetMatcher finds observations, ConText decides negation,
uncertainty and history. Laterality, location, severity, size, change and device
position are read from the words next to each mention, limited to its clause,
because ConText scopes whole sentences and "left effusion and right pneumothorax"
would otherwise give both findings both sides.

The pipeline is built once per process (loading medspaCy costs seconds).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from radimpress.records import InputError
from radimpress.safety import vocabulary as V
from radimpress.safety.sizes import first_size_mm


@dataclass(frozen=True)
class Mention:
    """One observation said somewhere in a text, with what was said about it."""

    observation: str
    polarity: str  # "present" | "absent" | "uncertain"
    start: int
    end: int
    text: str
    laterality: str | None = None  # "left" | "right" | "bilateral"
    location: str | None = None
    severity: str | None = None  # "small" | "mild" | "moderate" | "large" | "severe"
    size_mm: float | None = None
    change: str | None = None  # "new" | "worse" | "improved" | "resolved" | "stable"
    device: str | None = None  # for Support Devices: "airway tube", "central line", ...
    position: str | None = None  # for devices: "malpositioned" | "standard"
    fault: bool = False  # for devices: broken or disconnected (its position is "malpositioned")
    acuity: str | None = None  # for fractures: "acute" | "chronic"
    followup: bool = False  # a lesion the text asks to work up
    historical: bool = False
    generic: bool = (
        False  # a whole-organ normal statement ("lungs are clear"), not about one lesion
    )
    benign: bool = (
        False  # explained as chronic or benign ("calcified granuloma", "likely atelectasis")
    )
    sentence: str = ""

    @property
    def sides(self) -> frozenset[str]:
        if self.laterality == "bilateral":
            return frozenset({"left", "right"})
        return frozenset({self.laterality}) if self.laterality else frozenset()

    def span(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None and v is not False and v != ""}


_PRE_CUT = re.compile(r"[,;:()]|\b(?:and|or|with|but|which|while|whereas|as well as)\b", re.I)
_POST_CUT = re.compile(
    r"[,;:()]|\.(?!\d)|\b(?:and|or|nor|but|which|while|whereas|as well as|with)\b", re.I
)
_LEFT = re.compile(V.LEFT)
_LEFT_I = re.compile(r"\b(?:left|leftward|left-sided|lt)\b", re.I)
_RIGHT = re.compile(V.RIGHT)
_RIGHT_I = re.compile(r"\b(?:right|rightward|right-sided|rt)\b", re.I)
_BILAT = re.compile(V.BILATERAL, re.I)
_BOTH_SIDES_BEFORE = re.compile(r"\b(?:left and right|right and left)\b(?:\s+\S+){0,3}\s*$", re.I)
_NOT_A_SIDE = re.compile(V.NOT_A_SIDE, re.I)
_LOCATION = re.compile(V.LOCATION, re.I)
_SEVERITY = re.compile(r"\b(" + "|".join(sorted(V.SEVERITY, key=len, reverse=True)) + r")\b", re.I)
_CHANGE = [(name, re.compile(p, re.I)) for name, p in V.CHANGE_PATTERNS]
_NO_CHANGE = re.compile(V.NO_CHANGE, re.I)
_IMPLIED_SIDE = [(re.compile(p, re.I), side) for p, side in V.IMPLIED_SIDE]
_LOCATIVE_AFTER = re.compile(V.LOCATIVE_AFTER, re.I)
_SECTION_HEADER = re.compile(V.SECTION_HEADER, re.I | re.M)
_PAST_SECTION = re.compile(V.PAST_SECTIONS, re.I)
_CHRONIC = re.compile(V.CHRONIC, re.I)
_ACUTE = re.compile(V.ACUTE, re.I)
_COMPARED_WITH_EARLIER = re.compile(V.COMPARED_WITH_EARLIER, re.I)
_MALPOSITION = re.compile(V.MALPOSITION, re.I)
_DEVICE_FAULT = re.compile(V.DEVICE_FAULT, re.I)
_STANDARD = re.compile(V.STANDARD_POSITION, re.I)
_FOLLOWUP = re.compile(V.FOLLOWUP, re.I)
_NORMAL = re.compile(V.NORMAL_STUDY, re.I)
_MALPOSITION_BY_DEVICE = {k: re.compile(v, re.I) for k, v in V.MALPOSITION_BY_DEVICE.items()}
_BENIGN = re.compile(V.BENIGN, re.I)
_BORDERLINE = re.compile(r"borderline|top[- ]normal|upper limits? (?:of )?normal", re.I)
_DOUBLE_STOP = re.compile(r"\.\.+")
_AND_LOCATION = re.compile(
    r"^\s*and\s+(?:the\s+)?(?:(?:left|right|both)\s+)(?:\w+\s+){0,2}?(?:lobes?|lungs?|bases?|apex|apices|midlung|hemithorax|zones?)\b",
    re.I,
)
_SIDE_WORD = re.compile(r"\b(?:left|right)\b", re.I)
_SEVERITY_AFTER = re.compile(
    r"^\s*(?:,\s*|(?:is|are|appears?|remains?|measur\w+|which is)\s+(?:\w+\s+)?)("
    + "|".join(sorted(V.SEVERITY, key=len, reverse=True))
    + r")\b(?=\s*(?:[,.;)]|$|in (?:size|amount|volume)))",
    re.I,
)
_ANAPHORA = re.compile(V.ANAPHORA, re.I)
_WORDS = 8


def _silence_debug_logging() -> None:
    """PyRuSH logs every sentence boundary at DEBUG through loguru; that floods stderr."""
    try:
        from loguru import logger

        logger.disable("PyRuSH")
    except ImportError:  # pragma: no cover - loguru comes with PyRuSH
        pass
    import logging

    for name in ("PyRuSH", "medspacy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import warnings

    # medspaCy's phrase matcher is empty (all radimpress rules are regexes); spaCy warns per doc
    warnings.filterwarnings("ignore", message=r"\[W036\]")
    # PyFastNER logs each sentence rule it cannot use on the *root* logger at INFO
    root = logging.getLogger()
    if not any(isinstance(f, _FastNerNoise) for f in root.filters):
        root.addFilter(_FastNerNoise())


class _FastNerNoise:
    def filter(self, record) -> bool:
        return "is not a eligible syntax" not in str(record.msg)


SENTENCE_SPLITTERS = ("punctuation", "pyrush")


def _one_text_regex_matcher(base):
    """medspaCy's RegexMatcher, reading the doc text once per doc instead of once per pattern.

    Upstream calls ``doc.text_with_ws`` (a join over every token) inside its loop over
    patterns; with ~90 radimpress patterns that join was two thirds of the checker's
    time. Same matches, same order, same token snapping.
    """
    from medspacy.common.util import get_token_for_char

    class OneTextRegexMatcher(base):
        _radimpress_one_text = True

        def __call__(self, doc):
            text = doc.text_with_ws
            matches = []
            for match_id, patterns in self._patterns.items():
                on_match = self._callbacks[match_id]
                for pattern in patterns:
                    for re_match in pattern.finditer(text):
                        span = doc.char_span(re_match.start(), re_match.end())
                        if span is None:
                            start = get_token_for_char(
                                doc, re_match.start(), resolve=self.resolve_start
                            )
                            end = get_token_for_char(doc, re_match.end(), resolve=self.resolve_end)
                            span = doc[start.i : len(doc) if end is None else end.i]
                        if len(span):
                            matches.append((match_id, span.start, span.end))
                        if on_match is not None:
                            on_match(self, doc, len(matches) - 1, matches)
            return matches

    return OneTextRegexMatcher


def _use_one_text_regex_matcher() -> None:
    import medspacy.common.medspacy_matcher as mm

    if not getattr(mm.RegexMatcher, "_radimpress_one_text", False):
        mm.RegexMatcher = _one_text_regex_matcher(mm.RegexMatcher)


class _TorchHiddenFromThinc:
    """An import finder that tells thinc (spaCy's machine-learning layer) torch is not installed.

    thinc imports torch whenever it is installed, to offer torch layers; this pipeline
    is rules only and never runs one. In a process that drafts through a CTranslate2
    copy nothing else imports torch, and thinc's import of it was 1.2-1.5 s and about
    230 MB of every start with the safety checks on (each CLI call, `serve`, each Ray
    actor). Only an import of torch made from thinc's own modules is refused (the
    finder walks past importlib's frames to the importing module), so another
    thread that imports torch meanwhile gets it, and a torch imported earlier is
    found in ``sys.modules`` before any finder is asked. thinc then runs without its
    torch shims, as on a machine without torch. The one cost: a process that builds this
    pipeline first and later loads a spaCy model with torch layers would find thinc
    still believing torch absent; radimpress's only such model (`radimpress deid
    --ner-model`) never runs in a process that runs the checks.
    """

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name != "torch" and not name.startswith("torch."):
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
            frame = frame.f_back
        importer = frame.f_globals.get("__name__", "") if frame is not None else ""
        if importer == "thinc" or importer.startswith("thinc."):
            raise ImportError("radimpress's rule-based spaCy pipeline does not use torch")
        return None


@contextmanager
def _thinc_without_torch() -> Iterator[None]:
    finder = _TorchHiddenFromThinc()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


@lru_cache(maxsize=1)
def build_pipeline():
    """The medspaCy pipeline with radimpress's own target and ConText rules.

    A modifier that ends scopes ("but", a full stop, the categories of TERMINATED_BY) is
    given a scope of one word around itself: medspaCy ends a scope only at a terminator
    whose scope overlaps it by its own test, which misses a sentence-wide scope containing
    one that a word limit cut short, so "resolution of" (10 words) ran past "with
    persistent ..." into the next finding.

    Sentences are split by spaCy's punctuation sentencizer by default: on 600
    Open-i texts it gave the same mentions as PyRuSH for 599 and the same
    labelled-set results, 3x faster (PyRuSH's rule engine was two thirds of the
    checker's time, which bounds serving latency). RADIMPRESS_SENTENCE_SPLITTER=pyrush
    selects medspaCy's PyRuSH instead.
    """
    _silence_debug_logging()
    with _thinc_without_torch():
        import medspacy
        from medspacy.context import ConTextRule
        from medspacy.target_matcher import TargetRule

    _use_one_text_regex_matcher()
    splitter = os.environ.get("RADIMPRESS_SENTENCE_SPLITTER", "punctuation")
    if splitter not in SENTENCE_SPLITTERS:
        raise InputError(
            f"RADIMPRESS_SENTENCE_SPLITTER={splitter!r}: expected one of {', '.join(SENTENCE_SPLITTERS)}"
        )
    if splitter == "pyrush":
        nlp = medspacy.load(medspacy_enable=["medspacy_pyrush"], load_rules=False)
    else:
        import spacy

        nlp = spacy.blank("en")  # the tokenizer medspacy.load gives the PyRuSH pipeline too
        nlp.add_pipe("sentencizer")
    matcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add(
        [
            # \b first: the regex engine then tries only word starts (a third of the time)
            TargetRule(
                literal=f"{obs}:{i}", category=obs, pattern=rf"\b(?:{pattern})", metadata=meta
            )
            for i, (obs, pattern, meta) in enumerate(V.TARGET_PATTERNS)
        ]
    )
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    ends = set().union(*V.TERMINATED_BY.values())
    context.add(
        [
            ConTextRule(
                literal=lit,
                category=cat,
                direction=d,
                pattern=p,
                max_scope=1 if d == "TERMINATE" or cat in ends else scope,
                terminated_by=V.TERMINATED_BY.get(lit),
            )
            for lit, cat, d, p, scope in V.CONTEXT_RULES
        ]
    )
    return nlp


def _side_of(text: str) -> str | None:
    text = _NOT_A_SIDE.sub(" ", text)
    left = bool(_LEFT.search(text) or _LEFT_I.search(text))
    right = bool(_RIGHT.search(text) or _RIGHT_I.search(text))
    if _BILAT.search(text) or (left and right):
        return "bilateral"
    return "left" if left else "right" if right else None


def _windows(pre_text: str, post_text: str) -> tuple[str, str, str, str]:
    """Text before and after a mention, bounded by the neighbouring mentions in its sentence.

    Returns (raw before, clause-cut before, clause-cut after, uncut after). Sides and
    severity come from the clause only; change may follow a comma ("mass, new since prior").
    """
    before_raw = " ".join(pre_text.split()[-_WORDS:])
    cuts = list(_PRE_CUT.finditer(before_raw))
    before = before_raw[cuts[-1].end() :] if cuts else before_raw
    cut = _POST_CUT.search(post_text)
    if cut and cut.group(0).lower() == "and":
        more = _AND_LOCATION.match(post_text[cut.start() :])
        if more:  # "in the right midlung and left lower lobe": one finding, two places
            rest = post_text[cut.start() + more.end() :]
            cut2 = _POST_CUT.search(rest)
            post_text = post_text[: cut.start() + more.end()] + (
                rest[: cut2.start()] if cut2 else rest
            )
            cut = None
    after = post_text[: cut.start()] if cut else post_text
    after = " ".join(after.split()[: _WORDS + 4])
    stop = _LONG_CUT.search(post_text)
    after_long = " ".join((post_text[: stop.start()] if stop else post_text).split()[: 2 * _WORDS])
    return before_raw, before, after, after_long


_LONG_CUT = re.compile(r";|\.(?!\d)|\b(?:and|with|but|while|whereas|which)\b", re.I)
_INHERIT_GAP = re.compile(r"^[\s,;:]*(?:[a-z]+[\s,]+){0,8}$", re.I)
_NO_INHERIT = re.compile(r"\b(?:no|not|without|but|however|while|whereas|than)\b", re.I)


def _polarity(ent, fixed: str | None) -> tuple[str, bool]:
    """Polarity from the nearest ConText modifier; the fixed one wins for phrases like 'heart size normal'."""
    historical = False
    nearest: tuple[int, str] | None = None
    for mod in ent._.modifiers:
        cat = mod.category
        if cat == "HISTORICAL":
            historical = True
            continue
        if cat == "HYPOTHETICAL":
            cat = "POSSIBLE_EXISTENCE"  # looked for, not found: not a finding either way
        if cat not in ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE"):
            continue
        ms, me = mod.modifier_span
        dist = ent.start - me if me <= ent.start else ms - ent.end
        if nearest is None or dist < nearest[0]:
            nearest = (dist, cat)
    if fixed == "absent":
        return "absent", historical
    if nearest is not None and nearest[1] == "NEGATED_EXISTENCE":
        return "absent", historical
    if fixed == "uncertain" or (nearest is not None and nearest[1] == "POSSIBLE_EXISTENCE"):
        return "uncertain", historical
    return "present", historical


def _change(text: str) -> str | None:
    """First change word in vocabulary order; None when the words point different ways.

    "No interval increase" is a statement of no change: it is read as stable and
    taken out before the change words, or its "increase" would say worse.
    """
    if _NO_CHANGE.search(text):
        text = _NO_CHANGE.sub(" stable ", text)
    found = [name for name, rx in _CHANGE if rx.search(text)]
    directions = {V.CHANGE_DIRECTION[n] for n in found if n in V.CHANGE_DIRECTION}
    if len(directions) > 1:
        return None  # "stable ... increased markings": a state, not a change we can trust
    return found[0] if found else None


def _past_sections(text: str) -> list[tuple[int, int]]:
    """Character ranges of history/indication/comparison sections written inside a text."""
    heads = list(_SECTION_HEADER.finditer(text))
    out = []
    for k, h in enumerate(heads):
        if _PAST_SECTION.match(h.group(1)):
            end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
            out.append((h.end(), end))
    return out


def _mentions_from_doc(
    doc, full_text: str, offset: int, past: list[tuple[int, int]]
) -> list[Mention]:
    """Mentions of one parsed chunk; spans are shifted by ``offset`` into ``full_text``."""
    text = doc.text
    out: list[Mention] = []
    ents = sorted(doc.ents, key=lambda e: e.start_char)
    prev_side: str | None = None
    # sentences once per doc (Span.sent walks the tokens on every call)
    sents = list(doc.sents)
    sent_starts = [s.start for s in sents]
    sent_of = [bisect_right(sent_starts, e.start) - 1 for e in ents]
    sentence_side: dict[int, str | None] = {}
    prev_sentence: dict[int, int] = {}
    last = -1
    for sent in sents:
        sentence_side[sent.start_char] = _only_side(sent.text)
        prev_sentence[sent.start_char] = last
        last = sent.start_char
    for idx, ent in enumerate(ents):
        if ent.label_ == "IGNORE":
            continue
        rule = ent._.target_rule
        meta = dict(rule.metadata or {}) if rule is not None else {}
        k = sent_of[idx]
        sent = sents[k]
        prev = ents[idx - 1] if idx > 0 and sent_of[idx - 1] == k else None
        nxt = ents[idx + 1] if idx + 1 < len(ents) and sent_of[idx + 1] == k else None
        pre_from = prev.end_char if prev is not None else sent.start_char
        post_to = nxt.start_char if nxt is not None else sent.end_char
        before_raw, before, after, after_long = _windows(
            text[pre_from : ent.start_char], text[ent.end_char : post_to]
        )
        near = f"{before} {ent.text} {after}"
        polarity, historical = _polarity(ent, meta.get("polarity"))
        if meta.get("negatable") and re.search(r"\bnot\b", ent.text, re.I):
            polarity = "absent"  # "the aorta is not tortuous": the phrase carries its negation
        if polarity == "present" and _BORDERLINE.search(f"{before} {ent.text}"):
            polarity = "uncertain"
        start = ent.start_char + offset
        if any(a <= start < b for a, b in past):
            historical = True  # named in the history, indication or comparison section
        sent_rest = " ".join(text[ent.end_char : sent.end_char].split()[: 2 * _WORDS])
        benign = bool(_BENIGN.search(f"{before_raw} {ent.text} {sent_rest}"))
        if not benign and k + 1 < len(sents) and _ANAPHORA.match(sents[k + 1].text):
            # "nodular opacities ... These may represent calcified granulomas."
            benign = bool(_BENIGN.search(sents[k + 1].text))

        if meta.get("side") == "match":
            # the side is part of the phrase ("elevated right hemidiaphragm", "left atrial enlargement")
            side = _side_of_raw(ent.text) or _side_of(near)
        else:
            side = _side_of(near)
        if side is None and _BOTH_SIDES_BEFORE.search(before_raw):
            side = "bilateral"
        tail = re.split(r"[,;:.]", before_raw)[-1]
        if (
            side in ("left", "right")
            and " and " in f" {tail.lower()} "
            and (len(set(_SIDE_WORD.findall(tail.lower()))) == 2 or _BILAT.search(tail))
        ):
            side = "bilateral"  # "right and XXXX left pleural effusions", "bibasilar and left ..."
        if side is None:
            loc_after = _LOCATIVE_AFTER.match(text[ent.end_char : sent.end_char])
            if loc_after:  # "opacities, most notably in the right middle lobe"
                word = loc_after.group(1).lower()
                side = "bilateral" if word in ("both", "bilateral") else word
        if side is None:
            side = next((sd for rx, sd in _IMPLIED_SIDE if rx.search(near)), None)
        inherited = None
        if side is None and prev is not None and prev_side is not None:
            gap = text[prev.end_char : ent.start_char]
            if _INHERIT_GAP.match(gap) and not _NO_INHERIT.search(gap):
                side = inherited = prev_side  # "right lower lobe opacity, likely atelectasis"
        if side is None and polarity != "absent" and not meta.get("polarity"):
            # one side named in the whole sentence ("left upper lobe XXXX, reflecting an
            # aspergilloma"), or, for "This represents pneumonia.", in the sentence before
            side = sentence_side.get(sent.start_char)
            if side is None and _ANAPHORA.match(sent.text):
                side = sentence_side.get(prev_sentence.get(sent.start_char, -1))
        loc = _LOCATION.search(f"{before} {after}")
        # severity before the finding, or stated of it after ("effusion, small", "effusion is
        # small"); "pneumothorax or large effusion" gives "large" to the effusion only
        sev = _SEVERITY.search(f"{before} {ent.text}") or _SEVERITY_AFTER.match(
            text[ent.end_char : min(sent.end_char, ent.end_char + 80)]
        )
        size_mm = first_size_mm(near)
        change = _change(f"{before} {ent.text} {after_long}")
        if _NO_CHANGE.search(text[pre_from : ent.start_char]):
            change = "stable"  # "no interval increase in size and number of ... nodules"

        device = position = acuity = None
        followup = fault = False
        obs = ent.label_
        if obs == "Support Devices":
            device = meta.get("device")
            # position words belong to this device up to the next device in the sentence
            stop = sent.end_char
            for other in ents[idx + 1 :]:
                if other.start_char >= sent.end_char:
                    break
                if other.label_ == "Support Devices":
                    stop = other.start_char
                    break
            clause = text[ent.start_char : stop]
            scope = f"{before} {clause}"
            by_device = _MALPOSITION_BY_DEVICE.get(device or "")
            fault = bool(_DEVICE_FAULT.search(scope))
            if (
                fault
                or _MALPOSITION.search(scope)
                or (by_device is not None and by_device.search(clause))
            ):
                position = "malpositioned"
            elif _STANDARD.search(scope):
                position = "standard"
            # a device's side is what is written before it ("left IJ catheter"); sides after
            # it place its tip ("tip in the right atrium")
            side = _side_of(f"{before} {ent.text}") or inherited
        elif obs == "Fracture":
            around = _COMPARED_WITH_EARLIER.sub(" ", f"{before_raw} {ent.text} {after_long}")
            if _CHRONIC.search(around):
                acuity = "chronic"
            elif _ACUTE.search(near):
                acuity = "acute"
        elif obs == "Lung Lesion":
            following = full_text[offset + sent.end_char : offset + sent.end_char + 160]
            followup = bool(_FOLLOWUP.search(sent.text)) or bool(
                re.match(
                    r"\W*(?:\d\.\s*)?(?:recommend|follow|further|consider|ct\b|a ct|chest ct|dedicated)",
                    following,
                    re.I,
                )
            )
        prev_side = side
        for name in [obs, *meta.get("also", [])]:
            out.append(
                Mention(
                    observation=name,
                    polarity=polarity,
                    start=start,
                    end=ent.end_char + offset,
                    text=ent.text,
                    laterality=side,
                    location=loc.group(0).lower() if loc else None,
                    severity=V.SEVERITY[sev.group(1).lower()] if sev else None,
                    size_mm=size_mm,
                    change=change,
                    device=device,
                    position=position,
                    fault=fault,
                    acuity=acuity,
                    followup=followup,
                    historical=historical,
                    generic=meta.get("polarity") == "absent",
                    benign=benign,
                    sentence=sent.text,
                )
            )
    return out


def _only_side(text: str) -> str | None:
    """The one side a sentence names, or None when it names none, both, or a bilateral one."""
    text = _NOT_A_SIDE.sub(" ", text)
    left = bool(_LEFT_I.search(text))
    right = bool(_RIGHT_I.search(text))
    if left == right or _BILAT.search(text):
        return None
    return "left" if left else "right"


def _side_of_raw(text: str) -> str | None:
    """Side words in a phrase, including those NOT_A_SIDE hides ('right hemidiaphragm')."""
    left = bool(_LEFT.search(text) or _LEFT_I.search(text))
    right = bool(_RIGHT.search(text) or _RIGHT_I.search(text))
    if _BILAT.search(text) or (left and right):
        return "bilateral"
    return "left" if left else "right" if right else None


# Texts longer than this are parsed in pieces cut at sentence ends. medspaCy's
# ConText compares every modifier with every other and with every target in a doc,
# and its matcher re-sets doc.ents once per match: both grow with the square of the
# text length. Scopes never cross a sentence, so pieces give the same mentions.
CHUNK_CHARS = 1500
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _chunks(text: str, size: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """(offset, piece) pairs: pieces end at a sentence end and are at most about ``size`` long."""
    if len(text) <= size:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    last_cut = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() - start > size and last_cut > start:
            out.append((start, text[start:last_cut]))
            start = last_cut
        last_cut = m.end()
    if len(text) - start > size and last_cut > start:
        out.append((start, text[start:last_cut]))
        start = last_cut
    out.append((start, text[start:]))
    return out


def extract(text: str | None) -> list[Mention]:
    """Mentions in one report section, in text order."""
    return extract_many([text])[0]


# Mentions of recently parsed texts. Drafting checks the same texts again and again: the
# candidates of one report share its findings, stock normal impressions recur across
# reports, and a scorer that reads the warnings parses what the drafting path then checks.
# Mentions are frozen, so sharing them is safe.
_CACHE: OrderedDict[str, list[Mention]] = OrderedDict()
CACHE_TEXTS = 20_000


def extract_many(texts: Iterable[str | None], batch_size: int = 64) -> list[list[Mention]]:
    """Mentions for many texts at once (nlp.pipe is faster than one call per text)."""
    texts = [t or "" for t in texts]
    todo = [t for t in dict.fromkeys(texts) if t not in _CACHE]
    for text, mentions in zip(todo, _parse(todo, batch_size), strict=True):
        _CACHE[text] = mentions
    while len(_CACHE) > CACHE_TEXTS:
        _CACHE.popitem(last=False)
    out = []
    for t in texts:
        _CACHE.move_to_end(t)
        out.append(list(_CACHE[t]))
    return out


def _parse(texts: list[str], batch_size: int) -> list[list[Mention]]:
    nlp = build_pipeline()
    # "effusion.. Cardiomegaly" defeats the sentence splitter; same length keeps spans valid
    items = [_DOUBLE_STOP.sub(lambda m: ". " + " " * (len(m.group(0)) - 2), t) for t in texts]
    pieces = [(k, off, piece) for k, t in enumerate(items) for off, piece in _chunks(t)]
    past = [_past_sections(t) for t in items]
    out: list[list[Mention]] = [[] for _ in items]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\[W036\]")
        docs = nlp.pipe((p for _, _, p in pieces), batch_size=batch_size)
        for (k, off, _), doc in zip(pieces, docs, strict=True):
            out[k].extend(_mentions_from_doc(doc, items[k], off, past[k]))
    for k, t in enumerate(items):
        for m in _NORMAL.finditer(t):
            out[k].append(Mention("No Finding", "present", m.start(), m.end(), m.group(0)))
    return out


def labels_from_mentions(
    mentions: Iterable[Mention], observations: Iterable[str] = V.CHEXPERT_OBSERVATIONS
) -> dict[str, str]:
    """Report-level label per observation: present > uncertain > absent > (not mentioned: absent).

    'No Finding' follows CheXpert: present when no other observation except
    support devices is present or uncertain.
    """
    observations = list(observations)
    best: dict[str, str] = {}
    rank = {"absent": 0, "uncertain": 1, "present": 2}
    for m in mentions:
        if m.historical or m.observation == "No Finding":
            continue
        current = best.get(m.observation)
        if current is None or rank[m.polarity] > rank[current]:
            best[m.observation] = m.polarity
    labels = {o: best.get(o, "absent") for o in observations if o != "No Finding"}
    if "No Finding" in observations:
        abnormal = any(v != "absent" for o, v in labels.items() if o != "Support Devices")
        labels["No Finding"] = "absent" if abnormal else "present"
    return labels
