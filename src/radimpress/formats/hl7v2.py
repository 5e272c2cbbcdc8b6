"""HL7 v2 ORU^R01 radiology results: read findings/impressions, write drafts and ACKs.

Reporting systems send the report body as OBX segments whose observation
identifier (OBX-3) ends in a DICOM-style section suffix: ``…&GDT`` (general
text: the findings) and ``…&IMP`` (impression). Text spans several OBX
segments and repeated OBX-5 values, one line each, with HL7 escape
sequences for the delimiter characters.

Many feeds send the whole narrative instead: under a LOINC code for the
report (18782-3 is used both ways) or a local code, with its own
``FINDINGS:`` and ``IMPRESSION:`` headers. Such text is split into its
sections as a free-text report is, so the radiologist's impression never
ends up inside the findings a draft is written from (or trained on).

The parser is a small hand-written one rather than hl7apy's: inbound
messages from real systems often break hl7apy's strict structure rules
(missing optional groups, Z-segments, non-standard delimiters), and the
listener must answer every message, well-formed or not. The messages we
*write* use standard delimiters and are checked against both python-hl7 and
hl7apy in the tests.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from radimpress.formats.sections import split_narrative
from radimpress.records import Report

SEGMENT_END = "\r"
STANDARD_ENCODING = "^~\\&"
FINDINGS_SUFFIXES = ("GDT",)  # DICOM "general text": the findings body
IMPRESSION_SUFFIXES = ("IMP",)
# LOINC codes some systems use instead of the suffix form.
FINDINGS_CODES = ("18782-3", "59776-5")  # Radiology Study observation; Procedure findings
IMPRESSION_CODES = ("19005-8",)  # Radiology Impression


class Hl7Error(ValueError):
    """A message that cannot be used; ``code`` is the ACK code to answer with (AE or AR)."""

    def __init__(self, reason: str, code: str = "AE", hl7_error: str = "207") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.hl7_error = hl7_error  # HL7 table 0357 message error condition code


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @classmethod
    def from_msh(cls, segment: str) -> Delimiters:
        if len(segment) < 8 or not segment.startswith("MSH"):
            raise Hl7Error("message does not start with an MSH segment", "AR", "100")
        f = segment[3]
        enc = segment[4:].split(f, 1)[0]
        if len(enc) < 4 or len(set(enc[:4] + f)) != 5:
            raise Hl7Error(f"MSH-2 encoding characters {enc!r} are incomplete", "AR", "102")
        return cls(f, enc[0], enc[1], enc[2], enc[3])


STANDARD = Delimiters()


def unescape(value: str, d: Delimiters = STANDARD) -> str:
    """Decode HL7 escapes: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\.br\\ \\Xhh\\; unknown ones are dropped."""
    e = d.escape
    if e not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch != e:
            out.append(ch)
            i += 1
            continue
        j = value.find(e, i + 1)
        if j < 0:  # unterminated escape: keep the rest literally
            out.append(value[i:])
            break
        seq = value[i + 1 : j]
        simple = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition, "E": e}
        if seq in simple:
            out.append(simple[seq])
        elif seq.lower() in (".br", ".sp") or seq.lower().startswith(".sp"):
            out.append("\n")
        elif seq.upper().startswith("X") and re.fullmatch(r"[0-9A-Fa-f]+", seq[1:] or "-"):
            hexdigits = seq[1:] if len(seq[1:]) % 2 == 0 else ""  # odd length: malformed, dropped
            raw = bytes.fromhex(hexdigits)
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(raw.decode("latin-1"))
        # formatting commands (\H\, \N\, \.in…\ etc.) carry no text
        i = j + 1
    return "".join(out)


def escape(text: str, d: Delimiters = STANDARD) -> str:
    """Encode text for one HL7 field value; line breaks become repetitions' job, not escapes."""
    e = d.escape
    out = text.replace(e, f"{e}E{e}")
    for ch, code in (
        (d.field, "F"),
        (d.component, "S"),
        (d.subcomponent, "T"),
        (d.repetition, "R"),
    ):
        out = out.replace(ch, f"{e}{code}{e}")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", f"{e}.br{e}")


# ---------------------------------------------------------------------------
# segments
# ---------------------------------------------------------------------------

_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")


@dataclass
class Segment:
    """One segment's fields, with HL7 numbering: ``seg[1]`` is the first field.

    For MSH, field 1 is the field separator and field 2 the encoding
    characters, as in the standard.
    """

    id: str
    fields: list[str]  # raw (still escaped) field values; fields[0] is the segment id
    line: int  # segment number in the message, 1-based

    def __getitem__(self, n: int) -> str:
        return self.fields[n] if n < len(self.fields) else ""

    def component(self, n: int, c: int, d: Delimiters, rep: int = 0) -> str:
        reps = self[n].split(d.repetition)
        if rep >= len(reps):
            return ""
        comps = reps[rep].split(d.component)
        return unescape(comps[c - 1], d) if c - 1 < len(comps) else ""


