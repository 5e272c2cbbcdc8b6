"""FHIR R4 DiagnosticReport in and out (fhir.resources, R4B models).

Reading: findings come from ``presentedForm`` (text/plain or text/html, base64; when the
text has section headers only its FINDINGS part is used) or, failing that,
from the Observations the report's ``result`` points to (contained, or other
entries of the same Bundle); the impression from ``conclusion``; the exam
from ``code``; patient and study ids from ``subject`` and ``identifier``.

Writing: the same DiagnosticReport with ``conclusion`` set to the draft,
``status`` = ``preliminary`` and an extension naming the model, its version,
the stored draft's id and any safety warnings (R4's DiagnosticReport has no
``note`` element, so an extension is the place). Errors become
OperationOutcome resources with the FHIRPath of the offending element.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from radimpress.formats.json_safe import load_json, looks_like_json_lines, split_json_lines
from radimpress.formats.markup import markup_to_text
from radimpress.records import Report

# DiagnosticReport.status (required binding, value set diagnostic-report-status):
# fhir.resources accepts any code string, so the set is checked here.
REPORT_STATUS = frozenset(
    [
        "registered",
        "partial",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "appended",
        "cancelled",
        "entered-in-error",
        "unknown",
    ]
)
OBSERVATION_STATUS = frozenset(
    [
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    ]
)
# Reports that must not receive a draft: they were withdrawn.
NOT_DRAFTABLE = frozenset(["cancelled", "entered-in-error"])
EXTENSION_URL = "https://radimpress.example.org/fhir/StructureDefinition/draft-impression"


@dataclass
class Issue:
    severity: str  # fatal | error | warning | information
    code: str  # IssueType: invalid, structure, required, value, not-supported, processing, exception ...
    diagnostics: str
    expression: str | None = None

    def to_fhir(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            d["expression"] = [self.expression]
        return d


class FhirError(ValueError):
    """An unusable resource: the HTTP status to answer with and the issues to report."""

    def __init__(self, status: int, issues: list[Issue]) -> None:
        super().__init__("; ".join(i.diagnostics for i in issues))
        self.status = status
        self.issues = issues

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in issues]}


def _loc(loc: tuple, root: str) -> str:
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("__root__",) and not str(part).startswith(("function-", "union[")):
            path += f".{part}"
    return path


def _validate(cls: Any, obj: dict[str, Any], root: str) -> Any:
    from pydantic import ValidationError

    try:
        return cls.model_validate(obj)
    except ValidationError as e:
        issues = [
            Issue(
                "error",
                "required" if err.get("type") == "missing" else "structure",
                f"{_loc(tuple(err.get('loc', ())), root)}: {err.get('msg', 'invalid')}",
                _loc(tuple(err.get("loc", ())), root),
            )
            for err in e.errors()[:20]
        ]
        raise FhirError(400, issues) from None
    except (ValueError, TypeError) as e:  # fhir.resources raises these for some primitive errors
        raise FhirError(400, [Issue("error", "structure", f"{root}: {e}", root)]) from None


def _status_issues(
    resource: dict[str, Any], allowed: frozenset[str], path: str, message: Callable[[str], str]
) -> list[Issue]:
    """The code-invalid issue for a resource whose string status is not in its value set."""
    status = resource.get("status")
    if isinstance(status, str) and status not in allowed:
        return [Issue("error", "code-invalid", message(status), path)]
    return []


def parse_diagnostic_report(obj: Any, root: str = "DiagnosticReport") -> Any:
    """Validate a DiagnosticReport (library checks plus the status code set)."""
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport

    if not isinstance(obj, dict):
        raise FhirError(
            400, [Issue("error", "structure", f"expected a JSON object, got {type(obj).__name__}")]
        )
    rtype = obj.get("resourceType")
    if rtype != "DiagnosticReport":
        raise FhirError(
            400,
            [
                Issue(
                    "error",
                    "not-supported",
                    f"resourceType is {rtype!r}; expected 'DiagnosticReport'",
                    f"{root}.resourceType" if rtype else root,
                )
            ],
        )
    issues = _status_issues(
        obj,
        REPORT_STATUS,
        f"{root}.status",
        lambda status: (
            f"status {status!r} is not in the DiagnosticReport status value set "
            f"({', '.join(sorted(REPORT_STATUS))})"
        ),
    )
    for i, c in enumerate(obj.get("contained") or []):
        if isinstance(c, dict) and c.get("resourceType") == "Observation":
            issues += _status_issues(
                c,
                OBSERVATION_STATUS,
                f"{root}.contained[{i}].status",
                lambda st: f"contained Observation status {st!r} is not valid",
            )
    dr = _validate(DiagnosticReport, obj, root)
    if issues:
        raise FhirError(400, issues)
    return dr


def _attachment_text(att: Any) -> str | None:
    ctype = (att.contentType or "").split(";")[0].strip().lower()
    if ctype and ctype not in ("text/plain", "text/html"):
        return None
    if att.data is None:
        return None
    raw = att.data
    if isinstance(raw, str):
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    charset = re.search(r"charset=([\w-]+)", att.contentType or "")
    try:
        text = raw.decode(charset.group(1) if charset else "utf-8")
    except (UnicodeDecodeError, LookupError):
        text = raw.decode("latin-1")
    return markup_to_text(text) if ctype == "text/html" else text


def _observation_text(obs: Any) -> str:
    if getattr(obs, "valueString", None):
        return obs.valueString.strip()
    vcc = getattr(obs, "valueCodeableConcept", None)
    if vcc is not None:
        text = vcc.text or next((c.display for c in vcc.coding or [] if c.display), None)
        if text:
            label = obs.code.text if obs.code is not None and obs.code.text else None
            return f"{label}: {text}" if label else text
    return ""


def _ref_id(reference: str | None) -> str | None:
    if not reference:
        return None
    return reference.rstrip("/").rsplit("/", 1)[-1].split("|")[0] or None


def _code_text(cc: Any) -> str | None:
    if cc is None:
        return None
    if cc.text:
        return cc.text
    for c in cc.coding or []:
        if c.display:
            return c.display
    for c in cc.coding or []:
        if c.code:
            return c.code
    return None


def report_from_fhir(
    dr: Any, where: str, index: dict[str, Any] | None = None, root: str = "DiagnosticReport"
) -> Report:
    """A radimpress Report from a validated DiagnosticReport; FhirError(422) when it carries no findings."""
    from radimpress.formats.sections import parse_sections

    index = index or {}
    contained = {f"#{c.id}": c for c in (dr.contained or []) if getattr(c, "id", None)}
    findings = impression = indication = comparison = None
    for att in dr.presentedForm or []:
        text = _attachment_text(att)
        if not text or not text.strip():
            continue
        parsed = parse_sections(text.splitlines())
        secs = parsed.sections
        if secs.get("findings"):
            findings = secs["findings"]
            impression = secs.get("impression") or None
            indication = secs.get("indication") or None
            comparison = secs.get("comparison") or None
        elif not parsed.header_seen:
            findings = text.strip()
        if findings:
            break
    if not findings:
        parts = []
        missing = []
        for i, ref in enumerate(dr.result or []):
            target = ref.reference
            obs = contained.get(target) if target else None
            if obs is None and target:
                obs = index.get(target) or index.get(target.split("/_history")[0])
            if obs is None:
                missing.append(f"{root}.result[{i}]")
                continue
            if type(obs).__name__ != "Observation":
                continue
            t = _observation_text(obs)
            if t:
                parts.append(t)
        findings = "\n".join(parts)
        if not findings:
            detail = f" (unresolved references: {', '.join(missing)})" if missing else ""
            raise FhirError(
                422,
                [
                    Issue(
                        "error",
                        "required",
                        "no findings: no text/plain presentedForm and no Observation with a value in result"
                        + detail,
                        f"{root}.presentedForm",
                    )
                ],
            )
    if dr.conclusion:
        impression = dr.conclusion
    accession = next((i.value for i in dr.identifier or [] if i.value), None)
    patient = None
    if dr.subject is not None:
        patient = _ref_id(dr.subject.reference) if dr.subject.reference else None
        if patient is None and dr.subject.identifier is not None:
            patient = dr.subject.identifier.value
    # No id at all: derive one from where the report was read, so a re-run gives the same id.
    rid = (
        accession
        or dr.id
        or "fhir-" + hashlib.sha1(f"{where}\n{findings}".encode()).hexdigest()[:12]
    )
    return Report(
        id=str(rid),
        findings=findings,
        impression=impression,
        source=where,
        exam=_code_text(dr.code),
        indication=indication,
        comparison=comparison,
        patient_id=patient,
        study_id=accession,
    )


def _bundle_index(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """fullUrl and Type/id -> validated resource, for resolving result references."""
    from fhir.resources.R4B.observation import Observation

    index: dict[str, Any] = {}
    for e in entries:
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "Observation":
            continue
        try:
            obs = Observation.model_validate(res)
        except Exception:  # noqa: BLE001 - a bad Observation just does not resolve
            continue
        if e.get("fullUrl"):
            index[e["fullUrl"]] = obs
        if res.get("id"):
            index[f"Observation/{res['id']}"] = obs
    return index


def _referenced(entries: list[Any]) -> set[str]:
    """Every ``result`` reference of the Bundle's DiagnosticReports, as written."""
    refs: set[str] = set()
    for e in entries:
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "DiagnosticReport":
            continue
        results = res.get("result")
        for ref in results if isinstance(results, list) else []:
            target = ref.get("reference") if isinstance(ref, dict) else None
            if isinstance(target, str):
                refs.add(target)
                refs.add(target.split("/_history")[0])
    return refs


