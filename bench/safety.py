"""Benchmark the safety checks and the follow-up recommendations, in one run.

    python bench/safety.py [--openi PATH/reports.csv] [--out bench/results/safety]
                           [--baseline-ref REF | --no-baseline] [--no-benchmarks-md]

Measures:
- the project's labelled safety sets (dev + held-out), per warning type;
- the labelled Fleischner 2017 set (exact rule-cell match);
- on Open-i (skipped with a message when the file is absent):
  * warnings on the radiologists' own impressions (false alarms), per half;
  * the injected-error probe (side swap, stock normal impression, negation flip,
    denied finding added; `radimpress.safety.probe`), tuned on the 'tune' half and
    reported on the untouched 'heldout' half;
  * the recommendation the rules give for every report whose impression names a
    nodule or mass with a size, and agreement with a hand reading of a 50-report
    sample (verdicts in bench/followup_review.csv, uid + verdict + note, no report text);
  * `radimpress check` throughput and time per request as the text grows, for this
    code and for the checker at --baseline-ref (a temporary `git archive` of that
    commit, outside the repository), measured alternately in the same run.

Writes OUT/summary.json, OUT/labelled_errors.csv, OUT/fleischner_errors.csv and, from
Open-i (not committed: they quote reports), OUT/openi_warnings.csv, OUT/probe_cases.csv,
OUT/openi_followup.csv; replaces the `## Safety` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_notes_flag, machine, read_notes, replace_section  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

from radimpress.safety import probe  # noqa: E402
from radimpress.safety.checks import WARNING_TYPES, SafetyChecker  # noqa: E402
from radimpress.safety.followup import assess  # noqa: E402
from radimpress.safety.labelled import (  # noqa: E402
    LABELLED_TYPES,
    evaluate_followup,
    evaluate_labelled,
    load_followup_labelled,
    load_labelled,
)

DEFAULT_OPENI = ROOT.parent / "shared" / "datasets" / "openi" / "reports.csv"
if not DEFAULT_OPENI.exists():
    DEFAULT_OPENI = Path("/work/shared/datasets/openi/reports.csv")
# the checker as it was before issue 12 (wider extraction, probe, follow-up)
BASELINE_REF = "e7afd6f"
REVIEW = ROOT / "bench" / "followup_review.csv"
SCALING_CHARS = (1600, 4800, 9600, 19200)
SHORT_DRAFT = "1. Small right pleural effusion. 2. No pneumothorax. 3. Stable cardiomegaly."


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def pct(v) -> str:
    return "n/a" if v is None else f"{v:.1%}"


# --- timing --------------------------------------------------------------------------------

_TIMER = r"""
import json, sys, time
from radimpress.safety.checks import SafetyChecker
pairs, texts, short, rounds = json.load(open(sys.argv[1]))
from radimpress.safety import extractor
def cold():
    # Since a7fe828 the extractor keeps the mentions of recent texts: a second round over
    # the same pairs would time the cache. Each round starts as a fresh process would.
    getattr(extractor, "_CACHE", {}).clear()
c = SafetyChecker(); c.check("Small left effusion.", "Left effusion.")
out = {"pairs_per_second": 0.0, "scaling": {}}
for _ in range(rounds):
    cold()
    s = time.perf_counter()
    for i in range(0, len(pairs), 64):
        c.check_many(pairs[i:i + 64])
    out["pairs_per_second"] = max(out["pairs_per_second"], len(pairs) / (time.perf_counter() - s))
for t in texts:
    best = None
    for _ in range(rounds):
        cold(); s = time.perf_counter(); c.check(t, short); d = time.perf_counter() - s
        best = d if best is None else min(best, d)
    out["scaling"][str(len(t))] = best