def split_segments(message: str) -> list[str]:
    return [s for s in re.split(r"\r\n|\r|\n", message) if s.strip()]


def parse_segments(message: str) -> tuple[Delimiters, list[Segment]]:
    lines = split_segments(message.lstrip("\ufeff \t"))
    if not lines:
        raise Hl7Error("empty message", "AR", "100")
    d = Delimiters.from_msh(lines[0])
    segs: list[Segment] = []
    for no, line in enumerate(lines, start=1):
        seg_id = line[:3]
        if not _SEG_ID.match(seg_id) or (len(line) > 3 and line[3] != d.field):
            raise Hl7Error(
                f"segment {no} is not an HL7 segment (starts {line[:12]!r})", "AE", "100"
            )
        if seg_id == "MSH":
            # MSH-1 is the separator itself, MSH-2 the encoding characters.
            rest = line[4:].split(d.field)
            fields = ["MSH", d.field, *rest]
        else:
            fields = line.split(d.field)
        segs.append(Segment(seg_id, fields, no))
    return d, segs


def split_messages(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, message text) for each MSH-started message in a file."""
    text = text.replace("\x0b", "").replace("\x1c", "")
    lines = re.split(r"\r\n|\r|\n", text)
    start, buf = 0, []
    for no, line in enumerate(lines, start=1):
        if line.startswith("MSH") and buf:
            if any(b.strip() for b in buf):
                yield start, "\r".join(buf)
            buf = []
        if not buf:
            start = no
        buf.append(line)
    if any(b.strip() for b in buf):
        yield start, "\r".join(buf)


# ---------------------------------------------------------------------------
# ORU^R01 content
# ---------------------------------------------------------------------------


@dataclass
class OruMessage:
    """What radimpress needs from one ORU^R01, plus the segments to echo back."""

    control_id: str
    message_type: str
    version: str
    sending_app: str
    sending_facility: str
    receiving_app: str
    receiving_facility: str
    processing_id: str
    patient_id: str | None
    accession: str | None
    exam: str | None
    findings: str
    impression: str | None
    delimiters: Delimiters
    segments: list[Segment] = field(default_factory=list)
    indication: str | None = None
    comparison: str | None = None

    def to_report(self, source: str = "") -> Report:
        rid = self.accession or self.control_id or f"hl7-{uuid.uuid4().hex[:8]}"
        return Report(
            id=rid,
            findings=self.findings,
            impression=self.impression,
            source=source,
            exam=self.exam,
            indication=self.indication,
            comparison=self.comparison,
            patient_id=self.patient_id,
            study_id=self.accession,
        )


def _obx_kind(obx3: str, d: Delimiters) -> str | None:
    """``findings``, ``impression`` or None from the raw OBX-3 value."""
    first = obx3.split(d.repetition)[0]
    comps = first.split(d.component)
    ident = comps[0]
    subs = [s.strip().upper() for s in ident.split(d.subcomponent)]
    tail = subs[-1] if subs else ""
    if tail in FINDINGS_SUFFIXES or ident.upper().endswith(
        tuple("&" + s for s in FINDINGS_SUFFIXES)
    ):
        return "findings"
    if tail in IMPRESSION_SUFFIXES or ident.upper().endswith(
        tuple("&" + s for s in IMPRESSION_SUFFIXES)
    ):
        return "impression"
    code = subs[0] if subs else ""
    if code in FINDINGS_CODES:
        return "findings"
    if code in IMPRESSION_CODES:
        return "impression"
    return None


def _obx_text(obx: Segment, d: Delimiters) -> str:
    """OBX-5 repetitions are lines; for FT/TX each repetition is one line of text."""
    value = obx[5]
    if not value:
        return ""
    lines = []
    for rep in value.split(d.repetition):
        # A CE/CWE value carries its text in component 2; TX/FT/ST take the whole value.
        if obx[2] in ("CE", "CWE") and d.component in rep:
            parts = rep.split(d.component)
            rep = parts[1] if len(parts) > 1 and parts[1] else parts[0]
        lines.append(unescape(rep, d))
    return "\n".join(lines)


def _join(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_oru(message: str) -> OruMessage:
    """Parse one ORU^R01; raise Hl7Error (with the ACK code to use) when unusable."""
    d, segs = parse_segments(message)
    msh = segs[0]
    mtype = msh.component(9, 1, d)
    event = msh.component(9, 2, d)
    message_type = f"{mtype}^{event}" if event else mtype
    control_id = unescape(msh[10], d)
    base = {
        "control_id": control_id,
        "message_type": message_type,
        "version": msh.component(12, 1, d),
        "sending_app": msh[3],
        "sending_facility": msh[4],
        "receiving_app": msh[5],
        "receiving_facility": msh[6],
        "processing_id": msh.component(11, 1, d) or "P",
    }
    if mtype != "ORU" or event not in ("R01", ""):
        raise Hl7Error(
            f"unsupported message type {message_type or '(empty MSH-9)'}; expected ORU^R01",
            "AR",
            "200",
        )
    if not control_id:
        raise Hl7Error("MSH-10 message control id is empty", "AR", "101")
    pid = next((s for s in segs if s.id == "PID"), None)
    obr = next((s for s in segs if s.id == "OBR"), None)
    patient_id = None
    if pid is not None:
        patient_id = pid.component(3, 1, d) or pid.component(2, 1, d) or None
    accession = exam = None
    if obr is not None:
        accession = (
            obr.component(3, 1, d) or obr.component(18, 1, d) or obr.component(2, 1, d) or None
        )
        exam = obr.component(4, 2, d) or obr.component(4, 1, d) or None
    by_kind: dict[str | None, list[str]] = {"findings": [], "impression": [], None: []}
    for s in segs:
        if s.id != "OBX":
            continue
        kind = _obx_kind(s[3], d)
        if kind is not None or s[2] in _TEXT_TYPES or not s[2]:
            by_kind[kind].append(_obx_text(s, d))
    # the findings OBX, or else every other text OBX, may hold the whole narrative
    findings_text = _join(by_kind["findings"])
    sections = split_narrative(findings_text or _join(by_kind[None]), bool(findings_text)) or {}
    if sections:
        findings_text = sections.get("findings", "")
    if not findings_text:
        has_obx = any(s.id == "OBX" for s in segs)
        raise Hl7Error(
            "no findings: no OBX segment whose OBX-3 ends in &GDT (or a LOINC findings code) "
            "carries text, and no text OBX has a FINDINGS section"
            + ("" if has_obx else " (the message has no OBX segment)"),
            "AE",
            "101",
        )
    return OruMessage(
        **base,
        patient_id=patient_id,
        accession=accession,
        exam=exam or sections.get("exam"),
        findings=findings_text,
        impression=_join(by_kind["impression"]) or sections.get("impression") or None,
        delimiters=d,
        segments=segs,
        indication=sections.get("indication") or None,
        comparison=sections.get("comparison") or None,
    )


# OBX-2 value types that carry report text (a numeric or coded result is not narrative)
_TEXT_TYPES = ("TX", "FT", "ST", "CE", "CWE")


def read_oru_file(text: str, source: str) -> Iterator[tuple[int, OruMessage | Hl7Error]]:
    """Every message in a file: (line number, parsed message or the reason it was unusable)."""
    for line, msg in split_messages(text):
        try:
            yield line, parse_oru(msg)
        except Hl7Error as e:
            yield line, e


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%d%H%M%S")


def _new_control_id() -> str:
    return "RI" + uuid.uuid4().hex[:18].upper()


def reencode(seg: Segment, d: Delimiters) -> str:
    """Re-serialise a segment read with delimiters ``d`` using the standard ones."""
    if d == STANDARD:
        return (
            "|".join(seg.fields[:1] + seg.fields[2:]) if seg.id == "MSH" else "|".join(seg.fields)
        )

    def leaf(v: str) -> str:
        return escape(unescape(v, d))

    out = [seg.fields[0]]
    for value in seg.fields[1:]:
        reps = []
        for rep in value.split(d.repetition):
            comps = [
                "&".join(leaf(s) for s in c.split(d.subcomponent)) for c in rep.split(d.component)
            ]
            reps.append("^".join(comps))
        out.append("~".join(reps))
    return "|".join(out)


def _msh(oru_like: dict[str, str], message_type: str, control_id: str, version: str) -> str:
    # We answer the sender: their receiving app/facility is our sending side.
    return "|".join(
        [
            "MSH",
            STANDARD_ENCODING,
            oru_like.get("receiving_app") or "RADIMPRESS",
            oru_like.get("receiving_facility") or "",
            oru_like.get("sending_app") or "",
            oru_like.get("sending_facility") or "",
            _now(),
            "",
            message_type,
            control_id,
            oru_like.get("processing_id") or "P",
            version or "2.5",
        ]
    )


def _reencode_header_value(value: str, d: Delimiters) -> str:
    return escape(unescape(value, d)) if d != STANDARD else value


def build_ack(
    code: str,
    text: str = "",
    msg: OruMessage | None = None,
    control_id: str = "",
    header: dict[str, str] | None = None,
    hl7_error: str = "",
) -> str:
    """An ACK (MSA-1 AA, AE or AR); ``text`` (MSA-3 and ERR-8) says why for AE/AR."""
    if msg is not None:
        d = msg.delimiters
        header = {
            "sending_app": _reencode_header_value(msg.sending_app, d),
            "sending_facility": _reencode_header_value(msg.sending_facility, d),
            "receiving_app": _reencode_header_value(msg.receiving_app, d),
            "receiving_facility": _reencode_header_value(msg.receiving_facility, d),
            "processing_id": msg.processing_id,
        }
        control_id = msg.control_id
        version = msg.version
    else:
        header = header or {}
        version = header.get("version", "")
    trigger = "R01"
    segs = [
        _msh(header, f"ACK^{trigger}^ACK", _new_control_id(), version),
        "|".join(["MSA", code, escape(control_id), escape(text[:200])]),
    ]
    if code != "AA":
        err_text = {
            "100": "Segment sequence error",
            "101": "Required field missing",
            "102": "Data type error",
            "200": "Unsupported message type",
            "207": "Application internal error",
        }
        c = hl7_error or "207"
        segs.append(
            "|".join(
                [
                    "ERR",
                    "",
                    "",
                    f"{c}^{err_text.get(c, 'Error')}^HL70357",
                    "E",
                    "",
                    "",
                    "",
                    escape(text),
                ]
            )
        )
    return SEGMENT_END.join(segs) + SEGMENT_END


def header_of(message: str) -> dict[str, str]:
    """Best-effort MSH fields of a message that did not parse, to address the ACK."""
    try:
        first = split_segments(message)[0]
        d = Delimiters.from_msh(first)
    except (Hl7Error, IndexError):
        return {}
    try:
        return _header_fields(first, d)
    except Exception:  # noqa: BLE001 - only used to address an ACK; never fail the reply
        return {}


def _header_fields(first: str, d: Delimiters) -> dict[str, str]:
    f = first[4:].split(d.field)
    get = lambda n: f[n - 2] if len(f) > n - 2 else ""  # noqa: E731 - MSH numbering
    return {
        "sending_app": _reencode_header_value(get(3), d),
        "sending_facility": _reencode_header_value(get(4), d),
        "receiving_app": _reencode_header_value(get(5), d),
        "receiving_facility": _reencode_header_value(get(6), d),
        "processing_id": get(11).split(d.component)[0] or "P",
        "version": get(12).split(d.component)[0],
        "control_id": unescape(get(10), d),
        "message_type": get(9),
    }


def build_draft_oru(
    msg: OruMessage,
    impression: str,
    model_name: str,
    model_version: str,
    warnings: list[str] | None = None,
) -> str:
    """A new ORU^R01 carrying the draft in an &IMP OBX with result status P (preliminary).

    PID, PV1, ORC and OBR are copied from the inbound message so the
    receiving system can match the draft to its order; OBR-25 becomes P.
    NTE segments say which model wrote the draft and carry safety warnings.
    """
    d = msg.delimiters
    out = [
        _msh(
            {
                "sending_app": msg.sending_app
                if d == STANDARD
                else escape(unescape(msg.sending_app, d)),
                "sending_facility": _reencode_header_value(msg.sending_facility, d),
                "receiving_app": _reencode_header_value(msg.receiving_app, d),
                "receiving_facility": _reencode_header_value(msg.receiving_facility, d),
                "processing_id": msg.processing_id,
            },
            "ORU^R01^ORU_R01",
            _new_control_id(),
            msg.version,
        )
    ]
    for seg_id in ("PID", "PV1", "ORC", "OBR"):
        seg = next((s for s in msg.segments if s.id == seg_id), None)
        if seg is None:
            if seg_id == "OBR":
                out.append(
                    "|".join(["OBR", "1", "", escape(msg.accession or ""), escape(msg.exam or "")])
                )
            continue
        text = reencode(seg, d)
        if seg_id == "OBR":
            fields = text.split("|")
            fields += [""] * (26 - len(fields))
            fields[25] = "P"
            text = "|".join(fields)
        out.append(text)
    lines = impression.replace("\r\n", "\n").replace("\r", "\n").split("\n") or [""]
    obx5 = "~".join(escape(line) for line in lines)
    out.append(
        "|".join(["OBX", "1", "TX", "&IMP^Impression^DCM", "1", obx5, "", "", "", "", "", "P"])
    )
    note = (
        f"Draft impression by {model_name} {model_version}".strip()
        + "; preliminary, for radiologist review."
    )
    out.append("|".join(["NTE", "1", "L", escape(note)]))
    for i, w in enumerate(warnings or [], start=2):
        out.append("|".join(["NTE", str(i), "L", escape(f"Safety warning: {w}")]))
    return SEGMENT_END.join(out) + SEGMENT_END
