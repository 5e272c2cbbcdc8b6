"""Benchmark the safety checker: labelled set (dev + held-out) and Open-i radiologist impressions.

    .venv/bin/python bench/safety.py [--openi ../shared/datasets/openi/reports.csv] [--out bench/results/safety]

Writes OUT/summary.json, OUT/openi_warnings.csv (every fired warning, for hand
review), OUT/labelled_errors.csv (cases where the checker disagrees with the
labels) and replaces the `## Safety` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, machine, replace_section  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

from radimpress.safety.checks import WARNING_TYPES, SafetyChecker  # noqa: E402
from radimpress.safety.labelled import evaluate_labelled, load_labelled  # noqa: E402

DEFAULT_OPENI = ROOT.parent / "shared" / "datasets" / "openi" / "reports.csv"
if not DEFAULT_OPENI.exists():
    DEFAULT_OPENI = Path("/work/shared/datasets/openi/reports.csv")


def run_openi(path: Path, checker: SafetyChecker, out: Path, limit: int | None) -> dict | None:
    if not path.exists():
        print(f"Open-i reports not found at {path}; skipping the radiologist-impression part.")
        return None
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if (r.get("findings") or "").strip() and (r.get("impression") or "").strip()
        ]
    if limit:
        rows = rows[:limit]
    from tqdm import tqdm

    start = time.perf_counter()
    warnings = []
    batch = 100
    for i in tqdm(range(0, len(rows), batch), desc="Open-i", unit="batch"):
        part = rows[i : i + batch]
        warnings.extend(checker.check_many([(r["findings"], r["impression"]) for r in part]))
    seconds = time.perf_counter() - start
    n = len(rows)
    with (out / "openi_warnings.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "uid",
                "type",
                "severity",
                "observation",
                "message",
                "findings_evidence",
                "impression_evidence",
                "findings",
                "impression",
                "review",
            ]
        )
        for r, ws in zip(rows, warnings, strict=True):
            for x in ws:
                w.writerow(
                    [
                        r["uid"],
                        x.type,
                        x.severity,
                        x.observation,
                        x.message,
                        " | ".join(s["text"] for s in x.findings_spans),
                        " | ".join(s["text"] for s in x.impression_spans),
                        r["findings"],
                        r["impression"],
                        "",
                    ]
                )
    rates = {t: sum(any(x.type == t for x in ws) for ws in warnings) / n for t in WARNING_TYPES}
    flip = run_flip_probe(rows, warnings, checker)
    counts = {t: sum(sum(x.type == t for x in ws) for ws in warnings) for t in WARNING_TYPES}
    return {
        "reports": n,
        "seconds": round(seconds, 2),
        "reports_per_second": round(2 * n / seconds, 1),  # two texts parsed per report
        "pairs_per_second": round(n / seconds, 1),
        "report_rate_per_type": rates,
        "warnings_per_type": counts,
        "any_warning_rate": sum(bool(ws) for ws in warnings) / n,
        "flip_probe": flip,
        "contradiction_or_laterality_rate": sum(
            any(x.type in ("contradiction", "laterality_mismatch") for x in ws) for ws in warnings
        )
        / n,
    }


_SIDE = re.compile(r"\b(left|right)\b", re.I)


def flip_sides(text: str) -> str:
    """Swap left and right, keeping case: the laterality error a draft can make."""

    def swap(m: re.Match) -> str:
        w = m.group(0)
        new = "right" if w.lower() == "left" else "left"
        return new.capitalize() if w[0].isupper() else new

    return _SIDE.sub(swap, text)


def run_flip_probe(rows: list[dict], warnings: list, checker: SafetyChecker) -> dict:
    """Inject a left/right flip into real radiologist impressions and count how many are caught.

    Only impressions that name a side, got no laterality warning as written, and whose
    findings name the same side word are used; a flip there is an error by construction.
    """
    picked = []
    for r, ws in zip(rows, warnings, strict=True):
        sides = {m.lower() for m in _SIDE.findall(r["impression"])}
        if len(sides) != 1 or any(w.type == "laterality_mismatch" for w in ws):
            continue
        if next(iter(sides)) not in r["findings"].lower():
            continue
        picked.append(r)
    flipped = checker.check_many([(r["findings"], flip_sides(r["impression"])) for r in picked])
    caught = sum(any(w.type == "laterality_mismatch" for w in ws) for ws in flipped)
    return {
        "flipped": len(picked),
        "caught": caught,
        "recall": caught / len(picked) if picked else None,
    }


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def section_body(summary: dict, notes: str) -> str:
    """The `## Safety` body; benchmarks_md.replace_section adds the title, command, machine and date."""
    lines = [
        "Labelled set (written for this project; `dev` was used while writing rules, "
        "`heldout` was written before any tuning and only scored). Per case and warning type:",
        "",
    ]
    lines += [
        "| split | type | expected | TP | FP | FN | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split in ("dev", "heldout"):
        s = summary["labelled"][split]
        for t, v in s["per_type"].items():
            lines.append(
                f"| {split} | {t} | {v['expected']} | {v['tp']} | {v['fp']} | {v['fn']} | {fmt(v['precision'])} | {fmt(v['recall'])} |"
            )
    lines.append("")
    for split in ("dev", "heldout"):
        s = summary["labelled"][split]
        lines.append(
            f"- {split}: {s['cases']} cases, {s['clean_cases']} where no warning is right; "
            f"false-alarm rate on those {fmt(s['false_alarm_rate'])}; micro precision {fmt(s['micro_precision'])}, "
            f"micro recall {fmt(s['micro_recall'])}"
        )
    o = summary.get("openi")
    lines.append("")
    if o is None:
        lines.append("Open-i: skipped (reports.csv not found).")
    else:
        lines += [
            f"Open-i radiologist impressions vs their own findings ({o['reports']} reports with both sections; "
            "ideally almost nothing fires):",
            "",
            "| type | reports with >=1 | warnings |",
            "|---|---|---|",
        ]
        for t in WARNING_TYPES:
            lines.append(
                f"| {t} | {o['report_rate_per_type'][t]:.1%} | {o['warnings_per_type'][t]} |"
            )
        lines += [
            "",
            f"- contradiction or laterality warning on {o['contradiction_or_laterality_rate']:.1%} of reports (target <= 2%); any warning on {o['any_warning_rate']:.1%}",
            f"- throughput: {o['pairs_per_second']} report pairs/s ({o['reports_per_second']} texts/s) on one process, medspaCy pipeline loaded once",
            "- every fired warning: `bench/results/safety/openi_warnings.csv` (written by the run; not committed, as it quotes Open-i reports)",
        ]
        fp = o["flip_probe"]
        lines.append(
            f"- injected-error probe on real text: left/right swapped in {fp['flipped']} Open-i impressions that name "
            f"one side also named in their findings; laterality_mismatch caught {fp['caught']} ({fmt(fp['recall'])}). "
            "Not every swap is detectable (the side may belong to something the findings leave unsided or the rules "
            "do not extract), so read this as a lower bound on recall on real phrasing."
        )
    if notes.strip():
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--openi", type=Path, default=DEFAULT_OPENI, help="Open-i reports.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "safety")
    ap.add_argument("--limit", type=int, default=None, help="only the first N Open-i reports")
    ap.add_argument(
        "--notes",
        type=Path,
        default=ROOT / "bench" / "safety_review.md",
        help="hand-review notes appended to the BENCHMARKS.md section",
    )
    ap.add_argument("--no-benchmarks-md", action="store_true", help="do not touch BENCHMARKS.md")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    checker = SafetyChecker()
    summary: dict = {
        "machine": machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "labelled": {},
    }
    errors = []
    for split in ("dev", "heldout"):
        cases = load_labelled(split)
        score, warnings = evaluate_labelled(cases, checker)
        summary["labelled"][split] = score
        for c, ws in zip(cases, warnings, strict=True):
            got = sorted({w.type for w in ws})
            if got != c["expected"]:
                errors.append(
                    [
                        c["id"],
                        ",".join(c["expected"]),
                        ",".join(got),
                        c["findings"],
                        c["impression"],
                        " || ".join(w.message for w in ws),
                    ]
                )
        print(
            f"labelled {split}: "
            + ", ".join(
                f"{t} P={fmt(v['precision'])} R={fmt(v['recall'])}"
                for t, v in score["per_type"].items()
            )
            + f"; false alarms {fmt(score['false_alarm_rate'])}"
        )
    with (args.out / "labelled_errors.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "expected", "fired", "findings", "impression", "messages"])
        w.writerows(errors)
    summary["openi"] = run_openi(args.openi, checker, args.out, args.limit)
    if summary["openi"]:
        o = summary["openi"]
        print(
            f"Open-i: {o['reports']} reports, contradiction/laterality on {o['contradiction_or_laterality_rate']:.1%}, "
            + ", ".join(f"{t} {v:.1%}" for t, v in o["report_rate_per_type"].items())
            + f"; {o['pairs_per_second']} pairs/s; flip probe caught "
            + f"{o['flip_probe']['caught']}/{o['flip_probe']['flipped']}"
        )
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if not args.no_benchmarks_md:
        notes = args.notes.read_text(encoding="utf-8") if args.notes.exists() else ""
        replace_section("Safety", section_body(summary, notes))
        print("updated BENCHMARKS.md ## Safety")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
