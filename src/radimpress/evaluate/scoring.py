"""Score systems on shared references through pluggable metric families.

ROUGE is one *family* of metrics; clinical-label F1 and warning rates (from the
safety stage) are others. Each family is a `Scorer`: given the references and
one system's predictions, it returns per-report numeric metrics (which get
means, distribution tables, box plots and paired bootstrap tests for free),
optional per-report text columns (for the CSV and the worst examples), and
optional system-level aggregates and tables for numbers that are not a mean of
per-report values (e.g. micro-averaged F1). Adding a family never touches the
aggregation or report code::

    class LabelScorer:
        name = "labels"
        def __call__(self, references, predictions) -> ScorerOutput:
            return ScorerOutput(
                metrics={"label_f1": per_report_f1},
                info={"label_f1": MetricInfo("label_f1", "Label F1 (per-report mean)", "F1 x 100")},
                aggregates={"label_micro_f1": 71.3},
                aggregate_info={"label_micro_f1": MetricInfo("label_micro_f1", "Label F1 (micro)")},
                tables={"per-label F1": [{"label": "effusion", "f1": 80.0}, ...]})

A table's records are shown as one grid: its first key names the rows, the
systems are the columns, and the cells hold the last key that differs between
systems (keys equal for every system, such as a support count, get one
column).

    evaluate_systems(refs, {"retrieval": preds}, extra_scorers=[LabelScorer()])
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from radimpress.evaluate.inputs import align_predictions
from radimpress.evaluate.rouge import ROUGE_LABELS, ROUGE_METRICS, rouge_scores
from radimpress.evaluate.stats import compare_systems, describe
from radimpress.records import InputError, Report

METRIC_KINDS = ("score", "count", "rate")
# Names a headline comparison is found by when the caller names no pair.
PRETRAINED_RE = re.compile(r"pre-?trained", re.I)
FINETUNED_RE = re.compile(r"fine-?tuned", re.I)


@dataclass
class MetricInfo:
    """How to show and interpret one metric (per-report, or a system-level aggregate).

    ``kind`` decides how the report shows it: "score" and "count" get
    quartiles and a box plot; "rate" is 0/1 per report, so its mean is a share
    of reports, printed as a percentage, and its quartiles would say nothing.
    """

    name: str
    label: str
    scale: str = ""  # e.g. "F1 x 100"; shown next to the label
    higher_is_better: bool = True
    description: str = ""
    kind: str = "score"

    def __post_init__(self) -> None:
        if self.kind not in METRIC_KINDS:
            raise ValueError(f"metric {self.name!r}: kind must be one of {METRIC_KINDS}")

    def to_dict(self) -> dict[str, Any]:
        """Every field but the name, which keys the dict this goes in."""
        return {k: v for k, v in asdict(self).items() if k != "name"}


@dataclass
class ScorerOutput:
    """One metric family's results for one system, aligned with the references."""

    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, MetricInfo] = field(default_factory=dict)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    aggregates: dict[str, float] = field(default_factory=dict)
    aggregate_info: dict[str, MetricInfo] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Scorer(Protocol):
    """A metric family: ``name`` plus a call scoring one system's predictions."""

    name: str

    def __call__(
        self, references: Sequence[Report], predictions: Sequence[str]
    ) -> ScorerOutput: ...


class RougeScorer:
    """ROUGE-1/2/L/Lsum F1 per report, x100 (the scale of published tables)."""

    name = "rouge"

    def __init__(self, use_stemmer: bool = False, progress: bool = False) -> None:
        self.use_stemmer = use_stemmer
        self.progress = progress

    def __call__(self, references: Sequence[Report], predictions: Sequence[str]) -> ScorerOutput:
        raw = rouge_scores(
            predictions,
            [r.impression or "" for r in references],
            use_stemmer=self.use_stemmer,
            progress=self.progress,
        )
        stem = "with" if self.use_stemmer else "no"
        info = {
            m: MetricInfo(
                m,
                ROUGE_LABELS[m],
                scale="F1 x 100",
                description=f"rouge-score {ROUGE_LABELS[m]} F-measure, {stem} stemming"
                + (", sentences split by radimpress" if m == "rougeLsum" else ""),
            )
            for m in ROUGE_METRICS
        }
        return ScorerOutput(metrics={m: v * 100.0 for m, v in raw.items()}, info=info)