def _report_or_reason(
    res: dict[str, Any], where: str, index: dict[str, Any], root: str
) -> Report | str:
    try:
        return report_from_fhir(parse_diagnostic_report(res, root), where, index, root)
    except FhirError as err:
        return f"invalid DiagnosticReport: {err}"
    except Exception as err:  # noqa: BLE001 - one odd entry must not end the Bundle
        return f"invalid DiagnosticReport: {type(err).__name__}: {str(err)[:200]}"


def reports_from_json(obj: Any, where: str) -> Iterator[Report | tuple[str, str]]:
    """Reports from a DiagnosticReport or a Bundle; unusable ones as (location, reason).

    Every Bundle entry is accounted for: a DiagnosticReport gives a report or a
    reason; an Observation one of them references is part of that report; any
    other entry (null, not an object, another resource type, an Observation no
    report uses) gives a reason naming ``Bundle.entry[i]``.
    """
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        entries = obj.get("entry")
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            yield "Bundle.entry", "Bundle.entry is not a list"
            return
        if not entries:
            yield "", "Bundle holds no DiagnosticReport entry (it has no entries)"
            return
        index = _bundle_index(entries)
        used = _referenced(entries)
        for i, e in enumerate(entries):
            loc = f"Bundle.entry[{i}]"
            if not isinstance(e, dict):
                what = "null" if e is None else f"not an object ({type(e).__name__})"
                yield loc, f"unusable Bundle entry: {what}"
                continue
            res = e.get("resource")
            if not isinstance(res, dict):
                yield loc, "unusable Bundle entry: no resource object"
                continue
            rtype = res.get("resourceType")
            if rtype == "DiagnosticReport":
                got = _report_or_reason(res, f"{where}:entry[{i}]", index, f"{loc}.resource")
                yield got if isinstance(got, Report) else (loc, got)
            elif rtype == "Observation":
                oid = res.get("id")
                full = e.get("fullUrl")
                if not (full in used or (isinstance(oid, str) and f"Observation/{oid}" in used)):
                    yield (
                        loc,
                        "unusable Bundle entry: Observation that no DiagnosticReport in the "
                        "Bundle references",
                    )
            else:
                yield (
                    loc,
                    f"unusable Bundle entry: resourceType {rtype!r} (only DiagnosticReport "
                    "entries and the Observations they reference are read)",
                )
        return
    if isinstance(obj, dict) and obj.get("resourceType") != "DiagnosticReport":
        yield (
            "",
            f"resourceType is {obj.get('resourceType')!r}; expected 'DiagnosticReport' or 'Bundle'",
        )
        return
    if not isinstance(obj, dict):
        yield "", f"expected a JSON object (a DiagnosticReport or Bundle), got {type(obj).__name__}"
        return
    got = _report_or_reason(obj, where, {}, "DiagnosticReport")
    yield got if isinstance(got, Report) else ("", got)