print(json.dumps(out))
"""


def time_checker(src: Path, payload: Path) -> dict:
    """Pairs/s and seconds per long request for the checker under ``src`` (a fresh process)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    res = subprocess.run(
        [sys.executable, "-c", _TIMER, str(payload)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"timing {src} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def checkout(ref: str, dest: Path) -> Path:
    """`git archive` of the package at ``ref`` into ``dest`` (outside the repository)."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src/radimpress"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def run_speed(rows: list[dict], baseline_ref: str | None, out: Path) -> dict:
    load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    pairs = [(r["findings"], r["impression"]) for r in rows]
    base = " ".join(r["findings"] for r in rows)
    texts = [base[:n] for n in SCALING_CHARS if n <= len(base)]
    with tempfile.TemporaryDirectory(prefix="radimpress-baseline-") as tmp:
        payload = Path(tmp) / "payload.json"
        payload.write_text(json.dumps([pairs, texts, SHORT_DRAFT, 2]), encoding="utf-8")
        runs = {"new": [], "baseline": []}
        src_new = ROOT / "src"
        src_old = checkout(baseline_ref, Path(tmp) / "old") if baseline_ref else None
        # alternate, so both see the same load on a shared machine; keep the best of each
        for _ in range(2):
            runs["new"].append(time_checker(src_new, payload))
            if src_old is not None:
                runs["baseline"].append(time_checker(src_old, payload))

    def best(rs: list[dict]) -> dict | None:
        if not rs:
            return None
        return {
            "pairs_per_second": round(max(r["pairs_per_second"] for r in rs), 1),
            "scaling_seconds": {
                k: round(min(r["scaling"][k] for r in rs), 3) for k in rs[0]["scaling"]
            },
        }

    result = {"pairs": len(pairs), "new": best(runs["new"]), "baseline": best(runs["baseline"])}
    result["load_average_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    result["baseline_ref"] = baseline_ref
    if result["baseline"]:
        result["speedup"] = round(
            result["new"]["pairs_per_second"] / result["baseline"]["pairs_per_second"], 2
        )
    return result


# --- Open-i ----------------------------------------------------------------------------------


def read_openi(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def context_of(r: dict) -> dict:
    return {
        "exam": r.get("image") or None,
        "indication": r.get("indication") or None,
        "comparison": r.get("comparison") or None,
    }


def run_untouched(rows: list[dict], checker: SafetyChecker, out: Path) -> tuple[dict, dict]:
    warnings = []
    for i in range(0, len(rows), 64):
        part = rows[i : i + 64]
        warnings.extend(
            checker.check_many(
                [(r["findings"], r["impression"]) for r in part], [context_of(r) for r in part]
            )
        )
    by_uid = {r["uid"]: ws for r, ws in zip(rows, warnings, strict=True)}
    with (out / "openi_warnings.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["uid", "split", "type", "severity", "observation", "message", "findings", "impression"]
        )
        for r, ws in zip(rows, warnings, strict=True):
            for x in ws:
                w.writerow(
                    [
                        r["uid"],
                        probe.split_of(r["uid"]),
                        x.type,
                        x.severity,
                        x.observation,
                        x.message,
                        r["findings"],
                        r["impression"],
                    ]
                )
    result = {}
    for split in probe.SPLITS:
        sel = [by_uid[r["uid"]] for r in rows if probe.split_of(r["uid"]) == split]
        n = len(sel)
        result[split] = {
            "reports": n,
            "any_warning": sum(bool(ws) for ws in sel) / n,
            "any_error_warning": sum(any(x.type != "missing_follow_up" for x in ws) for ws in sel)
            / n,
            "high_severity": sum(any(x.severity == "high" for x in ws) for ws in sel) / n,
            "per_type": {
                t: sum(any(x.type == t for x in ws) for ws in sel) / n for t in WARNING_TYPES
            },
        }
    return result, by_uid


def run_probe(rows: list[dict], by_uid: dict, checker: SafetyChecker, out: Path) -> dict:
    cases = probe.build_cases(rows)
    # a report whose own impression already fires the catching type says nothing
    cases = [c for c in cases if not any(w.type in probe.CAUGHT_BY[c.kind] for w in by_uid[c.uid])]
    ctx = {r["uid"]: context_of(r) for r in rows}
    fired = []
    for i in range(0, len(cases), 64):
        part = cases[i : i + 64]
        fired.extend(
            checker.check_many(
                [(c.findings, c.impression) for c in part], [ctx[c.uid] for c in part]
            )
        )
    for c, ws in zip(cases, fired, strict=True):
        c.fired = sorted({w.type for w in ws})
        c.caught = any(w.type in probe.CAUGHT_BY[c.kind] for w in ws)
    with (out / "probe_cases.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "uid",
                "split",
                "kind",
                "detail",
                "caught",
                "fired",
                "findings",
                "original",
                "perturbed",
            ]
        )
        for c in cases:
            w.writerow(
                [
                    c.uid,
                    c.split,
                    c.kind,
                    c.detail,
                    int(bool(c.caught)),
                    " ".join(c.fired),
                    c.findings,
                    c.original,
                    c.impression,
                ]
            )
    score = probe.score(cases)
    for split in probe.SPLITS:
        flips = [score[split][k] for k in ("negation_flip", "denied_added")]
        cases_n = sum(f["cases"] for f in flips)
        score[split]["negation_flip_or_denied_added"] = {
            "cases": cases_n,
            "caught": sum(f["caught"] for f in flips),
            "recall": sum(f["caught"] for f in flips) / cases_n if cases_n else None,
        }
    return score


_SIZE = re.compile(r"\d+(?:\.\d+)?\s*(?:x\s*\d+(?:\.\d+)?\s*)?(?:mm|cm)\b", re.I)
_NODULE = re.compile(r"\bnodul\w*|\bmass(?:es)?\b(?! effect)|\bmasslike\b", re.I)


def names_sized_nodule(text: str) -> bool:
    return any(_NODULE.search(s) and _SIZE.search(s) for s in re.split(r"(?<=[.;])\s+", text or ""))


def answer_kind(answer: str) -> str:
    """The rules' answer in the words of the hand review: ct, follow-up radiograph, none, fleischner."""
    if answer.startswith("fleischner-2017"):
        return "fleischner"
    if answer.endswith("/ct"):
        return "ct"
    if answer.endswith("/follow-up-radiograph"):
        return "follow-up radiograph"
    return "none"


def run_followup_openi(all_rows: list[dict], out: Path) -> dict:
    """What the rules recommend where an Open-i report names a nodule or mass with a size."""
    sized = [
        r
        for r in all_rows
        if names_sized_nodule(r["impression"]) or names_sized_nodule(r["findings"])
    ]
    in_impression = [r for r in sized if names_sized_nodule(r["impression"])]
    answers = {}
    for r in sized:
        res = assess(
            r["findings"], r["impression"], r.get("image") or None, r.get("indication") or None
        )
        if res.recommendations:
            answers[r["uid"]] = " | ".join(x.rule_id for x in res.recommendations)
        elif res.excluded:
            answers[r["uid"]] = "excluded: " + res.excluded[0]["id"]
        elif res.skipped:
            answers[r["uid"]] = "no recommendation: " + res.skipped[0]["reason"]
        else:
            answers[r["uid"]] = "no recommendation: no nodule read"
    # the hand-read sample: 50 reports by uid hash (all of them when there are fewer)
    ranked = sorted(sized, key=lambda r: hashlib.sha256(r["uid"].encode()).hexdigest())
    sample = {r["uid"] for r in ranked[:50]}
    with (out / "openi_followup.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "uid",
                "in_sample",
                "impression_names_sized_nodule",
                "exam",
                "indication",
                "rules_answer",
                "findings",
                "impression",
            ]
        )
        for r in sized:
            w.writerow(
                [
                    r["uid"],
                    int(r["uid"] in sample),
                    int(names_sized_nodule(r["impression"])),
                    r.get("image", ""),
                    r.get("indication", ""),
                    answers[r["uid"]],
                    r["findings"],
                    r["impression"],
                ]
            )
    agreement = None
    if REVIEW.exists():
        with REVIEW.open(newline="", encoding="utf-8") as fh:
            verdicts = {v["uid"]: v for v in csv.DictReader(fh)}
        read = sorted((u for u in sample if u in verdicts), key=lambda u: (len(u), u))
        agree = [u for u in read if answer_kind(answers[u]) == verdicts[u]["reader_answer"]]
        first = [u for u in read if verdicts[u]["first_reading"] == verdicts[u]["reader_answer"]]
        agreement = {
            "sample": len(sample),
            "read": len(read),
            "agree": len(agree),
            "rate": len(agree) / len(read) if read else None,
            "first_reading_agree": len(first),
            "disagree": [
                {
                    "uid": u,
                    "rules": answer_kind(answers[u]),
                    "reader": verdicts[u]["reader_answer"],
                    "note": verdicts[u]["note"],
                }
                for u in read
                if u not in agree
            ],
        }
    return {
        "reports_naming_sized_nodule": len(sized),
        "impressions_naming_sized_nodule": len(in_impression),
        "impression_answers": dict(Counter(answers[r["uid"]] for r in in_impression).most_common()),
        "all_answers": dict(Counter(answers.values()).most_common()),
        "hand_review": agreement,
    }


# --- report -----------------------------------------------------------------------------------


def section_body(summary: dict, notes: str) -> str:
    lines = [
        "Labelled safety sets (written for this project; `dev` was used while writing rules, `heldout` "
        "was written before any tuning and only scored; they label the four error types, not "
        "missing_follow_up). Per case and warning type:",
        "",
        "| split | type | expected | TP | FP | FN | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for split in ("dev", "heldout"):
        for t, v in summary["labelled"][split]["per_type"].items():
            lines.append(
                f"| {split} | {t} | {v['expected']} | {v['tp']} | {v['fp']} | {v['fn']} | "
                f"{fmt(v['precision'])} | {fmt(v['recall'])} |"
            )
    lines.append("")
    for split in ("dev", "heldout"):
        s = summary["labelled"][split]
        lines.append(
            f"- {split}: {s['cases']} cases; false-alarm rate on the {s['clean_cases']} clean ones "
            f"{fmt(s['false_alarm_rate'])}; micro precision {fmt(s['micro_precision'])}, micro recall {fmt(s['micro_recall'])}"
        )
    f = summary["fleischner"]
    lines += [
        "",
        f"Follow-up, labelled Fleischner 2017 set (`bench/make_fleischner_set.py`: every cell of the "
        f"guideline table from a second transcription, phrasing variants, rounding edges, unknown "
        f"risk, exclusions, radiograph rule): **{f['correct']}/{f['cases']} correct** "
        f"({f['cells_covered']} distinct expected rule ids).",
    ]
    o = summary.get("openi")
    if o is None:
        lines += ["", "Open-i: skipped (reports.csv not found)."]
    else:
        lines += [
            "",
            f"Open-i ({o['reports']} reports with findings and impression, split by a hash of the uid: "
            "rules tuned on `tune`, `heldout` only scored).",
            "",
            "Injected errors (`radimpress.safety.probe`; recall = share of perturbed impressions the "
            "checker flags with the type named):",
            "",
            "| error injected | caught by | tune: cases | tune: recall | heldout: cases | heldout: recall | target |",
            "|---|---|---|---|---|---|---|",
        ]
        targets = {
            "side_swap": "≥ 0.95",
            "lobe_swap": "—",
            "critical_omitted": "≥ 0.95",
            "negation_flip": "≥ 0.9",
            "denied_added": "≥ 0.9",
            "negation_flip_or_denied_added": "≥ 0.9",
        }
        names = {
            "side_swap": "left/right swapped (findings name only the impression's side)",
            "lobe_swap": "upper/lower lobe swapped (findings name the impression's lobes, not the swapped ones)",
            "critical_omitted": "impression replaced by a stock normal sentence (findings state a critical finding)",
            "negation_flip": "a positive impression sentence negated (findings state it)",
            "denied_added": "a finding the findings deny added to the impression",
            "negation_flip_or_denied_added": "negation flips, both directions",
        }
        for kind, name in names.items():
            caught = "contradiction" if kind != "side_swap" else "laterality_mismatch"
            if kind == "lobe_swap":
                caught = "location_mismatch"
            if kind == "critical_omitted":
                caught = "omitted_critical or contradiction"
            t, h = o["probe"]["tune"][kind], o["probe"]["heldout"][kind]
            lines.append(
                f"| {name} | {caught} | {t['cases']} | {fmt(t['recall'])} | {h['cases']} | "
                f"**{fmt(h['recall'])}** | {targets[kind]} |"
            )
        u = o["untouched"]
        lines += [
            "",
            "Warnings on the radiologists' own (untouched) impressions, share of reports (target ≤ 3 %):",
            "",
            "| half | any warning | any but missing_follow_up | high severity | "
            + " | ".join(WARNING_TYPES)
            + " |",
            "|---|---|---|---|" + "---|" * len(WARNING_TYPES),
        ]
        for split in probe.SPLITS:
            s = u[split]
            lines.append(
                f"| {split} ({s['reports']}) | **{pct(s['any_warning'])}** | {pct(s['any_error_warning'])} | "
                f"{pct(s['high_severity'])} | "
                + " | ".join(pct(s["per_type"][t]) for t in WARNING_TYPES)
                + " |"
            )
        fo = o["followup"]
        lines += [
            "",
            f"Follow-up on Open-i (all radiographs, so the radiograph rule applies): {fo['impressions_naming_sized_nodule']} "
            f"impressions name a nodule or mass with a size ({fo['reports_naming_sized_nodule']} reports counting the findings). "
            "What the rules give for those impressions:",
            "",
            "| rules' answer | impressions |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in fo["impression_answers"].items()]
        hr = fo["hand_review"]
        if hr:
            lines += [
                "",
                f"Hand reading of {hr['read']} reports naming a nodule or mass with a size, in findings or "
                f"impression (the first {hr['sample']} by uid hash; reader's answer per report in "
                f"`bench/followup_review.csv`): the rules agree with the reader on **{hr['agree']}/{hr['read']} "
                f"({pct(hr['rate'])})**. This is in-sample: at the first reading, before the general fixes the "
                f"reading showed (listed in the review notes), they agreed on {hr['first_reading_agree']}/{hr['read']}."
                + (
                    " Disagreements now: "
                    + "; ".join(
                        f"{d['uid']} (rules {d['rules']}, reader {d['reader']}: {d['note']})"
                        for d in hr["disagree"]
                    )
                    if hr["disagree"]
                    else ""
                ),
            ]
        sp = o.get("speed")
        if sp:
            load = sp.get("load_average_1min")
            busy = (
                f" (1-minute load average {load[0]} before, {load[1]} after, on {os.cpu_count()} cores: "
                "other jobs shared the machine, so compare the ratio, not the absolute rates)"
                if load
                else ""
            )
            lines += [
                "",
                f"Speed, one process, {sp['pairs']} Open-i pairs, best of 2 alternating runs{busy}:",
                "",
            ]
            if sp.get("baseline"):
                b, n = sp["baseline"], sp["new"]
                lines += [
                    f"- `radimpress check` throughput: **{n['pairs_per_second']} pairs/s** now vs "
                    f"{b['pairs_per_second']} pairs/s for the checker at {sp['baseline_ref']} (before this work), "
                    f"x{sp['speedup']} (target ≥ 150 pairs/s; BENCHMARKS earlier said 189 for the old checker on a quieter machine)",
                    "",
                    "| findings length (chars) | " + " | ".join(n["scaling_seconds"]) + " |",
                    "|---|" + "---|" * len(n["scaling_seconds"]),
                    "| seconds per check, now | "
                    + " | ".join(f"{v:.3f}" for v in n["scaling_seconds"].values())
                    + " |",
                    f"| seconds per check, {sp['baseline_ref']} | "
                    + " | ".join(f"{v:.3f}" for v in b["scaling_seconds"].values())
                    + " |",
                ]
            else:
                lines.append(
                    f"- throughput: {sp['new']['pairs_per_second']} pairs/s (no baseline run)"
                )
        lines += [
            "",
            "- files written by the run, not committed (they quote Open-i): `bench/results/safety/openi_warnings.csv`, "
            "`probe_cases.csv`, `openi_followup.csv`",
        ]
    if notes.strip():
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--openi", type=Path, default=DEFAULT_OPENI, help="Open-i reports.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "safety")
    ap.add_argument(
        "--baseline-ref", default=BASELINE_REF, help="git ref of the checker to time against"
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip timing the baseline checker")
    ap.add_argument("--no-speed", action="store_true", help="skip all timing")
    add_notes_flag(ap, ROOT / "bench" / "safety_review.md")
    ap.add_argument("--no-benchmarks-md", action="store_true", help="do not touch BENCHMARKS.md")
    args = ap.parse_args(argv)
    notes = read_notes(args.notes)  # before the run: a wrong path fails at once
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
            got = sorted({w.type for w in ws if w.type in LABELLED_TYPES})
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
        )
    with (args.out / "labelled_errors.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "expected", "fired", "findings", "impression", "messages"])
        w.writerows(errors)

    fl_score, fl_rows = evaluate_followup(load_followup_labelled())
    summary["fleischner"] = {k: v for k, v in fl_score.items() if k != "cells"}
    with (args.out / "fleischner_errors.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "note", "expected", "got", "expected_excluded", "excluded", "sentences"])
        for r in fl_rows:
            if not r["correct"]:
                w.writerow(
                    [
                        r["id"],
                        r["note"],
                        " ".join(r["expected"]),
                        " ".join(r["got"]),
                        r["expected_excluded"],
                        r["excluded"],
                        " || ".join(r["sentences"]),
                    ]
                )
    print(f"Fleischner set: {fl_score['correct']}/{fl_score['cases']} correct")

    summary["openi"] = None
    if not args.openi.exists():
        print(f"Open-i reports not found at {args.openi}; skipping the Open-i parts.")
    else:
        from tqdm import tqdm  # noqa: F401  (progress for long runs comes from the checker batches)

        all_rows = read_openi(args.openi)
        rows = [r for r in all_rows if r["findings"].strip() and r["impression"].strip()]
        untouched, by_uid = run_untouched(rows, checker, args.out)
        print(
            "untouched: "
            + ", ".join(f"{s} any {pct(v['any_warning'])}" for s, v in untouched.items())
        )
        score = run_probe(rows, by_uid, checker, args.out)
        for split in probe.SPLITS:
            print(
                f"probe {split}: "
                + ", ".join(
                    f"{k} {v['caught']}/{v['cases']} ({fmt(v['recall'])})"
                    for k, v in score[split].items()
                )
            )
        fu = run_followup_openi(all_rows, args.out)
        print(
            f"follow-up: {fu['impressions_naming_sized_nodule']} impressions with a sized nodule; "
            f"hand review {fu['hand_review']['agree'] if fu['hand_review'] else '-'}"
            f"/{fu['hand_review']['read'] if fu['hand_review'] else '-'}"
        )
        summary["openi"] = {
            "reports": len(rows),
            "untouched": untouched,
            "probe": score,
            "followup": fu,
        }
        if not args.no_speed:
            summary["openi"]["speed"] = run_speed(
                rows, None if args.no_baseline else args.baseline_ref, args.out
            )
            sp = summary["openi"]["speed"]
            print(
                f"speed: {sp['new']['pairs_per_second']} pairs/s"
                + (
                    f" vs {sp['baseline']['pairs_per_second']} at {sp['baseline_ref']}"
                    if sp.get("baseline")
                    else ""
                )
            )
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if not args.no_benchmarks_md:
        replace_section("Safety", section_body(summary, "\n\n".join(notes)))
        print("updated BENCHMARKS.md ## Safety")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