@dataclass
class EvaluationResult:
    """Everything `write_report` needs; per-report arrays follow ``references`` order.

    ``comparisons`` hold every other system against ``reference_system``;
    ``headline`` holds the one comparison the reader came for (by default the
    pre-trained against the fine-tuned system), drawn from the same bootstrap
    resamples. A comparison's ``significant`` is None when it rests on fewer
    than ``options["min_n"]`` reports: too few for the colour to mean much.
    """

    references: list[Report]
    predictions: dict[str, list[str]]  # system -> predictions
    metric_info: dict[str, MetricInfo]
    scores: dict[str, dict[str, np.ndarray]]  # system -> metric -> per report
    columns: dict[str, dict[str, list[Any]]]  # system -> extra per-report column -> values
    aggregates: dict[str, dict[str, float]]  # system -> name -> value (means + scorer aggregates)
    distribution: dict[str, dict[str, dict[str, float]]]  # system -> metric -> describe()
    comparisons: list[dict[str, Any]]
    tables: dict[str, dict[str, list[dict[str, Any]]]]  # scorer table name -> system -> rows
    worst: dict[str, list[int]]  # system -> indices of the lowest-scoring reports
    primary_metric: str
    options: dict[str, Any]
    sources: dict[str, str]  # "references" and each system -> path
    seconds: dict[str, float]
    aggregate_info: dict[str, MetricInfo] = field(default_factory=dict)
    reference_system: str = ""
    headline_pair: tuple[str, str] | None = None  # (baseline, system)
    headline: list[dict[str, Any]] = field(default_factory=list)
    # Breakdown by a label of each reference (e.g. "normal" / "abnormal" impression):
    # group -> report indices, group -> system -> metric -> mean, and the comparisons
    # (headline and against the reference system) on each group's reports.
    groups: dict[str, list[int]] = field(default_factory=dict)
    group_aggregates: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    group_comparisons: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # system -> ids of the drafts that are the findings' own sentences (safe selection's last
    # resort, read from the predictions file's warnings): they are not the model's text
    drafted_from_findings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def systems(self) -> list[str]:
        return list(self.predictions)

    @property
    def metrics(self) -> list[str]:
        return list(self.metric_info)

    def per_report_rows(self) -> list[dict[str, Any]]:
        """One row per (report, system): id, system, metrics, extra columns, texts."""
        rows = []
        for system in self.systems:
            for i, ref in enumerate(self.references):
                row: dict[str, Any] = {"id": ref.id, "system": system}
                for m in self.metrics:
                    row[m] = float(self.scores[system][m][i])
                for col, values in self.columns[system].items():
                    row[col] = values[i]
                row["prediction"] = self.predictions[system][i]
                row["reference"] = ref.impression or ""
                row["findings"] = ref.findings
                rows.append(row)
        return rows


RESERVED_COLUMNS = ("id", "system", "prediction", "reference", "findings")


def _as_mapping(
    preds: Mapping[str, str] | Sequence[Mapping[str, Any]], where: str
) -> Mapping[str, str]:
    """Accept {id: prediction} or prediction rows [{"id", "prediction"}] as `generate` writes them."""
    if isinstance(preds, Mapping):
        return preds
    out: dict[str, str] = {}
    for no, row in enumerate(preds, start=1):
        rid = str(row["id"])
        if rid in out:
            raise InputError(f"{where}: row {no}: duplicate id {rid!r}")
        out[rid] = row.get("prediction") or ""
    return out


def _check_output(out: ScorerOutput, scorer: Scorer, n: int) -> None:
    for key, values in {**out.metrics, **out.columns}.items():
        if len(values) != n:
            raise ValueError(
                f"scorer {scorer.name!r}: column {key!r} has {len(values)} values for {n} reports"
            )
    # One per_report.csv column per name: a text column named like a metric would
    # overwrite its numbers (the dashboard then shows no value at all).
    clash = sorted(
        (set(out.columns) & set(out.metrics)) | (set(out.columns) & set(RESERVED_COLUMNS))
    )
    if clash:
        raise ValueError(f"scorer {scorer.name!r}: column name(s) {clash} clash with metrics")