def read_fhir_text(
    text: str, where: str, bad_lines: dict[int, str] | None = None, json_lines: bool = False
) -> Iterator[Report | tuple[str, str, str]]:
    """A .json file (one resource) or NDJSON (one resource per line).

    Unusable records come as (location, reason, raw text). ``bad_lines`` maps
    line numbers to a reason they cannot be read (undecodable bytes): such a
    line is rejected in NDJSON, and a whole document holding one is rejected.
    The file is NDJSON when ``json_lines`` says so (a ``.ndjson`` name), or
    when it does not parse as one document and most of its lines are whole JSON
    values (see ``json_safe.looks_like_json_lines``).
    """
    bad_lines = bad_lines or {}
    lines = split_json_lines(text)
    nonblank = [no for no, ln in enumerate(lines, start=1) if ln.strip()]
    if not nonblank:
        yield "", "empty file", ""
        return
    doc, problem = (None, "") if bad_lines or json_lines else load_json(text)
    if problem is None:
        for item in reports_from_json(doc, where):
            yield item if isinstance(item, Report) else (*item, text[:200])
        return
    if not json_lines and not looks_like_json_lines(lines):
        if bad_lines:
            no, reason = next(iter(sorted(bad_lines.items())))
            yield f"line {no}", reason, lines[no - 1][:200]
        else:
            yield "", problem, text[:200]
        return
    for no in nonblank:
        line = lines[no - 1]
        if no in bad_lines:
            yield f"line {no}", bad_lines[no], line[:200]
            continue
        obj, problem = load_json(line)
        if problem is not None:
            yield f"line {no}", problem.replace(" (line 1, ", " ("), line[:200]
            continue
        for item in reports_from_json(obj, f"{where}:{no}"):
            if isinstance(item, Report):
                yield item
            else:
                yield f"line {no}" + (f" {item[0]}" if item[0] else ""), item[1], line[:200]


def apply_draft(
    resource: dict[str, Any],
    draft: str,
    model_name: str,
    model_version: str,
    warnings: list[str] | None = None,
    draft_id: str | None = None,
) -> dict[str, Any]:
    """The DiagnosticReport with the draft as a preliminary conclusion and a provenance extension."""
    out = copy.deepcopy(resource)
    out["conclusion"] = draft
    out["status"] = "preliminary"
    sub: list[dict[str, Any]] = [
        {"url": "model-name", "valueString": model_name or "unknown"},
        {"url": "model-version", "valueString": model_version or "unknown"},
        {
            "url": "review",
            "valueString": "Machine-drafted impression; must be reviewed by a radiologist.",
        },
    ]
    if draft_id:
        sub.append({"url": "draft-id", "valueString": draft_id})
    sub += [{"url": "safety-warning", "valueString": w} for w in warnings or []]
    ext = [
        e
        for e in out.get("extension") or []
        if not (isinstance(e, dict) and e.get("url") == EXTENSION_URL)
    ]
    ext.append({"url": EXTENSION_URL, "extension": sub})
    out["extension"] = ext
    return out
