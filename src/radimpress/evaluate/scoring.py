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
            return ScorerOutput(metrics={"label_f1": per_report_f1},
                                info={"label_f1": MetricInfo("label_f1", "Label F1", scale="x100")},
                                aggregates={"label_micro_f1": 71.3},
                                tables={"per-label F1": [{"label": "effusion", "f1": 80.0}, ...]})

    evaluate_systems(refs, {"retrieval": preds}, extra_scorers=[LabelScorer()])
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from radimpress.evaluate.inputs import align_predictions
from radimpress.evaluate.rouge import ROUGE_LABELS, ROUGE_METRICS, rouge_scores
from radimpress.evaluate.stats import compare_to_first, describe
from radimpress.records import InputError, Report


@dataclass
class MetricInfo:
    """How to show and interpret one per-report metric."""

    name: str
    label: str
    scale: str = ""  # e.g. "F1 x 100"; shown next to the label
    higher_is_better: bool = True
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "scale": self.scale,
            "higher_is_better": self.higher_is_better,
            "description": self.description,
        }


@dataclass
class ScorerOutput:
    """One metric family's results for one system, aligned with the references."""

    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, MetricInfo] = field(default_factory=dict)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    aggregates: dict[str, float] = field(default_factory=dict)
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
    """Everything `write_report` needs; per-report arrays follow ``references`` order."""

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


def evaluate_systems(
    references: Sequence[Report],
    systems: Mapping[str, Mapping[str, str] | Sequence[Mapping[str, Any]]],
    *,
    use_stemmer: bool = False,
    bootstrap: int = 1000,
    seed: int = 13,
    extra_scorers: Sequence[Scorer] = (),
    sources: Mapping[str, str] | None = None,
    worst_k: int = 10,
    primary_metric: str = "rougeL",
    progress: bool = False,
) -> EvaluationResult:
    """Score each system ({name: {id: prediction}} or {name: [{"id", "prediction"}]}).

    The first system is the baseline of the paired bootstrap comparisons.
    ``sources`` (name -> file, plus "references") only improves error messages
    and the provenance in metrics.json.
    """
    if not systems:
        raise InputError("no system to evaluate (give --system NAME=predictions.jsonl)")
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
    comparisons = compare_to_first(scores, metrics, resamples=bootstrap, seed=seed)
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
            "scorers": [s.name for s in scorers],
            "baseline_system": next(iter(predictions)),
        },
        sources=sources,
        seconds=seconds,
    )