def headline_pair(
    systems: Sequence[str], compare: tuple[str, str] | Sequence[str] | None = None
) -> tuple[str, str] | None:
    """(baseline, system) of the comparison shown first.

    ``compare`` names it; otherwise the first system named "pre-trained" and
    the first named "fine-tuned" (case-insensitive; hyphen optional), fine-tuned
    minus pre-trained. None when neither applies.
    """
    if compare is not None:
        pair = tuple(compare)
        if len(pair) != 2:
            raise InputError(f"compare: expected two system names, got {list(pair)}")
        unknown = [s for s in pair if s not in systems]
        if unknown:
            raise InputError(
                f"compare: unknown system(s) {unknown}; the systems are {list(systems)}"
            )
        if pair[0] == pair[1]:
            raise InputError(f"compare: a system cannot be compared with itself ({pair[0]!r})")
        return pair[0], pair[1]
    pre = next((s for s in systems if PRETRAINED_RE.search(s)), None)
    fine = next((s for s in systems if FINETUNED_RE.search(s) and s != pre), None)
    return (pre, fine) if pre and fine else None


def _mark_significance(rows: list[dict[str, Any]], min_n: int) -> None:
    for c in rows:
        p = c["p_value"]
        if c["n"] < min_n or p is None or np.isnan(p):
            c["significant"] = None
        else:
            c["significant"] = bool(p < 1.0 - c["confidence"])


