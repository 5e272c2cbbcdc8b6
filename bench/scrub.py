"""PHI scrubbing benchmark: recall per identifier type and clinical words lost.

Reads the labelled synthetic set shipped in src/radimpress/data/phi/ (written
by bench/make_phi_set.py: a held-out half written before the rules and never
tuned on, and the dev half the rules were tuned on) and, when present,
../shared/datasets/openi/reports.csv: Open-i reports are already
de-identified (identifiers replaced by XXXX), so any word the scrubber
removes there is a clinical word lost; it measures over-scrubbing on real
report text at scale, and throughput.

Writes: bench/results/scrub.json and the ``## PHI scrubbing`` section of
BENCHMARKS.md.

Run: ``python bench/scrub.py`` (add --no-benchmarks-md to only print).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_no_write_flag, publish  # noqa: E402
from radimpress.privacy.phi_eval import load_phi_set, phi_set_path, score_phi_set  # noqa: E402
from radimpress.privacy.scrub import PHI_TYPES, find_phi  # noqa: E402

OPENI = ROOT.parent / "shared" / "datasets" / "openi" / "reports.csv"
OPENI_ALT = ROOT / ".." / "shared" / "datasets" / "openi" / "reports.csv"
RESULTS = ROOT / "bench" / "results" / "scrub.json"
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")
TARGET = {"NAME": 0.98, "DATE": 0.98, "ID": 0.98}


def score_openi(path: Path) -> dict:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    words = removed = texts = 0
    by_type: Counter = Counter()
    by_field: Counter = Counter()
    lost: Counter = Counter()
    start = time.perf_counter()
    for r in rows:
        for f in ("image", "indication", "comparison", "findings", "impression"):
            text = r.get(f) or ""
            if not text.strip():
                continue
            texts += 1
            toks = [m for m in _WORD.finditer(text) if m.group() != "XXXX"]
            words += len(toks)
            spans = find_phi(text)
            for sp in spans:
                by_type[sp.type] += 1
                by_field[f"{f}:{sp.type}"] += 1
            for m in toks:
                if any(sp.start < m.end() and m.start() < sp.end for sp in spans):
                    removed += 1
                    lost[m.group()] += 1
    seconds = time.perf_counter() - start
    return {
        "reports": len(rows),
        "texts": texts,
        "words": words,
        "words_removed": removed,
        "share_removed": removed / words if words else 0.0,
        "spans_by_type": dict(by_type),
        "spans_by_field": dict(by_field),
        "most_removed": lost.most_common(10),
        "seconds": round(seconds, 2),
        "reports_per_second": round(len(rows) / seconds, 1) if seconds else None,
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_no_write_flag(ap)
    args = ap.parse_args()

    halves = {}
    for half in ("heldout", "dev"):
        s = score_phi_set(load_phi_set(phi_set_path(half)))
        halves[half] = {**s.as_dict(), "missed": [{"record": r, "type": t} for r, t, _ in s.missed]}
        print(
            f"{half}: overall recall {s.overall_recall:.4f}; "
            + ", ".join(f"{k} {_fmt(s.recall(k))}" for k in PHI_TYPES if s.total[k])
        )
    openi_path = next((p for p in (OPENI, OPENI_ALT) if p.exists()), None)
    openi = None
    if openi_path is None:
        print(
            f"Open-i reports not found at {OPENI}; skipping the over-scrubbing check on real reports"
        )
    else:
        openi = score_openi(openi_path)
        print(
            f"Open-i: {openi['words_removed']} of {openi['words']} words removed "
            f"({openi['share_removed']:.5f}); {openi['reports_per_second']} reports/s"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"halves": halves, "openi": openi}, indent=2) + "\n")

    lines = [
        "Labelled synthetic set: `src/radimpress/data/phi/` (80 + 80 reports written by `bench/make_phi_set.py`,",
        "every identifier invented and planted with its character span). The held-out half has its own",
        "templates and value pools and was committed before the rules were written; the rules were tuned on",
        "the dev half only. An identifier counts as caught only if every character of it is removed.",
        "",
        "| type | held-out n | held-out recall | dev n | dev recall | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    h, d = halves["heldout"], halves["dev"]
    for k in PHI_TYPES:
        if k in h["counts"] or k in d["counts"]:
            lines.append(
                f"| {k} | {h['counts'].get(k, 0)} | {_fmt(h['recall'].get(k))} | {d['counts'].get(k, 0)} | "
                f"{_fmt(d['recall'].get(k))} | {TARGET.get(k, '') and f'>= {TARGET[k]}'} |"
            )
    lines.append(
        f"| all | {sum(h['counts'].values())} | {h['overall_recall']:.3f} | {sum(d['counts'].values())} | "
        f"{d['overall_recall']:.3f} | |"
    )
    lines += [
        "",
        f"Clinical words wrongly removed (words outside any planted identifier): held-out "
        f"{h['clinical_removed']}/{h['clinical_words']} ({h['clinical_removed_share']:.4f}), dev "
        f"{d['clinical_removed']}/{d['clinical_words']} ({d['clinical_removed_share']:.4f}). Marked clinical "
        f"eponyms (Hodgkin, Parkinson, Down syndrome, Crohn, Kerley B, Swan-Ganz, Graves, Addison, ...) removed: "
        f"held-out {h['eponyms_removed']}/{h['eponyms']}, dev {d['eponyms_removed']}/{d['eponyms']}.",
    ]
    missed = Counter(m["type"] for m in h["missed"])
    if missed:
        lines.append(
            f"Held-out misses by type: {dict(missed)} (details in bench/results/scrub.json)."
        )
    lines += [
        "",
        "Limits: both halves are template-generated, so phrasing is more regular than in a real archive.",
        "What the held-out half misses is what real text will miss more often: names with no cue at all",
        "(or a surname that is also an eponym, e.g. 'discussed with Graves'), and month/day dates with no",
        "year after a signature. Check a sample of scrubbed output by eye before sharing a corpus.",
    ]
    if openi:
        lines += [
            "",
            f"Over-scrubbing on real report text: Open-i ({openi['reports']} reports, {openi['texts']} "
            f"exam/indication/comparison/findings/impression texts, already de-identified with XXXX): "
            f"{openi['words_removed']} of {openi['words']} words removed ({openi['share_removed']:.5f}); "
            f"spans by field and type {openi['spans_by_field'] or '{}'}. Read by eye, the spans found are "
            f"exam dates Open-i's own de-identification left in ('2V FRONTAL/LATERAL Sept 21, XXXX'), i.e. "
            f"identifiers, not clinical words. Speed {openi['reports_per_second']} reports/s on one core "
            f"({openi['seconds']} s for every text field).",
        ]
    else:
        lines += [
            "",
            "Open-i over-scrubbing check skipped: ../shared/datasets/openi/reports.csv not found.",
        ]
    body = "\n".join(lines)
    publish("PHI scrubbing", body, write=not args.no_benchmarks_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
