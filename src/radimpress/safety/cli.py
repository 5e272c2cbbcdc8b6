"""`radimpress check`: safety warnings for draft impressions against their findings."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from radimpress.ingest import load_inputs

if TYPE_CHECKING:
    from radimpress.records import Reject, Report


def _critical_rules(spec: str | None):
    """--critical 'Pneumothorax,Pleural Effusion:large_or_new' -> CriticalRule list (None = default)."""
    if not spec:
        return None
    from radimpress.records import InputError
    from radimpress.safety.checks import CriticalRule
    from radimpress.safety.extractor import Mention
    from radimpress.safety.vocabulary import CHEXPERT_OBSERVATIONS, EXTRA_OBSERVATIONS

    known = set(CHEXPERT_OBSERVATIONS) | set(EXTRA_OBSERVATIONS)
    rules = []
    for part in spec.split(","):
        obs, _, when = part.strip().partition(":")
        if obs not in known:
            raise InputError(f"--critical: unknown observation {obs!r}; known: {sorted(known)}")
        rule = CriticalRule(obs, when or "any")
        try:  # an unknown condition fails here, not halfway through the file
            rule.matches(Mention(obs, "present", 0, 0, ""))
        except ValueError as e:
            raise InputError(f"--critical: {e}") from None
        rules.append(rule)
    return rules


# record fields the study context is read from (first present wins); "image" is the
# Open-i export's name for the examination
EXAM_FIELDS = ("exam", "modality", "image")
INDICATION_FIELDS = ("indication", "history", "clinical_history")


def study_context(obj: dict, where: str = "") -> dict:
    """exam, indication, age and comparison of a record, for the follow-up and comparison
    checks (all optional)."""
    exam = next(
        (obj[k] for k in EXAM_FIELDS if isinstance(obj.get(k), str) and obj[k].strip()), None
    )
    indication = next(
        (obj[k] for k in INDICATION_FIELDS if isinstance(obj.get(k), str) and obj[k].strip()), None
    )
    age = obj.get("age")
    if age is not None and not isinstance(age, int | float):
        from radimpress.records import InputError

        raise InputError(f"{where}: field 'age' must be a number of years, got {age!r}")
    comparison = obj.get("comparison") if isinstance(obj.get("comparison"), str) else None
    return {
        "exam": exam,
        "indication": indication,
        "age": None if age is None else int(age),
        "comparison": comparison,
    }


def _with_report(ctx: dict, obj: dict, reports_by_id: dict[str, Report]) -> dict:
    """A prediction's study, what it lacks taken from its report: `generate` writes the draft,
    not the exam or the comparison, and "Stable ..." over a report that had no earlier study
    is only seen with the report's comparison."""
    report = reports_by_id.get(str(obj.get("id")))
    if report is None:
        return ctx
    return {**ctx, **{k: v for k, v in report.study().items() if ctx.get(k) is None and v}}


def _draft_field(field: str | None, obj: dict) -> str:
    """The field holding the draft: --field, else 'prediction' where a record has only that."""
    return field or (
        "prediction" if "prediction" in obj and "impression" not in obj else "impression"
    )


def _write_records(output: Path, out: list[dict], rejects: list[Reject]) -> None:
    """OUTPUT JSONL, and OUTPUT.rejects.jsonl (with a note on stderr) when any were rejected."""
    from radimpress.records import write_jsonl, write_rejects

    write_jsonl(output, out)
    rejected = write_rejects(output, rejects)
    if rejected:
        print(f"{len(rejects)} record(s) rejected -> {rejected}", file=sys.stderr)