def evaluate_systems(
    references: Sequence[Report],
    systems: Mapping[str, Mapping[str, str] | Sequence[Mapping[str, Any]]],
    *,
    use_stemmer: bool = False,
    bootstrap: int = 1000,
    seed: int = 13,
    extra_scorers: Sequence[Scorer] = (),
    sources: Mapping[str, str] | None = None,
    worst_k: int = 5,
    primary_metric: str = "rougeL",
    reference: str | None = None,
    compare: tuple[str, str] | None = None,
    min_n: int = 30,
    groups: Sequence[str] | None = None,
    group_note: str = "",
    progress: bool = False,
) -> EvaluationResult:
    """Score each system ({name: {id: prediction}} or {name: [{"id", "prediction"}]}).

    Every other system is compared with ``reference`` (default: the first) by
    paired bootstrap; ``compare`` (baseline, system) names the headline
    comparison, found by name ("pre-trained" vs "fine-tuned") when not given.
    Below ``min_n`` reports a comparison is not called significant either way.
    ``worst_k`` reports per system are kept as examples. ``groups`` gives
    each reference a label ("normal" / "abnormal", see
    `radimpress.evaluate.clinical.reference_groups`); means and comparisons are
    then also reported per label, so a user sees where a model wins and loses.
    ``sources`` (name -> file, plus "references") only improves error messages
    and the provenance in metrics.json.
    """
    if not systems:
        raise InputError("no system to evaluate (give --system NAME=predictions.jsonl)")
    if worst_k < 0:
        raise InputError(f"worst_k must be 0 or more, got {worst_k}")
    names = list(systems)
    reference = names[0] if reference is None else reference
    if reference not in systems:
        raise InputError(f"reference: unknown system {reference!r}; the systems are {names}")
    pair = headline_pair(names, compare)
    references = list(references)
    ids = [r.id for r in references]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"references: duplicate ids {dup[:10]}")
    sources = dict(sources or {})
    scorers: list[Scorer] = [RougeScorer(use_stemmer, progress=progress), *extra_scorers]

    predictions: dict[str, list[str]] = {}
    for name, preds in systems.items():
        where = sources.get(name, f"system {name!r}")
        predictions[name] = align_predictions(references, _as_mapping(preds, where), where)

    metric_info: dict[str, MetricInfo] = {}
    aggregate_info: dict[str, MetricInfo] = {}
    scores: dict[str, dict[str, np.ndarray]] = {}
    columns: dict[str, dict[str, list[Any]]] = {}
    aggregates: dict[str, dict[str, float]] = {}
    tables: dict[str, dict[str, list[dict[str, Any]]]] = {}
    seconds: dict[str, float] = {}
    for name, preds in predictions.items():
        scores[name], columns[name], aggregates[name] = {}, {}, {}
        for scorer in scorers:
            start = time.perf_counter()
            out = scorer(references, preds)
            seconds[f"{scorer.name}:{name}"] = time.perf_counter() - start
            _check_output(out, scorer, len(references))
            for m, values in out.metrics.items():
                scores[name][m] = np.asarray(values, dtype=float)
                metric_info.setdefault(m, out.info.get(m) or MetricInfo(m, m))
            columns[name].update(out.columns)
            aggregates[name].update({m: float(v) for m, v in out.aggregates.items()})
            for m in out.aggregates:
                aggregate_info.setdefault(m, out.aggregate_info.get(m) or MetricInfo(m, m))
            for title, rows in out.tables.items():
                tables.setdefault(title, {})[name] = list(rows)
    metrics = list(metric_info)
    for name in predictions:
        missing = [m for m in metrics if m not in scores[name]]
        if missing:
            raise ValueError(
                f"system {name!r} lacks metrics {missing}: a scorer returned different metrics"
            )
        means = {
            m: float(np.nanmean(scores[name][m]))
            if np.any(~np.isnan(scores[name][m]))
            else float("nan")
            for m in metrics
        }
        aggregates[name] = {**means, **aggregates[name]}

    distribution = {name: {m: describe(scores[name][m]) for m in metrics} for name in predictions}
    start = time.perf_counter()
    # One draw of resampled reports for the headline and every reference comparison.
    vs_reference = [(reference, s) for s in names if s != reference]
    rows = compare_systems(
        scores, [*([pair] if pair else []), *vs_reference], metrics, resamples=bootstrap, seed=seed
    )
    _mark_significance(rows, min_n)
    per_pair = len(metrics)
    headline = rows[:per_pair] if pair and rows else []
    comparisons = rows[per_pair:] if pair and rows else rows
    by_group, group_means, group_rows = _group_breakdown(
        scores, metrics, groups, len(references), [*([pair] if pair else []), *vs_reference],
        bootstrap, seed, min_n,
    )  # fmt: skip
    seconds["bootstrap"] = time.perf_counter() - start

    if primary_metric not in metrics:
        primary_metric = metrics[0]
    worst = {}
    for name in predictions:
        sign = 1.0 if metric_info[primary_metric].higher_is_better else -1.0
        v = np.nan_to_num(sign * scores[name][primary_metric], nan=np.inf)
        order = sorted(range(len(references)), key=lambda i: (v[i], ids[i]))
        worst[name] = order[:worst_k]

    return EvaluationResult(
        references=references,
        predictions=predictions,
        metric_info=metric_info,
        scores=scores,
        columns=columns,
        aggregates=aggregates,
        distribution=distribution,
        comparisons=comparisons,
        tables=tables,
        worst=worst,
        primary_metric=primary_metric,
        options={
            "use_stemmer": use_stemmer,
            "bootstrap_resamples": bootstrap,
            "seed": seed,
            "confidence": 0.95,
            "scorers": [s.name for s in scorers],
            "reference_system": reference,
            "headline_pair": list(pair) if pair else None,
            "min_n": min_n,
            "worst_k": worst_k,
            "primary_metric": primary_metric,
            "group_note": group_note,
        },
        sources=sources,
        seconds=seconds,
        aggregate_info=aggregate_info,
        reference_system=reference,
        headline_pair=pair,
        headline=headline,
        groups=by_group,
        group_aggregates=group_means,
        group_comparisons=group_rows,
    )


def _group_breakdown(
    scores: dict[str, dict[str, np.ndarray]],
    metrics: list[str],
    groups: Sequence[str] | None,
    n: int,
    pairs: list[tuple[str, str]],
    bootstrap: int,
    seed: int,
    min_n: int,
) -> tuple[dict[str, list[int]], dict[str, dict[str, dict[str, float]]], dict[str, list[dict]]]:
    """Means and paired comparisons on each group's reports (same seed as the whole set)."""
    if groups is None:
        return {}, {}, {}
    if len(groups) != n:
        raise ValueError(f"groups: {len(groups)} labels for {n} reports")
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(str(g), []).append(i)
    means: dict[str, dict[str, dict[str, float]]] = {}
    rows: dict[str, list[dict]] = {}
    for g, idx in by_group.items():
        sub = {s: {m: v[m][idx] for m in metrics} for s, v in scores.items()}
        means[g] = {
            s: {m: float(np.nanmean(sub[s][m])) if len(idx) else float("nan") for m in metrics}
            for s in sub
        }
        rows[g] = compare_systems(sub, pairs, metrics, resamples=bootstrap, seed=seed)
        for r in rows[g]:
            r["group"] = g
        _mark_significance(rows[g], min_n)
    return by_group, means, rows
