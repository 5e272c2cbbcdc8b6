"""`radimpress evaluate`: score prediction files against reference impressions."""

from __future__ import annotations

import argparse
import time

from radimpress.evaluate.clinical import GROUP_NOTE, ClinicalScorer, reference_groups
from radimpress.evaluate.inputs import (
    load_predictions,
    load_references,
    parse_system,
    resolve_references,
)
from radimpress.evaluate.report import format_p, write_report
from radimpress.evaluate.scoring import evaluate_systems
from radimpress.records import InputError

EVALUATE_HELP = """Reads REFERENCES (Report JSONL with id and impression, e.g. DATA/test.jsonl, or a dataset
folder, whose test.jsonl is used) and one or more predictions JSONL files (id, prediction);
writes OUT/metrics.json, OUT/per_report.csv, OUT/report.md, OUT/report.html (self-contained) and
OUT/plots/*.png. ROUGE-1/2/L/Lsum F1 are reported x100, next to a rule-based clinical label F1
and safety-warning rates. The report opens with the pre-trained vs fine-tuned comparison
(systems whose names contain those words, or --compare), then compares every system with the
reference (the first, or --reference) by paired bootstrap.
"""


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
    p.add_argument("--out", required=True, help="folder to write the report to")
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
    sources = {"references": str(ref_path)}
    for spec in args.system:
        name, path = parse_system(spec)
        if name in systems:
            raise InputError(f"--system {spec!r}: system name {name!r} given twice")
        if not path.exists():
            raise InputError(f"{path}: predictions file not found (--system {spec})")
        systems[name] = load_predictions(path)
        sources[name] = str(path)
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
    paths = write_report(result, args.out, title=args.title)
    seconds = time.perf_counter() - start

    width = max(len(s) for s in result.systems)
    labels = [result.metric_info[m].label for m in result.metrics]
    print(
        f"{len(references)} reports; ROUGE F1 x 100 ({'stemmed' if args.stemmer else 'no stemming'})"
    )
    print(" " * width + "  " + "  ".join(f"{lab:>10}" for lab in labels))
    for s in result.systems:
        means = "  ".join(f"{result.aggregates[s][m]:>10.2f}" for m in result.metrics)
        print(f"{s:<{width}}  {means}")
    for c in [*result.headline, *result.comparisons]:
        if c["metric"] == result.primary_metric:
            print(
                f"{c['system']} - {c['baseline']} ({result.metric_info[c['metric']].label}): "
                f"{c['diff']:+.2f} [95% CI {c['ci_low']:+.2f}, {c['ci_high']:+.2f}], "
                f"p={format_p(c['p_value'], c['resamples'])}"
            )
    print(f"wrote {paths['report.html']}, report.md, metrics.json, per_report.csv ({seconds:.1f}s)")
    return 0
