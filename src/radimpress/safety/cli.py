"""`radimpress check`: safety warnings for draft impressions against their findings."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from radimpress.ingest import load_inputs


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


def cmd_check(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from radimpress.records import InputError, Reject, read_jsonl, write_jsonl
    from radimpress.safety.checks import WARNING_TYPES, SafetyChecker, blocking, select_safe

    checker = SafetyChecker(
        checks=[c.strip() for c in args.checks.split(",")] if args.checks else None,
        critical=_critical_rules(args.critical),
    )
    # predictions from `radimpress generate` carry no findings: take them from the reports by id
    findings_by_id: dict[str, str] = {}
    if args.reports:
        # The same reader as `generate --input`: the reports a prediction file was made from
        # (JSONL, or bare text and anything else ingest reads) give the same ids here.
        findings_by_id = {r.id: r.findings for r in load_inputs(args.reports)}
    rows, rejects = [], []
    for no, obj in read_jsonl(args.input):
        where = f"{args.input}:{no}"
        if not isinstance(obj, dict):
            rejects.append(Reject(str(args.input), str(no), "not a JSON object", str(obj)[:80]))
            continue
        field = args.field or (
            "prediction" if "prediction" in obj and "impression" not in obj else "impression"
        )
        findings, draft = obj.get("findings"), obj.get(field)
        if findings is None and findings_by_id:
            findings = findings_by_id.get(str(obj.get("id")))
        if not isinstance(findings, str) or not findings.strip():
            rejects.append(
                Reject(str(args.input), str(no), "missing or empty 'findings'", str(obj)[:80])
            )
            continue
        if not isinstance(draft, str):
            rejects.append(
                Reject(
                    str(args.input),
                    str(no),
                    f"missing field {field!r} (or not a string)",
                    str(obj)[:80],
                )
            )
            continue
        if "id" not in obj:
            raise InputError(f"{where}: missing field 'id'")
        rows.append((obj, findings, draft))
    counts: Counter[str] = Counter()
    flagged = 0
    out = []
    batch = 64
    for start in tqdm(
        range(0, len(rows), batch), desc="check", unit="batch", disable=not sys.stderr.isatty()
    ):
        part = rows[start : start + batch]
        results = checker.check_many([(f, d) for _, f, d in part])
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
                idx, per = select_safe(findings, cands, checker)
                rec["safe_index"] = idx
                rec["safe_prediction"] = cands[idx]
                rec["candidate_high_warnings"] = [len(blocking(p)) for p in per]
            counts.update(w.type for w in ws)
            flagged += bool(ws)
            out.append(rec)
    write_jsonl(args.output, out)
    if rejects:
        rej_path = Path(str(args.output) + ".rejects.jsonl")
        write_jsonl(rej_path, rejects)
        print(f"{len(rejects)} record(s) rejected -> {rej_path}", file=sys.stderr)
    print(f"checked {len(out)} records, {flagged} with warnings -> {args.output}")
    for t in WARNING_TYPES:
        print(f"  {t}: {counts.get(t, 0)}")
    return 1 if (args.fail_on_warning and flagged) else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="flag draft impressions that contradict, flip sides, omit or invent findings",
        description="Reads INPUT JSONL records with id, findings and impression (or prediction); "
        "writes OUTPUT JSONL with the same records plus 'warnings' (type, severity, message, "
        "evidence spans in both texts), and OUTPUT.rejects.jsonl for unusable records. Prints "
        "counts per warning type. Rule-based (medspaCy), runs offline.",
    )
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
        help="comma-separated checks to run (default all: contradiction, laterality_mismatch, "
        "omitted_critical, unsupported_finding)",
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
