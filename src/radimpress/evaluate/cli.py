"""`radimpress evaluate`: score prediction files against reference impressions."""

from __future__ import annotations

import argparse
import time

from radimpress.cli_flags import output_folder
from radimpress.evaluate.clinical import GROUP_NOTE, ClinicalScorer, reference_groups
from radimpress.evaluate.inputs import (
    drafted_from_findings,
    load_predictions,
    load_references,
    parse_system,
    resolve_references,
)
from radimpress.evaluate.report import FALLBACK_NOTE, format_p, write_report
from radimpress.evaluate.scoring import EvaluationResult, evaluate_systems
from radimpress.records import InputError

EVALUATE_HELP = """Reads REFERENCES (Report JSONL with id and impression, e.g. DATA/test.jsonl, or a dataset
folder, whose test.jsonl is used) and one or more predictions JSONL files (id, prediction);
writes OUT/metrics.json, OUT/per_report.csv, OUT/report.md, OUT/report.html (self-contained) and
OUT/plots/*.png. ROUGE-1/2/L/Lsum F1 are reported x100, next to a rule-based clinical label F1
and safety-warning rates. The report opens with the pre-trained vs fine-tuned comparison
(systems whose names contain those words, or --compare), then compares every system with the
reference (the first, or --reference) by paired bootstrap.
"""


def print_summary(result: EvaluationResult) -> None:
    """Scores as a table a terminal can hold, then each system's warning rates on one line.

    Why not one table of every metric: the warning rates' labels ("Reports with a laterality
    mismatch warning") are four times the width of a number, so a row of all of them ran
    past 300 characters with its headers out of line; the report files keep the full names.
    """
    info = result.metric_info
    rates = [m for m in result.metrics if info[m].kind in ("rate", "count")]
    scores = [m for m in result.metrics if m not in rates]
    labels = [info[m].label.split(" (")[0] for m in scores]  # "Label F1 (per-report ...)"
    widths = [max(len(label), 7) for label in labels]
    width = max(len(s) for s in result.systems)
    print(
        " " * width + "  " + "  ".join(f"{lab:>{w}}" for lab, w in zip(labels, widths, strict=True))
    )
    for s in result.systems:
        means = "  ".join(
            f"{result.aggregates[s][m]:>{w}.2f}" for m, w in zip(scores, widths, strict=True)
        )
        print(f"{s:<{width}}  {means}")
    if not rates:  # --no-clinical
        return
    for s in result.systems:
        a = result.aggregates[s]
        said = [f"{info[m].label.lower()} {a[m]:.2f}" for m in rates if info[m].kind == "count"]
        shares = [
            f"{m.removeprefix('warn_').replace('_', ' ')} {100 * a[m]:.1f}%"
            for m in rates
            if info[m].kind == "rate"
        ]
        if shares:
            said.append("reports with a warning: " + ", ".join(shares))
        print(f"{s}: {'; '.join(said)}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", description=EVALUATE_HELP)
    p.add_argument("--references", required=True, help="reference reports JSONL or dataset folder")
    p.add_argument(
        "--system",
        required=True,
        action="append",
        metavar="NAME=PREDS.jsonl",
        help="a system's predictions; repeat for several (the first is the reference)",
    )
    p.add_argument(
        "--reference",
        default=None,
        metavar="NAME",
        help="the system every other is compared with (default: the first --system)",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        default=None,
        metavar=("BASELINE", "SYSTEM"),
        help="the comparison shown first, SYSTEM - BASELINE (default: the systems named "
        "'pre-trained' and 'fine-tuned', if there are)",
    )
    p.add_argument(
        "--worst",
        type=int,
        default=5,
        metavar="N",
        help="lowest-scoring reports shown per system (default 5)",
    )
    p.add_argument(
        "--min-n",
        type=int,
        default=30,
        metavar="N",
        help="fewest reports for a difference to be called significant (default 30)",
    )
    p.add_argument("--out", required=True, type=output_folder, help="folder to write the report to")
    p.add_argument(
        "--stemmer",
        action="store_true",
        help="Porter-stem tokens before matching (default off, as in published tables)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        help="paired bootstrap resamples (default 1000; 0 = differences without CI or p)",
    )
    p.add_argument("--seed", type=int, default=13, help="bootstrap seed (default 13)")
    p.add_argument("--title", default="radimpress evaluation", help="report title")
    p.add_argument(
        "--no-clinical",
        action="store_true",
        help="ROUGE only: skip the rule-based clinical label F1 (not CheXbert), the safety-warning "
        "rates of the predictions against the references' findings, and the normal / abnormal "
        "reference breakdown (all three need the safety extra)",
    )
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    ref_path = resolve_references(args.references)
    references = load_references(ref_path)
    systems: dict[str, dict[str, str]] = {}
    fallback: dict[str, list[str]] = {}
    sources = {"references": str(ref_path)}
    for spec in args.system:
        name, path = parse_system(spec)
        if name in systems:
            raise InputError(f"--system {spec!r}: system name {name!r} given twice")
        if not path.exists():
            raise InputError(f"{path}: predictions file not found (--system {spec})")
        systems[name] = load_predictions(path)
        sources[name] = str(path)
        fallback[name] = drafted_from_findings(path)
    extra, groups = [], None
    if not args.no_clinical:
        extra.append(ClinicalScorer())
        groups = reference_groups([r.impression for r in references])
    result = evaluate_systems(
        references,
        systems,
        use_stemmer=args.stemmer,
        bootstrap=args.bootstrap,
        seed=args.seed,
        sources=sources,
        extra_scorers=extra,
        reference=args.reference,
        compare=tuple(args.compare) if args.compare else None,
        worst_k=args.worst,
        min_n=args.min_n,
        groups=groups,
        group_note=GROUP_NOTE,
        progress=True,
    )
    result.drafted_from_findings = {s: ids for s, ids in fallback.items() if ids}
    paths = write_report(result, args.out, title=args.title)
    seconds = time.perf_counter() - start

    print(
        f"{len(references)} reports; ROUGE F1 x 100 ({'stemmed' if args.stemmer else 'no stemming'})"
    )
    print_summary(result)
    for s, ids in result.drafted_from_findings.items():
        print(
            f"{s}: {len(ids)} of {len(result.references)} drafts are the findings' own sentences ({FALLBACK_NOTE})"
        )
    for c in [*result.headline, *result.comparisons]:
        if c["metric"] == result.primary_metric:
            print(
                f"{c['system']} - {c['baseline']} ({result.metric_info[c['metric']].label}): "
                f"{c['diff']:+.2f} [95% CI {c['ci_low']:+.2f}, {c['ci_high']:+.2f}], "
                f"p={format_p(c['p_value'], c['resamples'])}"
            )
    print(f"wrote {paths['report.html']}, report.md, metrics.json, per_report.csv ({seconds:.1f}s)")
    return 0