def cmd_recommend(args: argparse.Namespace) -> int:
    from radimpress.records import Reject, jsonl_lines
    from radimpress.safety.followup import append_recommendations, assess, load_rules

    rules = load_rules(args.rules or (), packaged=not args.only_rules)
    out, rejects = [], []
    counts: Counter[str] = Counter()
    for no, obj, unreadable in jsonl_lines(args.input):
        where = f"{args.input}:{no}"
        if unreadable or not isinstance(obj, dict):
            rejects.append(Reject.of_line(args.input, no, unreadable or "not a JSON object", obj))
            continue
        findings = obj.get("findings")
        if not isinstance(findings, str) or not findings.strip():
            rejects.append(Reject.of_line(args.input, no, "missing or empty 'findings'", obj))
            continue
        if "id" not in obj:
            rejects.append(Reject.of_line(args.input, no, "missing field 'id'", obj))
            continue
        field = _draft_field(args.field, obj)
        draft = obj.get(field)
        ctx = study_context(obj, where)
        result = assess(
            findings,
            draft if isinstance(draft, str) else None,
            ctx["exam"],
            ctx["indication"],
            ctx["age"],
            rules,
            default_modality=args.default_modality,
        )
        rec = dict(obj)
        rec["recommendations"] = [r.to_dict() for r in result.recommendations]
        rec["followup"] = {
            "modality": result.modality,
            "excluded": result.excluded,
            "skipped": result.skipped,
        }
        if args.append and isinstance(draft, str):
            shown = [r for r in result.recommendations if r.follow_up != "none" or args.append_none]
            rec[f"{field}_with_followup"] = append_recommendations(draft, shown)
        counts.update(r.rule_id for r in result.recommendations)
        counts.update(f"excluded: {e['id']}" for e in result.excluded)
        out.append(rec)
    _write_records(args.output, out, rejects)
    with_rec = sum(bool(r["recommendations"]) for r in out)
    print(f"read {len(out)} records, {with_rec} with a recommendation -> {args.output}")
    for key, n in counts.most_common():
        print(f"  {key}: {n}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from radimpress.records import Reject, jsonl_lines
    from radimpress.safety.checks import WARNING_TYPES, SafetyChecker, blocking, safest

    checker = SafetyChecker(
        checks=[c.strip() for c in args.checks.split(",")] if args.checks else None,
        critical=_critical_rules(args.critical),
    )
    # predictions from `radimpress generate` carry no findings: take them from the reports by id
    reports_by_id: dict[str, Report] = {}
    report_rejects: list[Reject] = []  # records of --reports that could not be read
    if args.reports:
        # The same reader as `generate --input`: the reports a prediction file was made from
        # (JSONL, or bare text and anything else ingest reads) give the same ids here.
        reports, report_rejects = load_inputs(args.reports)
        reports_by_id = {r.id: r for r in reports}
    rows, rejects = [], list(report_rejects)
    for no, obj, unreadable in jsonl_lines(args.input):
        if unreadable or not isinstance(obj, dict):
            rejects.append(Reject.of_line(args.input, no, unreadable or "not a JSON object", obj))
            continue
        field = _draft_field(args.field, obj)
        findings, draft = obj.get("findings"), obj.get(field)
        report = reports_by_id.get(str(obj.get("id")))
        if findings is None and report is not None:
            findings = report.findings
        if not isinstance(findings, str) or not findings.strip():
            rejects.append(Reject.of_line(args.input, no, "missing or empty 'findings'", obj))
            continue
        if not isinstance(draft, str):
            rejects.append(
                Reject.of_line(args.input, no, f"missing field {field!r} (or not a string)", obj)
            )
            continue
        if "id" not in obj:
            rejects.append(Reject.of_line(args.input, no, "missing field 'id'", obj))
            continue
        rows.append((obj, findings, draft))
    context = [
        _with_report(study_context(obj, f"{args.input}"), obj, reports_by_id) for obj, _, _ in rows
    ]
    counts: Counter[str] = Counter()
    flagged = 0
    out = []
    batch = 64
    for start in tqdm(
        range(0, len(rows), batch), desc="check", unit="batch", disable=not sys.stderr.isatty()
    ):
        part = rows[start : start + batch]
        results = checker.check_many([(f, d) for _, f, d in part], context[start : start + batch])
        for (obj, findings, _), ws in zip(part, results, strict=True):
            rec = dict(obj)
            rec["warnings"] = [w.to_dict() for w in ws]
            cands = obj.get("candidates")
            if (
                args.select
                and isinstance(cands, list)
                and cands
                and all(isinstance(c, str) for c in cands)
            ):
                per = checker.check_many(
                    [(findings, c) for c in cands], [study_context(obj)] * len(cands)
                )
                idx = safest(per)
                rec["safe_index"] = idx
                rec["safe_prediction"] = cands[idx]
                rec["candidate_high_warnings"] = [len(blocking(p)) for p in per]
            counts.update(w.type for w in ws)
            flagged += bool(ws)
            out.append(rec)
    _write_records(args.output, out, rejects)
    print(f"checked {len(out)} records, {flagged} with warnings -> {args.output}")
    for t in WARNING_TYPES:
        print(f"  {t}: {counts.get(t, 0)}")
    return 1 if (args.fail_on_warning and flagged) else 0


CHECK_HELP = """Reads INPUT JSONL records with id, findings and impression (or prediction); writes OUTPUT JSONL
with the same records plus 'warnings' (type, severity, message, evidence spans in both texts),
and OUTPUT.rejects.jsonl for unusable records. Prints counts per warning type. Rule-based
(medspaCy), runs offline. exam, indication and age fields, when present, feed the
missing_follow_up check.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", description=CHECK_HELP)
    p.add_argument(
        "--input", required=True, help="JSONL with id, findings, impression or prediction"
    )
    p.add_argument("--output", required=True, help="JSONL to write (input records + warnings)")
    p.add_argument(
        "--reports",
        default=None,
        help="the reports to take findings from, by id, for records without findings (e.g. "
        "predictions from `radimpress generate`): the file given to generate --input (JSONL, "
        "bare text or any format ingest reads)",
    )
    p.add_argument(
        "--field",
        default=None,
        help="which field holds the draft (default: impression, or prediction if there is no impression)",
    )
    p.add_argument(
        "--checks",
        default=None,
        help="comma-separated checks to run (default all: contradiction, self_contradiction, "
        "laterality_mismatch, location_mismatch, omitted_critical, unsupported_finding, "
        "missing_follow_up, measurement_mismatch, change_without_prior)",
    )
    p.add_argument(
        "--critical",
        default=None,
        help="replace the critical-finding list, e.g. 'Pneumothorax,Pleural Effusion:large_or_new,"
        "Support Devices:malpositioned' (conditions: any, new, large_or_new, malpositioned, acute, followup)",
    )
    p.add_argument(
        "--select",
        action="store_true",
        help="for records with 'candidates', add safe_index/safe_prediction: the best candidate "
        "without high-severity warnings",
    )
    p.add_argument(
        "--fail-on-warning", action="store_true", help="exit 1 when any record has a warning"
    )
    p.set_defaults(func=cmd_check)

    r = sub.add_parser(
        "recommend",
        description="Reads INPUT JSONL records with id and findings (optional: impression or "
        "prediction, exam, indication, age); writes OUTPUT JSONL with the same records plus "
        "'recommendations' (sentence, guideline, rule_id, follow_up, evidence) and 'followup' "
        "(modality, guideline exclusions, findings skipped and why), and OUTPUT.rejects.jsonl for "
        "unusable records. The exam field (or 'image') decides CT vs radiograph; the indication "
        "gives risk (smoking) and exclusions (known cancer, immunosuppression, screening).",
    )
    r.add_argument("--input", required=True, help="JSONL with id and findings")
    r.add_argument(
        "--output", required=True, help="JSONL to write (input records + recommendations)"
    )
    r.add_argument(
        "--rules",
        action="append",
        default=None,
        metavar="YAML",
        help="a site's own rule table (repeatable); one with a packaged id replaces that table",
    )
    r.add_argument(
        "--only-rules",
        action="store_true",
        help="use only the --rules files, not the packaged tables",
    )
    r.add_argument(
        "--field",
        default=None,
        help="which field holds the draft (default: impression, or prediction if there is no impression)",
    )
    r.add_argument(
        "--append",
        action="store_true",
        help="also write FIELD_with_followup: the draft with the recommendation sentences appended",
    )
    r.add_argument(
        "--append-none",
        action="store_true",
        help="with --append, also append 'no routine follow-up' sentences",
    )
    r.add_argument(
        "--default-modality",
        default="radiograph",
        choices=["radiograph", "ct"],
        help="modality when the record names no exam and the text does not show it (default: radiograph)",
    )
    r.set_defaults(func=cmd_recommend)
